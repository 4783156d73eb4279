"""Ray's exception hierarchy (mirrors ``ray.exceptions``, checked against Ray 2.60.0).

Every error the runtime raises at ``get`` derives from :class:`RayError`. A user exception
raised in remote code reaches the caller as a :class:`RayTaskError` that is *also* an
instance of the user's exception class (when that class can be subclassed), with the remote
traceback in its message and the original exception in ``.cause``.
"""

import os

__all__ = [
    "RayError",
    "RayTaskError",
    "RayActorError",
    "ActorDiedError",
    "ActorUnavailableError",
    "ActorAlreadyExistsError",
    "GetTimeoutError",
    "TaskCancelledError",
    "WorkerCrashedError",
    "PendingCallsLimitExceeded",
    "ObjectLostError",
    "UnserializableException",
    "OwnerDiedError",
    "ObjectFreedError",
    "RaySystemError",
    "UnsupportedPatternError",
    "RayNotInstalledError",
    "RayFallbackWarning",
    "RayDeprecationWarning",
]


class RayError(Exception):
    """Base class of every rayreact and Ray runtime error."""


class RayTaskError(RayError):
    """A task or actor method raised an exception (mirrors ``ray.exceptions.RayTaskError``).

    Attributes:
        function_name (str): qualified name of the remote function or method.
        traceback_str (str): the remote traceback, formatted.
        cause (BaseException): the original exception object.
        pid (int): process id of the worker that raised it.
    """

    def __init__(self, function_name, traceback_str, cause, proctitle=None, pid=None,
                 ip=None, actor_repr=None, actor_id=None):
        self.function_name = function_name
        self.traceback_str = traceback_str
        self.cause = cause
        self.proctitle = proctitle or f"rayreact::{function_name}"
        self.pid = pid or os.getpid()
        self.ip = ip or "127.0.0.1"
        self.actor_repr = actor_repr
        self._actor_id = actor_id
        self.args = (function_name, traceback_str, cause, proctitle, pid, ip)

    def __str__(self):
        head = f"{self.proctitle}() (pid={self.pid}, ip={self.ip}"
        head += f", actor_id={self._actor_id}, repr={self.actor_repr})" if self.actor_repr else ")"
        return head + "\n" + self.traceback_str.strip()

    def as_instanceof_cause(self):
        """Return an exception that is an instance of both RayTaskError and the cause's class.

        Falls back to ``self`` when the cause's class cannot be subclassed.
        """
        cause_cls = self.cause.__class__
        if issubclass(RayTaskError, cause_cls):
            return self
        error_msg = str(self)
        try:
            class cls(RayTaskError, cause_cls):
                def __init__(self, cause):
                    self.cause = cause
                    self._ray_task_error_args = (cause,)

                @property
                def args(self):
                    return self._ray_task_error_args

                @args.setter
                def args(self, value):
                    self._ray_task_error_args = value

                def __reduce__(self):
                    return (_rebuild_dual, (self.cause, error_msg))

                def __getattr__(self, name):
                    if name == "cause":
                        raise AttributeError(name)
                    return getattr(self.cause, name)

                def __str__(self):
                    return error_msg

            name = f"RayTaskError({cause_cls.__name__})"
            cls.__name__ = cls.__qualname__ = name
            inst = cls(self.cause)
            inst.function_name = self.function_name
            inst.traceback_str = self.traceback_str
            inst.pid, inst.ip, inst.proctitle = self.pid, self.ip, self.proctitle
            inst.actor_repr, inst._actor_id = self.actor_repr, self._actor_id
            return inst
        except Exception:  # the user's class cannot be mixed in: plain RayTaskError
            return self


def _rebuild_dual(cause, msg):
    err = RayTaskError("", msg, cause)
    return err.as_instanceof_cause()


class RayActorError(RayError):
    """The actor died, or was killed, before or while running the call."""

    def __init__(self, actor_id=None, error_msg=None, actor_init_failed=False, preempted=False):
        self.actor_id = actor_id
        self.error_msg = error_msg or "The actor died unexpectedly before finishing this task."
        self._actor_init_failed = actor_init_failed
        self._preempted = preempted
        super().__init__(self.error_msg)

    def __reduce__(self):
        return (type(self), (self.actor_id, self.error_msg, self._actor_init_failed))

    @property
    def actor_init_failed(self):
        return self._actor_init_failed

    @property
    def preempted(self):
        return self._preempted


