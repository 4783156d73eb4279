"""Actors: ``ActorClass`` (what ``@remote`` makes of a class), ``ActorHandle`` and
``ActorMethod`` (mirror ``ray.actor``, Ray 2.60.0).

In reactor-model terms an actor is a *reactor*: it owns state and runs one *reaction* (method
call) at a time: in the order its inbox received them, or, once other processes may call
it, in logical-time order (``determinism.CallOrder``). Each actor is its own OS process.
"""

import inspect
import os
import pickle
import weakref

from rayreact import exceptions as exc
from rayreact._private import fallback as _fb
from rayreact._private import options as opts
from rayreact._private import serialization as ser
from rayreact._private import shm
from rayreact._private.ids import ActorID


def method(*args, **kwargs):
    """Annotate an actor method (mirrors ``ray.method``, Ray 2.60.0): ``@method`` or
    ``@method(num_returns=2)``. Only ``num_returns`` changes anything on this runtime.

    Raises:
        AssertionError: positional arguments other than the method itself, or an unknown
            keyword (as Ray, which asserts).
        ValueError: ``num_returns`` < 0, or ``"streaming"``/``"dynamic"`` for a method that
            is not a generator (as Ray).
    """
    valid = ["num_returns", "concurrency_group", "max_task_retries", "retry_exceptions",
             "_generator_backpressure_num_objects", "_num_objects_per_yield",
             "enable_task_events", "tensor_transport"]

    def annotate(m):
        if "num_returns" in kwargs:
            opts.validate_num_returns(inspect.isgeneratorfunction(m)
                                      or inspect.isasyncgenfunction(m), kwargs["num_returns"])
            m.__ray_num_returns__ = kwargs["num_returns"]
        return m

    if len(args) == 1 and callable(args[0]) and not kwargs:  # bare @method
        return annotate(args[0])
    assert not args, ("The @ray.method decorator must be applied using no arguments or at "
                      f"least one of the arguments in the list {valid}, for example "
                      "'@ray.method(num_returns=2)'.")
    for k in kwargs:
        assert k in valid, (f"Unexpected keyword argument to @ray.method: '{k}'. The "
                            f"supported keyword arguments are {valid}")
    return annotate


# Dunder methods a handle exposes, as Ray's do: ``__call__`` (a callable actor class). Other
# dunders stay off the handle, where they would shadow the handle's own (__repr__,
# __reduce__, __eq__...).
_REMOTE_DUNDERS = ("__call__",)
_NO_METHODS = {}


def ray_module_name(obj):
    """The module Ray 2.60 names a function or class by (``PythonFunctionDescriptor.
    _get_module_name``): its ``__module__`` ("global" if empty, as Ray sets it), or for one
    defined in the program's script (``__main__``) the script's file name without ``.py``."""
    name = getattr(obj, "__module__", None) or "global"
    if name == "__main__":
        try:
            name = inspect.getmodulename(inspect.getfile(obj)) or name
        except (TypeError, OSError):  # no file (python -c, an interactive session)
            pass
    return name


def _method_table(cls):
    """{method name: num_returns} of the methods of ``cls`` a handle exposes."""
    table = {}
    for name, m in inspect.getmembers(cls, lambda x: inspect.isfunction(x) or inspect.ismethod(x)):
        if name.startswith("__") and name.endswith("__") and name not in _REMOTE_DUNDERS:
            continue
        table[name] = getattr(m, "__ray_num_returns__", 1)
    return table


def _signatures(cls):
    """{method name: inspect.Signature without self}, to check calls where they are made."""
    sigs = {}
    for name in list(_method_table(cls)) + ["__init__"]:
        m = inspect.getattr_static(cls, name, None)
        try:
            if isinstance(m, staticmethod):
                sig = inspect.signature(m.__func__)
            elif isinstance(m, classmethod) or not inspect.isfunction(m):
                sig = inspect.signature(getattr(cls, name))
                if name == "__init__" and m is object.__init__:
                    sig = inspect.Signature()
            else:
                sig = inspect.signature(m)
                sig = sig.replace(parameters=list(sig.parameters.values())[1:])
        except (TypeError, ValueError):
            continue
        sigs[name] = CallCheck(sig)
    return sigs


