"""The alias of ``python -m rayreact``: the program's ``import ray`` gives rayreact.

It is a ``builtins.__import__`` wrapper scoped to the program's own code (the script, and
modules outside the Python installation): there ``import ray[.x.y]`` gives rayreact's module,
or Ray's own where rayreact has none (``ray.util.scheduling_strategies``); a Ray library
(``ray.tune``...) is a fallback (see ``fallback.library``). Ray's own modules, its libraries
and other installed packages keep real Ray, so both live in one process. Worker processes
inherit it through ``RAYREACT_ALIAS`` (``rayreact/__init__.py`` installs it there).
"""

import builtins
import importlib
import importlib.util
import os
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


_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


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


_import._rayreact_alias = True


def install_alias():
    """Make the program's ``import ray`` resolve to rayreact (here and in its workers)."""
    os.environ[ALIAS_ENV] = "1"
    if not getattr(builtins.__import__, "_rayreact_alias", False):  # also a second copy of
        builtins.__import__ = _import  # this module (run as __main__ and imported) counts
