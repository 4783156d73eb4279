"""A minimal stand-in for ``ray`` that runs every ``.remote()`` call inline.

Used by the benchmark as the "serial" contender: the same Ray program, but each actor
method or task executes immediately in the calling process, so the measured time is the
pure compute cost of the program (no parallelism, no inter-process communication).

Only what the examples need is implemented: ``remote`` (classes and functions, with or
without options), ``get``, ``put``, ``wait``, ``init``, ``shutdown``, ``is_initialized``,
``kill``. Errors raised by a call are stored in its ref and re-raised by ``get``, as Ray does.
"""

import functools

__all__ = ["remote", "get", "put", "wait", "init", "shutdown", "is_initialized", "kill",
           "ObjectRef"]

_initialized = False


class ObjectRef:
    """A trivial, already-resolved object reference."""

    __slots__ = ("_value", "_error")

    def __init__(self, value=None, error=None):
        self._value = value
        self._error = error

    def _resolve(self):
        if self._error is not None:
            raise self._error
        return self._value

    def __repr__(self):
        return "serial_ray.ObjectRef(%s)" % ("error" if self._error is not None else "ready")


def _resolve_args(args, kwargs):
    args = tuple(a._resolve() if isinstance(a, ObjectRef) else a for a in args)
    kwargs = {k: (v._resolve() if isinstance(v, ObjectRef) else v) for k, v in kwargs.items()}
    return args, kwargs


def _call(fn, args, kwargs):
    try:
        args, kwargs = _resolve_args(args, kwargs)
        return ObjectRef(fn(*args, **kwargs))
    except Exception as e:  # noqa: BLE001 - surfaced by get(), like Ray
        return ObjectRef(error=e)


class _RemoteMethod:
    __slots__ = ("_bound",)

    def __init__(self, bound):
        self._bound = bound

    def remote(self, *args, **kwargs):
        return _call(self._bound, args, kwargs)

    def options(self, **_options):
        return self


class ActorHandle:
    def __init__(self, instance):
        self._instance = instance

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        attr = getattr(self._instance, name)
        if not callable(attr):
            raise AttributeError(name)
        return _RemoteMethod(attr)


class ActorClass:
    def __init__(self, cls):
        self._cls = cls
        functools.update_wrapper(self, cls, updated=())

    def remote(self, *args, **kwargs):
        args, kwargs = _resolve_args(args, kwargs)
        return ActorHandle(self._cls(*args, **kwargs))

    def options(self, **_options):
        return self

    def __call__(self, *args, **kwargs):
        raise TypeError("Actors cannot be instantiated directly; use %s.remote()"
                        % self._cls.__name__)


class RemoteFunction:
    def __init__(self, fn):
        self._fn = fn
        functools.update_wrapper(self, fn)

    def remote(self, *args, **kwargs):
        return _call(self._fn, args, kwargs)

    def options(self, **_options):
        return self

    def __call__(self, *args, **kwargs):
        raise TypeError("Remote functions cannot be called directly; use %s.remote()"
                        % self._fn.__name__)


def _make_remote(obj):
    if isinstance(obj, type):
        return ActorClass(obj)
    if callable(obj):
        return RemoteFunction(obj)
    raise TypeError("@ray.remote expects a class or a function, got %r" % (obj,))


def remote(*args, **kwargs):
    """``@ray.remote`` or ``@ray.remote(num_cpus=..., ...)`` (options are ignored)."""
    if len(args) == 1 and not kwargs and callable(args[0]):
        return _make_remote(args[0])
    return _make_remote


def get(refs, timeout=None):
    if isinstance(refs, ObjectRef):
        return refs._resolve()
    if isinstance(refs, (list, tuple)):
        return [r._resolve() for r in refs]
    raise TypeError("get() expects an ObjectRef or a list of ObjectRefs, got %r" % (refs,))


def put(value):
    return ObjectRef(value)


def wait(refs, num_returns=1, timeout=None, fetch_local=True):
    refs = list(refs)
    return refs[:num_returns], refs[num_returns:]


def kill(actor, no_restart=True):
    pass


def init(*args, **kwargs):
    global _initialized
    _initialized = True


def shutdown(*args, **kwargs):
    global _initialized
    _initialized = False


def is_initialized():
    return _initialized