class CallCheck:
    """Checks a call's arguments against a signature, as Ray does in ``.remote()``.

    Positional-only calls (the common case) are checked by counting; anything else goes
    through ``Signature.bind``, which also words the error.
    """

    __slots__ = ("sig", "lo", "hi")

    def __init__(self, sig):
        self.sig = sig
        P = inspect.Parameter
        params = list(sig.parameters.values())
        positional = [p for p in params if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)]
        required_kw = [p for p in params if p.kind == P.KEYWORD_ONLY and p.default is P.empty]
        self.lo = sum(1 for p in positional if p.default is P.empty)
        self.hi = (float("inf") if any(p.kind == P.VAR_POSITIONAL for p in params)
                   else len(positional))
        if required_kw:
            self.lo, self.hi = 1, 0  # an empty range: never take the counting path

    def __call__(self, args, kwargs, what):
        if not kwargs and self.lo <= len(args) <= self.hi:
            return
        try:
            self.sig.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{what}(): {e}") from None


def check_call(check, args, kwargs, what):
    """TypeError at the call site when the arguments don't fit (as Ray checks in .remote())."""
    if check is not None:
        check(args, kwargs, what)


def _is_async(cls):
    return any(inspect.iscoroutinefunction(m) or inspect.isasyncgenfunction(m)
               for _, m in inspect.getmembers(cls, inspect.isfunction))


def _api():
    """The api module (imported late: it imports this one)."""
    global _api_module
    if _api_module is None:
        from rayreact._private import api

        _api_module = api
    return _api_module


_api_module = None


class ActorMethod:
    """``handle.method``: call it with ``.remote(*args, **kwargs)``."""

    __slots__ = ("_handle", "_name", "_num_returns", "_task_name")

    def __init__(self, handle, name, num_returns, task_name=None):
        self._handle = handle
        self._name = name
        self._num_returns = num_returns
        self._task_name = task_name

    def remote(self, *args, **kwargs):
        return self._handle._call(self._name, args, kwargs, self._num_returns, self._task_name)

    def options(self, **options):
        """This method with per-call options (mirrors Ray 2.60's ``ActorMethod.options``).
        ``num_returns`` and ``name`` (the call's task name, as
        ``get_runtime_context().get_task_name()`` gives it) act on this runtime, the others
        change nothing.

        Raises:
            ValueError: ``num_returns`` < 0, or ``"streaming"``/``"dynamic"`` (the methods of
                this runtime's actors are not generators: those actors run on Ray).
        """
        n = options.get("num_returns", self._num_returns)
        if "num_returns" in options:
            opts.validate_num_returns(False, n)
        return ActorMethod(self._handle, self._name, n, options.get("name", self._task_name))

    def bind(self, *args, **kwargs):
        from rayreact import dag

        return dag.ClassMethodNode(self._handle, self._name, args, kwargs)

    def __call__(self, *args, **kwargs):
        raise TypeError("Actor methods cannot be called directly. Instead "
                        f"of running 'object.{self._name}()', try "
                        f"'object.{self._name}.remote()'.")


