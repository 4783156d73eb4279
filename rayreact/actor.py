"""Public actor types (mirrors the public names of ``ray.actor``, Ray 2.60.0)."""

from rayreact._private.actor import ActorClass, ActorHandle, ActorMethod, exit_actor, method

__all__ = ["ActorClass", "ActorHandle", "ActorMethod", "exit_actor", "method"]
