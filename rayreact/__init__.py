"""rayreact: run Ray programs on one machine, in parallel and reproducibly, on a reactor runtime.

Swap ``import ray`` for ``import rayreact as ray`` (or run ``python -m rayreact script.py``).
This module only re-exports Ray's public core names; the machinery is in ``rayreact._private``.
"""

from rayreact import exceptions
from rayreact._private.actor import ActorClass, ActorHandle, get_actor, method
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
from rayreact._private.refs import ObjectRef
from rayreact._private.remote_function import RemoteFunction
from rayreact._private.remote import remote

__version__ = "0.1.0"

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


def __getattr__(name):
    # Submodules that import the public API themselves: loaded on first use.
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"rayreact.{name}")
    raise AttributeError(f"module 'rayreact' has no attribute '{name}'")