class ActorHandle:
    """A handle to an actor (mirrors ``ray.actor.ActorHandle``). Picklable: pass it to tasks and
    other actors; every copy reaches the same actor process.

    Attributes of the handle are its methods (``ActorMethod``); an unknown name raises
    AttributeError at the call site.
    """

    def __init__(self, proc, pid, class_name, methods, is_async=False, original=False,
                 signatures=None, max_pending_calls=-1, name_file=None):
        self._signatures = signatures or {}  # only in the creator's process: not pickled
        self._max_pending = max_pending_calls  # travels with the handle, as in Ray
        self._proc = proc
        self._pid = pid
        self._class_name = class_name
        self._methods = methods
        self._is_async = is_async
        if original:
            _scopes[proc] = _Scope(pid, name_file)
        scope = _scopes.get(proc)
        if scope is not None:  # the creator's process: count this handle (see _Scope)
            scope.handles += 1
            self._exported = scope.exported
            weakref.finalize(self, _handle_dropped, proc)
        else:
            self._exported = [False]

    def _call(self, name, args, kwargs, num_returns, task_name=None):
        api = _api_module or _api()
        rt = api._rt or api._runtime_or_init()
        if _fb.active:  # Ray's refs or handles among the arguments cross here
            args, kwargs = _fb.to_reactor(args, kwargs)
        sig = self._signatures.get(name)
        if sig is not None and (kwargs or not sig.lo <= len(args) <= sig.hi):
            sig(args, kwargs, f"{self._class_name}.{name}")
        n = num_returns if isinstance(num_returns, int) else 1
        if self._max_pending > 0:
            _check_pending(rt, self, name)
        refs = rt.submit(self, name, args, kwargs, n, name=task_name)
        if self._max_pending > 0 and n:
            _pending_calls.setdefault(self._proc, []).append(refs[0]._id)
        if n == 1:
            return refs[0]
        if n == 0:
            return None
        return refs

    def __getattr__(self, name):
        # Methods are made on each access, as Ray's handles make them: an ActorMethod kept on
        # the handle would hold it in a reference cycle, and a dropped handle would then go
        # out of scope only at the next garbage collection.
        n = self.__dict__.get("_methods", _NO_METHODS).get(name)
        if n is None:
            if name not in ("__ray_ready__", "__ray_terminate__"):
                raise AttributeError(f"'ActorHandle' object has no attribute '{name}'")
            # Ray's built-in methods on every handle: ready once the actor is up; exit (as
            # ray.actor.exit_actor) after the calls queued before it
            n = 1
        return ActorMethod(self, name, n)

    def __reduce__(self):
        self._exported[0] = True
        _share(self._proc)  # another process may call the actor from now on
        return (_rebuild_handle, (self._proc, self._pid, self._class_name, self._methods,
                                  self._is_async, self._max_pending))

    def __repr__(self):
        return f"Actor({self._class_name}, {self._proc:08x})"

    def __hash__(self):
        return hash(self._proc)

    def __eq__(self, other):
        return isinstance(other, ActorHandle) and other._proc == self._proc

    @property
    def _actor_id(self):
        return ActorID(f"{self._proc:032x}")


class _Scope:
    """The creator's count of its handles of one actor (not detached). When it drops the
    last one, the actor goes out of scope, as in Ray: it exits after the calls already
    queued, and its name (if any) is free at once. Unless a handle was passed on to another
    process (``exported``), or another process looked the name up: those are not counted, so
    the actor then lives as long as the session."""

    __slots__ = ("handles", "exported", "pid", "name_file")

    def __init__(self, pid, name_file):
        self.handles = 0
        self.exported = [False]  # a cell shared by the handles; the finalizers don't hold them
        self.pid = pid
        self.name_file = name_file


_scopes = {}  # actor proc -> _Scope, for the actors this process created


def _handle_dropped(proc):
    scope = _scopes.get(proc)
    if scope is None:
        return
    scope.handles -= 1
    if scope.handles > 0:
        return
    del _scopes[proc]
    if scope.exported[0]:
        return
    if scope.name_file is not None:
        if os.path.exists(scope.name_file + _BORROWED):
            return
        try:
            os.unlink(scope.name_file)
        except FileNotFoundError:
            pass
    from rayreact._private import api

    api._actor_out_of_scope(proc, scope.pid)


def _rebuild_handle(proc, pid, class_name, methods, is_async, max_pending_calls=-1):
    _share(proc)  # (in the driver: a handle it got from elsewhere, which others may hold)
    return ActorHandle(proc, pid, class_name, methods, is_async,
                       max_pending_calls=max_pending_calls)


# actor proc -> result ids of this process's calls to it not known to be finished (only for
# actors with max_pending_calls; Ray counts per caller process too)
_pending_calls = {}