class ActorDiedError(RayActorError):
    """The actor's process is dead (killed, exited, crashed, or its constructor failed)."""

    BASE_ERROR_MSG = "The actor died unexpectedly before finishing this task."


class ActorUnavailableError(RayActorError):
    """The actor is temporarily unreachable."""


class ActorAlreadyExistsError(ValueError, RayError):
    """A named actor with this name already exists in the namespace."""


class GetTimeoutError(RayError, TimeoutError):
    """``get`` or a blocking call timed out."""


class TaskCancelledError(RayError):
    """The task was cancelled with ``cancel`` before it produced its result."""

    def __init__(self, task_id=None, error_message=None):
        self.task_id = task_id
        self.error_message = error_message

    def __reduce__(self):
        return (type(self), (self.task_id, self.error_message))

    def __str__(self):
        msg = f"Task: {self.task_id} was cancelled. " if self.task_id else ""
        return msg + (self.error_message or "")


class PendingCallsLimitExceeded(RayError):
    """``.remote()`` on an actor method when this process already has ``max_pending_calls``
    calls to that actor that have not finished (mirrors Ray 2.60's; the option is set on the
    actor class or ``.options()``)."""


class WorkerCrashedError(RayError):
    """The worker process running the task died unexpectedly."""

    def __str__(self):
        return "The worker died unexpectedly while executing this task."


class UnserializableException(RayError):
    """A remote exception that pickles but cannot be unpickled (mirrors Ray 2.60's): ``get``
    raises this instead, with the text and traceback of the original.

    Args:
        original_stack_trace (str): the original exception and its remote traceback.
    """

    def __init__(self, original_stack_trace=""):
        self._original_stack_trace = original_stack_trace
        super().__init__(original_stack_trace)

    def __str__(self):
        return ("Failed to deserialize exception (see Ray's guide to custom serializers for "
                f"exceptions).\nOriginal exception:\n{self._original_stack_trace}")


class ObjectLostError(RayError):
    """The object's value can no longer be reached."""

    def __init__(self, object_ref_hex="", owner_address="", call_site=""):
        self.object_ref_hex = object_ref_hex
        self.owner_address = owner_address
        self.call_site = call_site
        super().__init__(object_ref_hex)

    def __reduce__(self):
        return (type(self), (self.object_ref_hex, self.owner_address, self.call_site))

    def __str__(self):
        return f"Failed to retrieve object {self.object_ref_hex}. {self._reason()}"

    def _reason(self):
        return "All copies of the object are lost."


class ObjectFreedError(ObjectLostError):
    def _reason(self):
        return "The object was freed before it was read."


class OwnerDiedError(ObjectLostError):
    def _reason(self):
        return "The process that created the object (its owner) has exited."


class RaySystemError(RayError):
    """An internal error of the runtime."""

    def __init__(self, client_exc, traceback_str=None):
        self.client_exc = client_exc
        self.traceback_str = traceback_str
        super().__init__(client_exc)

    def __str__(self):
        return f"System error: {self.client_exc}" + (f"\ntraceback: {self.traceback_str}"
                                                     if self.traceback_str else "")


class UnsupportedPatternError(RayError):
    """rayreact-specific: a Ray construct the reactor runtime does not run."""


class NondeterminismWarning(UserWarning):
    """rayreact-specific: the program uses a construct outside the deterministic subset
    (threaded or async actors, a ``wait`` whose timeout expired), so two runs may differ.
    Filter it like any warning: ``warnings.simplefilter("ignore", NondeterminismWarning)``."""


class RayNotInstalledError(UnsupportedPatternError, ImportError):
    """rayreact-specific: a construct needs real Ray (the fallback backend), which is not
    installed. Install it with ``pip install 'rayreact[ray]'``."""


class RayFallbackWarning(UserWarning):
    """rayreact-specific: a construct the reactor runtime does not run goes to real Ray.

    Issued once per pattern. Filter it like any warning, e.g.
    ``warnings.filterwarnings("ignore", category=rayreact.exceptions.RayFallbackWarning)``, or
    make the construct an error with ``backend="reactor"``.
    """


class RayDeprecationWarning(DeprecationWarning):
    """A deprecated Ray API was used (mirrors ``ray.util.annotations.RayDeprecationWarning``,
    Ray 2.60.0, with the same messages): the deprecated ``RuntimeContext`` properties and
    ``get()``, ``get_resource_ids()``, ``num_returns="dynamic"``. A ``DeprecationWarning``, so
    ``PYTHONWARNINGS="ignore::DeprecationWarning"`` silences it, as in Ray."""
