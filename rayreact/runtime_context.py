"""Public runtime-context type (mirrors ``ray.runtime_context``, Ray 2.60.0)."""

from rayreact._private.api import RuntimeContext, get_runtime_context

__all__ = ["RuntimeContext", "get_runtime_context"]
