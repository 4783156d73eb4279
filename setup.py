"""The one compiled module (rayreact/_private/_compiled.c): optional. If it cannot be
built (no C compiler or no Python headers), rayreact runs the same reactions in Python."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("rayreact._private._compiled",
                             ["rayreact/_private/_compiled.c"],
                             extra_compile_args=["-O2"], optional=True)])
