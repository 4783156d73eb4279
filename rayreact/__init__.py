"""rayreact: run Ray programs on one machine, in parallel and reproducibly, on a reactor runtime.

Swap ``import ray`` for ``import rayreact as ray`` (or run ``python -m rayreact script.py``).
This module only re-exports Ray's public core names; the machinery is in ``rayreact._private``.
Ray's other public names (``ray.__all__``: ``ObjectRefGenerator``, ``LoggingConfig``,
``ray.data``...) are forwarded to real Ray, with the fallback they imply (see
``rayreact/_private/fallback.py``).
"""

import os as _os

from rayreact import exceptions
from rayreact._private import fallback as _fallback
from rayreact._private.actor import ActorClass, ActorHandle
from rayreact._private.api import (
    available_resources,
    cancel,
    cluster_resources,
    get,
    get_gpu_ids,
    get_runtime_context,
    graph,
    init,
    is_initialized,
    kill,
    nodes,
    put,
    shutdown,
    timeline,
    wait,
)
from rayreact._private.refs import ObjectRef as _ObjectRef
from rayreact._private.remote_function import RemoteFunction
from rayreact._private.remote import remote

get_actor = _fallback.get_actor  # the reactor runtime's named actors, then Ray's
method = _fallback.method  # rayreact's annotation + Ray's attributes (for actors on Ray)


class _ObjectRefType(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, _ObjectRef) or _fallback.is_ray_ref(obj)

    def __subclasscheck__(cls, sub):
        return sub is cls or issubclass(sub, _ObjectRef) or _fallback.is_ray_ref_type(sub)


class ObjectRef(metaclass=_ObjectRefType):
    """A reference to a (possibly pending) object (mirrors ``ray.ObjectRef``).

    ``isinstance(r, ObjectRef)`` holds for the reactor runtime's refs
    (``rayreact._private.refs.ObjectRef``) and for real Ray's, which the actors and tasks that
    fall back to Ray return.
    """

    def __new__(cls, *args, **kwargs):
        return _ObjectRef(*args, **kwargs)

# The version of Ray whose API this package mirrors (its behaviour was checked against it), not
# rayreact's own (``importlib.metadata.version("rayreact")``): Ray programs compare
# ``ray.__version__`` to choose code paths, and under ``python -m rayreact`` they read ours.
__version__ = "2.60.0"

__all__ = [
    "ActorClass",
    "ActorHandle",
    "ObjectRef",
    "RemoteFunction",
    "available_resources",
    "cancel",
    "cluster_resources",
    "exceptions",
    "get",
    "get_actor",
    "get_gpu_ids",
    "get_runtime_context",
    "graph",
    "init",
    "is_initialized",
    "kill",
    "method",
    "nodes",
    "put",
    "remote",
    "shutdown",
    "timeline",
    "util",
    "wait",
]


_SUBMODULES = ("util", "actor", "remote_function", "runtime_context", "dag")


def _has_own(name):
    import importlib.util

    return importlib.util.find_spec(f"rayreact.{name}") is not None


def __getattr__(name):
    # Submodules that import the public API themselves: loaded on first use.
    if name in _SUBMODULES or not name.startswith("_") and _has_own(name):
        import importlib

        return importlib.import_module(f"rayreact.{name}")
    # Ray's other public names: forwarded to real Ray (a library runs the program on Ray).
    return _fallback.ray_attribute(name)


if _os.environ.get("RAYREACT_ALIAS"):  # a worker of a ``python -m rayreact`` program
    from rayreact._private.alias import install_alias as _install_alias

    _install_alias()
