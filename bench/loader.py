"""Load a Ray program (a file under bench/programs/ or examples/) with ``ray`` bound to one runtime.

A program's first ``import ray`` (or ``import rayreact as ray``, as in examples/) line is
rewritten for the chosen binding, and the source is executed into a fresh module object that
is *not* registered in ``sys.modules``: Ray and rayreact then serialise its classes and
functions by value, exactly as for a ``__main__`` script, so worker processes never need to
import the program.
"""

import os
import re
import types

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)

BINDINGS = {
    "rayreact": "import rayreact as ray",
    "ray": "import ray",
    "serial": "from bench import serial_ray as ray",
}

_IMPORT_RE = re.compile(r"^import (?:rayreact as )?ray[ \t]*$", re.MULTILINE)


def rewrite_source(src, binding):
    if binding not in BINDINGS:
        raise ValueError("unknown binding %r (choose from %s)" % (binding, sorted(BINDINGS)))
    new_src, n = _IMPORT_RE.subn(BINDINGS[binding], src, count=1)
    if n != 1:
        raise ValueError("the program has no line 'import ray' to rewrite")
    return new_src


def ray_module(binding):
    """The bound ``ray`` module itself (for init/shutdown)."""
    ns = {}
    exec(BINDINGS[binding], ns)
    return ns["ray"]


def load_program(path, binding):
    """Execute the program at ``path`` (relative to the repository root, or absolute) with
    its ray import bound to ``binding``; return the module."""
    if not os.path.isabs(path):
        path = os.path.join(ROOT, path)
    with open(path) as f:
        src = rewrite_source(f.read(), binding)
    name = "%s__%s" % (os.path.splitext(os.path.basename(path))[0], binding)
    mod = types.ModuleType(name)
    mod.__file__ = path
    exec(compile(src, path, "exec"), mod.__dict__)
    return mod
