"""Public remote-function type (mirrors ``ray.remote_function``, Ray 2.60.0)."""

from rayreact._private.remote_function import RemoteFunction

__all__ = ["RemoteFunction"]
