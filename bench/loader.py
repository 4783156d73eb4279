"""Load one Ray program (an example file) against a chosen backend.

Every example starts with the line ``import rayreact as ray``. To run the very same program
on another runtime, its source is read, that one line is rewritten, and the result is
compiled and executed into a fresh module object (not registered in ``sys.modules``, so
that Ray and rayreact serialise its classes by value, exactly as for a ``__main__`` script).
"""

import os
import re
import sys
import types

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)
EXAMPLES_DIR = os.path.join(ROOT, "examples")

IMPORT_LINE = "import rayreact as ray"
BACKEND_IMPORTS = {
    "rayreact": "import rayreact as ray",
    "ray": "import ray",
    "serial": "import serial_ray as ray",
}

_IMPORT_RE = re.compile(r"^import rayreact as ray[ \t]*$", re.MULTILINE)


def rewrite_source(src, backend):
    if backend not in BACKEND_IMPORTS:
        raise ValueError("unknown backend %r (choose from %s)" % (backend, sorted(BACKEND_IMPORTS)))
    new_src, n = _IMPORT_RE.subn(BACKEND_IMPORTS[backend], src, count=1)
    if n != 1:
        raise ValueError("source has no line %r to rewrite" % IMPORT_LINE)
    return new_src


def ray_module(backend):
    """The backend's ``ray`` module itself (for init/shutdown in the harness)."""
    if backend == "serial" and BENCH_DIR not in sys.path:
        sys.path.insert(0, BENCH_DIR)
    ns = {}
    exec(BACKEND_IMPORTS[backend], ns)
    return ns["ray"]


def load_program(path, backend, name=None):
    """Execute the program at ``path`` with its ray import swapped; return the module."""
    if backend == "serial" and BENCH_DIR not in sys.path:
        sys.path.insert(0, BENCH_DIR)
    with open(path) as f:
        src = f.read()
    src = rewrite_source(src, backend)
    if name is None:
        name = "%s__%s" % (os.path.splitext(os.path.basename(path))[0], backend)
    mod = types.ModuleType(name)
    mod.__file__ = path
    code = compile(src, path, "exec")
    exec(code, mod.__dict__)
    return mod


def load_example(example, backend):
    """``load_example("gym_rollouts", "ray")`` -> module of examples/gym_rollouts.py."""
    return load_program(os.path.join(EXAMPLES_DIR, example + ".py"), backend)