def _check_pending(rt, handle, method):
    """Raise PendingCallsLimitExceeded if ``handle``'s actor has ``max_pending_calls`` calls
    from this process still running or queued. Results that arrived but were not read yet
    count as finished: the inbox is drained first."""
    pending = _pending_calls.get(handle._proc)
    if not pending or len(pending) < handle._max_pending:
        return
    with rt.lock:
        rt._drain()
    table = rt.table
    pending[:] = [oid for oid in pending if oid in table and not rt.ready(oid)]
    if len(pending) >= handle._max_pending:
        raise exc.PendingCallsLimitExceeded(
            f"The task {method} could not be submitted to {handle!r} because more than "
            f"{handle._max_pending} tasks are queued on the actor. This limit can be adjusted "
            "with the `max_pending_calls` actor option.")


def _share(proc, named=False):
    """Other processes may call actor ``proc`` (determinism.Completion)."""
    rt = _api()._rt
    if rt is not None:
        rt.completion.share(proc, named)


class ActorClass:
    """What ``@remote`` returns for a class: create actors with ``.remote(*args)``.

    ``Cls.remote(*args, **kwargs)`` returns an ``ActorHandle`` at once; the actor's process
    starts in the background. ``Cls(...)`` raises TypeError, as in Ray.
    """

    def __init__(self, cls, options):
        self._cls = cls
        self._class_name = cls.__name__
        self._default_options = options
        self._methods = _method_table(cls)
        self._is_async = _is_async(cls)
        # The class as Ray's function names of its calls name it (get_task_function_name):
        # "module.A", an async actor's "module.f.<locals>.A" (made here: the worker's
        # __main__ is not the program's, and a class pickled by value loses its __qualname__)
        self._qualname = f"{ray_module_name(cls)}." + \
            (cls.__qualname__ if self._is_async else cls.__name__)
        self._signatures = _signatures(cls)
        self._frame = None
        self.__name__ = cls.__name__
        self.__qualname__ = cls.__qualname__
        self.__module__ = cls.__module__
        self.__doc__ = cls.__doc__

    def __call__(self, *args, **kwargs):
        raise TypeError("Actors cannot be instantiated directly. "
                        f"Instead of '{self._class_name}()', "
                        f"use '{self._class_name}.remote()'.")

    def remote(self, *args, **kwargs):
        return self._remote(args, kwargs, self._default_options)

    def options(self, **actor_options):
        """Return a creator with ``actor_options`` overriding the defaults (``.remote()``,
        ``.bind()``). Raises ValueError for an unknown option."""
        opts.validate_actor_options(actor_options, in_options=True)
        merged = dict(self._default_options, **actor_options)
        parent = self

        class _Creator:
            def remote(self, *args, **kwargs):
                return parent._remote(args, kwargs, merged)

        return _Creator()

    def bind(self, *args, **kwargs):
        raise NotImplementedError("DAG .bind() on actor classes is not supported yet")

    def _remote(self, args, kwargs, options):
        from rayreact._private import api

        if _fb.active or api._rt is None or _fb.actor_pattern(self, options) is not None:
            handle, args, kwargs = _fb.route_actor(self, args, kwargs, options)
            if handle is not None:  # the actor runs on Ray
                return handle
        rt = api._runtime_or_init()
        check_call(self._signatures.get("__init__"), args, kwargs, f"{self._class_name}")
        name = options.get("name")
        namespace = options.get("namespace") or rt.namespace
        if name is not None:
            if not name:
                raise ValueError("Actor name cannot be an empty string.")
            existing = _lookup_named(rt, name, namespace)
            if existing is not None:
                if options.get("get_if_exists"):
                    return existing
                raise exc.ActorAlreadyExistsError(
                    f"The name {name} (namespace={namespace}) is already taken. Please use "
                    "a different name or get the existing actor using "
                    f"ray.get_actor('{name}', namespace='{namespace}')")
        if self._frame is None:
            self._frame = ser.serialize_code(self._cls)
        proc, popen = api._spawn("actor")
        handle = ActorHandle(proc, popen.pid, self._class_name, self._methods, self._is_async,
                             original=options.get("lifetime") != "detached",
                             signatures=self._signatures,
                             max_pending_calls=options.get("max_pending_calls") or -1,
                             name_file=None if name is None else _name_file(rt, name, namespace))
        if name is not None:
            _share(proc, named=True)  # anyone may look it up
            if not _register_named(rt, name, namespace, handle):
                handle._exported[0] = True  # no out-of-scope exit: it is killed here
                api._kill_proc(proc, popen.pid)
                existing = _lookup_named(rt, name, namespace)
                if options.get("get_if_exists") and existing is not None:
                    return existing
                raise exc.ActorAlreadyExistsError(
                    f"The name {name} (namespace={namespace}) is already taken.")
        concurrency = options.get("max_concurrency") or (1000 if self._is_async else 1)
        init_name = (self._class_name, concurrency, name, self._qualname)
        rt.submit(handle, "__init__", args, kwargs, 0, self._frame, None, name=init_name)
        api._register_restarts(options.get("max_restarts"), options.get("max_task_retries"),
                               handle, args, kwargs, self._frame, init_name)
        return handle


