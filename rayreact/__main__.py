"""``python -m rayreact [--backend auto|reactor|ray] script.py [args...]``: run an unmodified Ray
script on rayreact.

The script's ``import ray`` and every ``ray.<sub>`` module that rayreact provides
(``ray.util``, ``ray.util.queue``, ``ray.exceptions``...) resolve to rayreact's modules;
``sys.argv``, ``__name__ == "__main__"``, ``sys.path[0]`` and the exit code behave as with
``python script.py``.

Backends (see ``rayreact/_private/fallback.py``): ``--backend`` (default: ``$RAYREACT_BACKEND``,
else ``auto``) is what ``rayreact.init`` uses. Before the script runs, its imports (and those of
its own modules next to it) are scanned: a script that uses Ray's libraries (``ray.data``,
``ray.tune``...) runs entirely on real Ray under ``auto`` (with a ``RayFallbackWarning``),
and is refused under ``reactor``. With ``--backend ray`` the script runs on real Ray as is.

The alias is scoped to the program's own code: ``import ray`` in the script and in modules
outside the Python installation gives rayreact, while Ray's own modules, its libraries and
other installed packages keep real Ray (so ``from ray.util.scheduling_strategies import ...``
and ``ray.tune`` work beside it). Worker processes inherit the alias (``RAYREACT_ALIAS``).
"""

import argparse
import builtins
import importlib
import importlib.util
import os
import runpy
import sys
import sysconfig

ALIAS_ENV = "RAYREACT_ALIAS"

_orig_import = builtins.__import__
_user_cache = {}
_ours_cache = {}


def _system_dirs():
    dirs = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        p = sysconfig.get_paths().get(key)
        if p:
            dirs.add(os.path.realpath(p) + os.sep)
    for p in sys.path:
        if p and ("site-packages" in p or "dist-packages" in p):
            dirs.add(os.path.realpath(p) + os.sep)
    return tuple(dirs)


_SYSTEM = None


_PKG = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _is_user(globals):
    """Is the importing module the program's own code (the script, or a module outside the
    Python installation), rather than Ray, rayreact or an installed package?"""
    global _SYSTEM
    if not globals:
        return False
    name = globals.get("__name__")
    if name is None:
        return False
    f = globals.get("__file__")
    key = (name, f)
    hit = _user_cache.get(key)
    if hit is not None:
        return hit
    top = name.partition(".")[0]
    if top in ("ray", "rayreact"):
        user = False
    elif not f:
        user = True  # python -c, exec'd code, the program's functions rebuilt in a worker
    else:
        if _SYSTEM is None:
            _SYSTEM = _system_dirs() + (_PKG,)
        user = not os.path.realpath(f).startswith(_SYSTEM)
    _user_cache[key] = user
    return user


def _ours(name):
    """rayreact's module for ``ray[.x.y]`` (public modules only), or None."""
    m = _ours_cache.get(name, False)
    if m is not False:
        return m
    ours = "rayreact" + name[3:]
    m = None
    if not any(p.startswith("_") for p in name.split(".")[1:]):
        try:
            if importlib.util.find_spec(ours) is not None:
                m = importlib.import_module(ours)
        except ImportError:
            m = None
    _ours_cache[name] = m
    return m


def _import(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and name[:3] == "ray" and (len(name) == 3 or name[3] == ".") and \
            _is_user(globals):
        return _import_for_user(name, fromlist)
    return _orig_import(name, globals, locals, fromlist, level)


def _import_for_user(name, fromlist):
    import rayreact
    from rayreact._private import fallback

    mod = _ours(name)
    if mod is None:  # a Ray module rayreact does not provide: Ray's own
        if fallback.library_of(name):
            fallback.library(name)  # the program (or the library) runs on Ray
        try:
            _orig_import(name, None, None, ("__name__",), 0)
        except ModuleNotFoundError as e:
            if e.name in ("ray", name) and not fallback.ray_installed():
                raise ModuleNotFoundError(
                    f"No module named {name!r}: it is part of Ray, which rayreact does not "
                    f"provide and which is not installed ({fallback.INSTALL_HINT})",
                    name=name) from None
            raise
        mod = sys.modules[name]
        return mod if fromlist else rayreact
    if fromlist:
        for item in fromlist:
            if item != "*" and not hasattr(mod, item) and \
                    importlib.util.find_spec(f"{mod.__name__}.{item}") is not None:
                importlib.import_module(f"{mod.__name__}.{item}")
        return mod
    return rayreact


def install_alias():
    """Make the program's ``import ray`` resolve to rayreact (here and in its workers)."""
    os.environ[ALIAS_ENV] = "1"
    if builtins.__import__ is not _import:
        builtins.__import__ = _import


def main(argv=None):
    from rayreact._private import fallback

    parser = argparse.ArgumentParser(
        prog="python -m rayreact",
        description="Run an unmodified Ray script on the rayreact runtime.")
    parser.add_argument("--backend", choices=fallback.BACKENDS, default=None,
                        help="auto (default, or $RAYREACT_BACKEND): rayreact's reactor runtime, "
                             "falling back to real Ray for what it does not support; reactor: "
                             "such constructs are errors; ray: run everything on real Ray")
    parser.add_argument("script", help="the Ray program to run")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments of the script")
    ns = parser.parse_args(argv)
    script = ns.script
    if not os.path.exists(script):
        parser.error(f"can't open file {script!r}: no such file")
    if ns.backend is not None:
        os.environ[fallback.ENV] = ns.backend
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
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    if alias:
        install_alias()
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
