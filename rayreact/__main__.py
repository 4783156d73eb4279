"""``python -m rayreact [--backend auto|reactor|ray] [--graph FILE] [--deterministic true|false]
[--compiled true|false] script.py [args...]``: run an unmodified Ray script on rayreact.

The script's ``import ray`` and every ``ray.<sub>`` module that rayreact provides
(``ray.util``, ``ray.util.queue``, ``ray.exceptions``...) resolve to rayreact's modules;
``sys.argv``, ``__name__ == "__main__"``, ``__file__`` (absolute), ``sys.path[0]``, the exit code and
the traceback of an uncaught exception behave as with
``python script.py``.

Backends (see ``rayreact/_private/fallback.py``): ``--backend`` (default: ``$RAYREACT_BACKEND``,
else ``auto``) is what ``rayreact.init`` uses. Before the script runs, its imports (and those of
its own modules next to it) are scanned: a script that uses Ray's libraries (``ray.data``,
``ray.tune``...) runs entirely on real Ray under ``auto`` (with a ``RayFallbackWarning``),
and is refused under ``reactor``. With ``--backend ray`` the script runs on real Ray as is.

The alias is scoped to the program's own code (``rayreact/_private/alias.py``): Ray's own
modules, its libraries and other installed packages keep real Ray.
"""

import argparse
import builtins
import importlib.machinery
import os
import sys
import types

from rayreact._private.alias import install_alias  # noqa: F401 - also rayreact.__main__'s API


def main(argv=None):
    from rayreact._private import fallback

    parser = argparse.ArgumentParser(
        prog="python -m rayreact",
        description="Run an unmodified Ray script on the rayreact runtime.")
    parser.add_argument("--backend", choices=fallback.BACKENDS, default=None,
                        help="auto (default, or $RAYREACT_BACKEND): rayreact's reactor runtime, "
                             "falling back to real Ray for what it does not support; reactor: "
                             "such constructs are errors; ray: run everything on real Ray")
    parser.add_argument("--graph", metavar="FILE",
                        help="write the program's reactor graph to FILE when it ends: SVG or "
                             "PNG (by its suffix) if Graphviz's dot is installed, else DOT text")
    for name, what in (("deterministic", "wait and shared actors follow logical time (default "
                        "true; false: Ray's first-finished and arrival order)"),
                       ("compiled", "frozen loop bodies run in compiled mode (default true; "
                        "false: every call on the dynamic path)")):
        parser.add_argument(f"--{name}", choices=("true", "false"), default=None,
                            help=f"the default of rayreact.init({name}=...): {what}")
    parser.add_argument("script", help="the Ray program to run")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments of the script")
    ns = parser.parse_args(argv)
    script = ns.script
    if not os.path.exists(script):
        parser.error(f"can't open file {script!r}: no such file")
    if ns.backend is not None:
        os.environ[fallback.ENV] = ns.backend
    from rayreact._private import api

    if ns.graph is not None:
        os.environ[api.GRAPH_FILE_ENV] = os.path.abspath(ns.graph)
    for value, env in ((ns.deterministic, api.DETERMINISTIC_ENV), (ns.compiled, api.COMPILED_ENV)):
        if value is not None:
            os.environ[env] = "1" if value == "true" else "0"
    try:
        backend = fallback.choose()
    except ValueError as e:
        parser.error(str(e))
    alias = True
    if backend == "ray":
        fallback.ray_module()  # a clear error if Ray is not installed
        alias = False
    else:
        found = fallback.scan_script(script)
        if found:
            mod, path, line = found[0]
            fallback._backend = backend
            fallback.fallback("library", "the whole program", detail=f"{mod} (imported at "
                              f"{os.path.basename(path)}:{line})", where=(path, line))
            fallback._backend = None
            alias = False
    sys.argv = [script] + ns.args
    path = os.path.abspath(script)
    sys.path[0] = os.path.dirname(path)
    if alias:
        install_alias()
    _run_script(path)


def _run_script(path):
    """Run the file ``path`` as ``python path`` would: as module ``__main__``, with an
    absolute ``__file__`` and ``sys.argv`` as given (runpy.run_path would make ``argv[0]``
    absolute too); an uncaught exception is reported without this module's frames."""
    with open(path, "rb") as f:
        source = f.read()
    main = types.ModuleType("__main__")
    main.__file__ = path
    main.__cached__ = None
    main.__loader__ = importlib.machinery.SourceFileLoader("__main__", path)
    main.__builtins__ = builtins
    sys.modules["__main__"] = main  # functions of the script pickle by value, as __main__'s
    try:
        exec(compile(source, path, "exec"), main.__dict__)
    except Exception as e:  # noqa: BLE001 - reported as Python reports an uncaught one
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != path:
            tb = tb.tb_next
        sys.excepthook(type(e), e.with_traceback(tb), tb)
        sys.exit(1)

if __name__ == "__main__":
    main()