_BORROWED = ".borrowed"  # beside a name file: another process looked the name up


def _name_file(rt, name, namespace):
    return os.path.join(shm.SHM_DIR, f"{shm.prefix(rt.session)}name_"
                        f"{(namespace or '').encode().hex()}_{name.encode().hex()}")


def _register_named(rt, name, namespace, handle):
    path = _name_file(rt, name, namespace)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as f:
        f.write(pickle.dumps((handle._proc, handle._pid, handle._class_name, handle._methods,
                              handle._is_async, handle._max_pending)))
    return True


def _lookup_named(rt, name, namespace):
    from rayreact._private.runtime import pid_alive

    path = _name_file(rt, name, namespace)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    if not data:  # being written right now by its creator
        return None
    proc, pid, cls, methods, is_async, max_pending = pickle.loads(data)
    _share(proc, named=True)
    if not pid_alive(pid):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        return None
    if proc not in _scopes:  # not the creator's process: its handle keeps the actor alive
        try:
            os.close(os.open(path + _BORROWED, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError:
            pass
    return ActorHandle(proc, pid, cls, methods, is_async, max_pending_calls=max_pending)


def exit_actor():
    """Intentionally exit the current actor (mirrors ``ray.actor.exit_actor``, Ray 2.60.0).

    Call it inside an actor method: the actor's process exits after running its ``atexit``
    handlers; the caller of this call, and of every call still queued, gets
    ``ActorDiedError`` (a ``RayActorError``).

    Raises:
        TypeError: called outside an actor (the driver or a task).
    """
    rt = _api()._rt
    if rt is None or rt.kind != "actor":
        raise TypeError("exit_actor API is called on a non-actor worker. Call this API inside "
                        "an actor methods if you'd like to exit the actor gracefully.")
    rt.exiting = True
    raise SystemExit(0)


def get_actor(name, namespace=None):
    """Handle of the named actor (mirrors ``ray.get_actor``).

    Raises:
        ValueError: ``name`` is empty, or no live actor has this name in the namespace.
        TypeError: ``name`` is not a string.
    """
    from rayreact._private import api

    rt = api._runtime_or_init()
    if not name:
        raise ValueError("Please supply a non-empty value to get_actor")
    if not isinstance(name, str):
        raise TypeError(f"Argument 'name' has incorrect type (expected str, got "
                        f"{type(name).__name__})")
    h = _lookup_named(rt, name, namespace if namespace is not None else rt.namespace)
    if h is None:
        raise ValueError(
            f"Failed to look up actor with name '{name}'. This could because 1. You are trying "
            "to look up a named actor you didn't create. 2. The named actor died. 3. You did "
            "not use a namespace matching the namespace of the actor.")
    return h
