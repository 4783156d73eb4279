"""Backends, and the fallback to real Ray: the one place that decides what runs where.

rayreact has two backends: ``reactor`` (its own runtime) and ``ray`` (real Ray, installed with
``pip install 'rayreact[ray]'``). The choice is ``init(backend=...)``, else the
``RAYREACT_BACKEND`` environment variable (``python -m rayreact --backend`` sets it), else
``"auto"``:

* ``auto``: the reactor runtime runs the program; a construct it does not support (``PATTERNS``)
  runs on Ray instead, with one :class:`~rayreact.exceptions.RayFallbackWarning` per pattern.
* ``reactor``: such a construct raises :class:`~rayreact.exceptions.UnsupportedPatternError`
  naming it.
* ``ray``: everything runs on Ray.

Scopes. A *program* pattern (a cluster address, a job-wide ``runtime_env``, Ray's libraries,
Ray Client) is decided before the reactor runtime starts; the program then runs on Ray
(``whole``): every public call forwards to real ``ray``. An *actor* or *task* pattern (an option
such as ``runtime_env``, a generator) sends that one actor or task to Ray and leaves the rest
on the reactor runtime (``active``: both are in use). Ray is started the first time it is
needed, with the program's ``init`` arguments, and shared by the session; a reactor worker that
needs it joins the driver's Ray.

Crossing. Ray's ObjectRefs and actor handles are handed out as they are (``isinstance(r,
rayreact.ObjectRef)`` holds for both kinds of ref). Where one crosses to the other backend, it
is materialised: a Ray ref in the arguments of a reactor call becomes a reactor ref to its value
(and vice versa, also nested in containers or objects), an error stays an error; an actor
handle becomes one the receiving process can call (it connects to the other backend when
unpickled). ``get``, ``wait``, ``kill`` and ``cancel`` accept a mix.

Hot path: nothing here runs for a reactor call unless Ray is in use (``active``) or the call's
options name a pattern; the checks in ``api``/``remote_function``/``actor`` are one global
load.
"""

import atexit
import importlib
import importlib.machinery
import importlib.util
import inspect
import io
import json
import os
import pickle
import re
import sys
import threading
import time
import warnings
import weakref

from rayreact import exceptions as exc

ENV = "RAYREACT_BACKEND"
BACKENDS = ("auto", "reactor", "ray")
INSTALL_HINT = "pip install 'rayreact[ray]'"

#: Ray's libraries: importing one runs the program on Ray.
LIBRARIES = ("ray.data", "ray.train", "ray.tune", "ray.serve", "ray.rllib", "ray.workflow",
             "ray.util.collective", "ray.util.multiprocessing")

#: key -> (the construct, as the warning and the error name it; its scope)
PATTERNS = {
    "address": ("init(address=...) with a cluster address", "program"),
    "init_runtime_env": ("init(runtime_env=...) (a job-wide runtime environment)", "program"),
    "library": ("Ray's libraries", "program"),
    "client": ("Ray Client (ray.client(), ray.util.connect())", "program"),
    "runtime_env": ("the runtime_env option", "actor or task"),
    "scheduling_strategy": ("the scheduling_strategy option", "actor or task"),
    "placement_group": ("placement groups", "actor or task"),
    "detached": ('lifetime="detached"', "actor"),
    "resources": ("custom resources this machine does not have", "actor or task"),
    "num_gpus": ("num_gpus beyond this machine's GPUs", "actor or task"),
    "labels": ("label or accelerator-type scheduling (label_selector, accelerator_type)",
               "actor or task"),
    "streaming": ('generators and num_returns="dynamic"/"streaming"', "actor or task"),
    "concurrency_groups": ("concurrency groups", "actor"),
    "retry_exceptions": ("retry_exceptions (retrying calls that raise)", "actor or task"),
    "tensor_transport": ("tensor transports (enable_tensor_transport, tensor_transport)",
                         "actor"),
    "ray_api": ("a Ray API that rayreact does not implement", "call"),
}

# Ray 2.60's ray.__all__ and ray.util.__all__: forwarded by rayreact's module __getattr__ (kept
# here so that probing an attribute never imports Ray for a name Ray does not have).
RAY_ALL = frozenset((
    "__version__", "_config", "get_runtime_context", "autoscaler", "available_resources",
    "cancel", "client", "ClientBuilder", "cluster_resources", "get", "get_actor", "get_gpu_ids",
    "init", "is_initialized", "java_actor_class", "java_function", "cpp_function", "kill",
    "Language", "method", "nodes", "put", "remote", "shutdown", "timeline", "wait",
    "SCRIPT_MODE", "WORKER_MODE", "LoggingConfig", "actor", "data", "internal", "util",
    "widgets", "workflow", "ActorClassID", "ActorID", "NodeID", "JobID", "WorkerID",
    "FunctionID", "ObjectID", "ObjectRef", "ObjectRefGenerator", "DynamicObjectRefGenerator",
    "TaskID", "UniqueID", "PlacementGroupID"))
RAY_UTIL_ALL = frozenset((
    "accelerators", "ActorPool", "as_completed", "disable_log_once_globally",
    "enable_periodic_logging", "iter", "log_once", "pdb", "placement_group",
    "placement_group_table", "get_placement_group", "get_current_placement_group",
    "get_node_instance_id", "get_node_ip_address", "map_unordered", "remove_placement_group",
    "ray_debugpy", "inspect_serializability", "collective", "connect", "disconnect",
    "register_serializer", "deregister_serializer", "list_named_actors"))
#: Ray API calls that need a running Ray: each call is a fallback of pattern "ray_api".
RAY_CALLS = frozenset(("java_function", "java_actor_class", "cpp_function"))

# -- state of this process -----------------------------------------------------------------
active = False  # Ray is in use here (a fallback happened, or the program runs on Ray)
whole = False  # the whole program runs on Ray: every public call forwards to it
_backend = None  # the backend chosen at init (None: not chosen yet)
_ray = None  # the real ``ray`` module, once needed
_started = False  # this module called ray.init (so shutdown ends that Ray)
_init_args = {}  # the program's init arguments that a Ray started here is given
_gpus = None  # GPUs this machine has, as the reactor runtime counts them
_resources = {}  # custom resources declared at init
_warned = set()
_lock = threading.RLock()
_session_cache = {}
_published = False
_REACTOR = object()  # route_*: "the reactor runtime runs it"
REACTOR = _REACTOR


# -- backend choice ------------------------------------------------------------------------------
def choose(explicit=None):
    """The backend named by ``explicit``, else by ``RAYREACT_BACKEND``, else ``"auto"``.

    Raises:
        ValueError: not one of ``"auto"``, ``"reactor"``, ``"ray"``.
    """
    b = explicit if explicit is not None else (os.environ.get(ENV) or "auto")
    if not isinstance(b, str) or b.strip().lower() not in BACKENDS:
        src = "backend" if explicit is not None else f"${ENV}"
        raise ValueError(f"{src} must be one of {', '.join(map(repr, BACKENDS))}; got {b!r}")
    return b.strip().lower()


def backend():
    """The backend in force in this process (a worker follows its driver's choice)."""
    if _backend is not None:
        return _backend
    info = _session_info()
    if info and info.get("backend"):
        return info["backend"]
    return choose()


def in_ray_worker():
    """True in a process that Ray started to run tasks and actors."""
    w = sys.modules.get("ray._private.worker")
    return w is not None and getattr(getattr(w, "global_worker", None), "mode", None) == 1


def ray_module():
    """The real ``ray`` package, imported on first use.

    Raises:
        RayNotInstalledError: Ray is not installed.
    """
    global _ray
    if _ray is None:
        try:
            mod = importlib.import_module("ray")
        except ImportError as e:
            raise exc.RayNotInstalledError(
                f"This program needs real Ray (the fallback backend of rayreact), and Ray is "
                f"not installed ({e}). Install it with: {INSTALL_HINT}") from None
        if not hasattr(mod, "_raylet"):  # sys.modules["ray"] is not Ray
            raise exc.RayNotInstalledError(
                f"'ray' resolves to {mod.__name__!r}, not to real Ray; install Ray with: "
                f"{INSTALL_HINT}")
        _ray = mod
    return _ray


def ray_installed():
    return _ray is not None or importlib.util.find_spec("ray") is not None


# -- warnings and errors ---------------------------------------------------------------------
def fallback(key, what, detail=None, where=None):
    """The construct of pattern ``key`` is not run by the reactor runtime: under backend
    ``reactor`` raise ``UnsupportedPatternError``; otherwise check that Ray is installed and
    warn (once per pattern) that ``what`` runs on Ray.

    Args:
        key: a key of ``PATTERNS``.
        what: what runs on Ray instead: "the whole program", "actor Foo", "task f"...
        detail: names the construct more precisely (e.g. "import ray.tune").
        where: (filename, lineno) to attribute the warning to (default: the user's frame).
    """
    construct = PATTERNS[key][0] + (f": {detail}" if detail else "")
    if backend() == "reactor":
        err = exc.UnsupportedPatternError(
            f"The reactor runtime does not support {construct}, and the backend is "
            f"'reactor'. With backend='auto' (the default) {what} would run on real Ray; "
            "with backend='ray' the whole program does.")
        err.pattern = key
        raise err
    if not ray_installed():
        raise exc.RayNotInstalledError(
            f"The reactor runtime does not support {construct}, so {what} must run on real "
            f"Ray, which is not installed. Install it with: {INSTALL_HINT} (or avoid the "
            "construct).")
    if key in _warned:
        return
    _warned.add(key)
    msg = (f"rayreact: the reactor runtime does not support {construct}; {what} runs on "
           "real Ray instead. To make this an error, use backend='reactor' "
           "(rayreact.init(backend='reactor'), RAYREACT_BACKEND=reactor or python -m rayreact "
           "--backend reactor).")
    if where is not None:
        warnings.warn_explicit(msg, exc.RayFallbackWarning, where[0], where[1])
    else:
        warnings.warn(msg, exc.RayFallbackWarning, stacklevel=_user_stacklevel())


def _user_stacklevel():
    """stacklevel (for a warn() in our caller) of the first frame outside rayreact."""
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    f = sys._getframe(2)
    level = 2
    while f is not None and f.f_code.co_filename.startswith(pkg):
        f = f.f_back
        level += 1
    return level


# -- the program's scope (init) --------------------------------------------------------------
def program_on_ray(explicit_backend, address, runtime_env):
    """Decide, before the reactor runtime starts, whether the whole program runs on Ray.

    Called by ``init`` (and by the auto-init of a first API call). Returns True when it does;
    the caller then forwards ``init`` to Ray (``init_ray``).
    """
    global _backend
    b = _backend = choose(explicit_backend)
    if whole:
        return True
    if b == "ray" or in_ray_worker():
        _go_whole()
        return True
    if address is None and os.environ.get("RAY_ADDRESS"):
        address = os.environ["RAY_ADDRESS"]  # ray.init() would connect there
    if address not in (None, "local"):
        fallback("address", "the whole program", detail=f"address={address!r}")
        _go_whole()
        return True
    if runtime_env:
        fallback("init_runtime_env", "the whole program")
        _go_whole()
        return True
    return False


def _go_whole():
    global whole, active
    ray_module()
    whole = active = True


def init_ray(call):
    """``init`` of a program that runs on Ray: ``ray.init`` with the same arguments.

    Args:
        call: the arguments ``rayreact.init`` received (name -> value; ``kwargs`` merged).
    """
    global _started
    r = ray_module()
    if in_ray_worker():
        return None  # already connected: Ray's own worker
    from rayreact._private import api

    defaults = {k: p.default for k, p in inspect.signature(api.init).parameters.items()
                if p.default is not inspect.Parameter.empty}
    kw = {}
    for k, v in call.items():
        if k in ("deterministic", "compiled", "backend", "kwargs"):
            continue
        if k in defaults and v is defaults[k] or (k in defaults and v == defaults[k]
                                                  and type(v) is type(defaults[k])):
            continue
        kw[k] = v
    kw.update(call.get("kwargs") or {})
    ctx = r.init(**kw)
    _started = True
    return ctx


def reactor_started(node, call):
    """``init`` started the reactor runtime: remember what a Ray started later needs, and
    publish the backend and resources to the session's workers."""
    global _gpus, _resources, _init_args
    _init_args = {k: v for k, v in call.items() if k in _RAY_START_ARGS and v is not None}
    _init_args.update({k: v for k, v in (call.get("kwargs") or {}).items()})
    if call.get("log_to_driver") is None:
        _init_args.pop("log_to_driver", None)
    ng = call.get("num_gpus")
    _gpus = float(ng) if ng is not None else float(detect_gpus())
    _resources = dict(call.get("resources") or {})
    _write_session_info(node.session, {"backend": backend(), "gpus": _gpus,
                                       "resources": _resources, "ray_address": None})


_RAY_START_ARGS = ("num_cpus", "num_gpus", "resources", "labels", "object_store_memory",
                   "include_dashboard", "dashboard_host", "dashboard_port",
                   "configure_logging", "logging_level", "logging_format", "logging_config",
                   "log_to_driver", "enable_resource_isolation", "cgroup_path",
                   "system_reserved_cpu", "system_reserved_memory")


def detect_gpus():
    """NVIDIA GPUs visible to this process (as Ray would count them; 0 on most CI boxes)."""
    vis = os.environ.get("CUDA_VISIBLE_DEVICES")
    if vis is not None:
        return len([d for d in vis.split(",") if d.strip() and d.strip() != "-1"])
    try:
        return len(os.listdir("/proc/driver/nvidia/gpus"))
    except OSError:
        return 0


def starts_on_ray():
    """No runtime is up and an API call arrives: True if the program runs on Ray."""
    return whole or program_on_ray(None, None, None)


def shutdown():
    """``rayreact.shutdown()``: end the Ray this module started (or, for a program on Ray,
    Ray), and forget every decision."""
    global whole, active, _backend, _started, _published, _gpus
    r = _ray
    if r is not None and (whole or _started) and not in_ray_worker():
        try:
            if r.is_initialized():
                r.shutdown()
        except Exception:  # noqa: BLE001 - best effort at shutdown
            pass
    whole = active = _started = _published = False
    _backend = _gpus = None
    _resources.clear()
    _init_args.clear()
    _warned.clear()
    _session_cache.clear()
    _to_rr_cache.clear()
    _to_ray_cache.clear()


# -- the session file: what workers learn from their driver ---------------------------------
def _info_path(session):
    from rayreact._private import shm

    return os.path.join(shm.SHM_DIR, shm.prefix(session) + "fallback")


def _write_session_info(session, info):
    path = _info_path(session)
    tmp = path + f".{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(info, f)
    os.replace(tmp, path)
    _session_cache[session] = info


def _session_info(refresh=False):
    """The driver's published choices (workers only; None elsewhere)."""
    from rayreact._private import api

    rt = api._rt
    if rt is None or api._node is not None:
        return None
    if not refresh and rt.session in _session_cache:
        return _session_cache[rt.session]
    try:
        with open(_info_path(rt.session)) as f:
            info = json.load(f)
    except (OSError, ValueError):
        info = None
    _session_cache[rt.session] = info
    return info


def _node_resources():
    """(GPUs, custom resources) of this machine, as the reactor runtime sees them: those of
    ``init(resources=...)`` and the two that name the node (``api.node_resources``)."""
    from rayreact._private.api import node_resources

    if _gpus is not None:
        return _gpus, dict(_resources, **node_resources())
    info = _session_info() or {}
    g = info.get("gpus")
    return (float(detect_gpus()) if g is None else g), \
        dict(info.get("resources") or {}, **node_resources())


# -- starting or joining Ray (actor / task scope) -----------------------------------------
def ensure_ray():
    """Ray is needed beside the reactor runtime: start it (driver) or join the driver's Ray
    (reactor worker), once. Sets ``active``."""
    global active, _started
    with _lock:
        r = ray_module()
        if not r.is_initialized():
            from rayreact._private import api

            rt = api._rt
            if rt is not None and api._node is None:  # a reactor worker
                info = _session_info(refresh=True) or {}
                addr = info.get("ray_address")
                if addr:
                    _connect(addr, rt.namespace, info.get("ray_auth_mode"))
                else:  # the driver has no Ray yet: start one here and share it
                    r.init(num_cpus=rt.num_cpus, namespace=rt.namespace,
                           include_dashboard=False, logging_level="ERROR")
                    _started = True
            else:
                opts = dict(_init_args)
                opts.setdefault("include_dashboard", False)
                if rt is not None:
                    opts["namespace"] = rt.namespace
                r.init(**opts)
                _started = True
        active = True
        _publish_address()


def _connect(address, namespace, auth_mode=None):
    """Join the Ray at ``address`` as its driver does (same token-authentication mode: Ray
    2.60 sets ``RAY_AUTH_MODE`` in the process that starts a cluster)."""
    if auth_mode and "RAY_AUTH_MODE" not in os.environ:
        os.environ["RAY_AUTH_MODE"] = auth_mode
    r = ray_module()
    r.init(address=address, namespace=namespace, logging_level="ERROR")


def _publish_address():
    """Let the session's workers join this Ray (driver only, once)."""
    global _published
    if _published:
        return
    from rayreact._private import api

    rt = api._rt
    if rt is None:
        return
    try:
        addr = ray_module().get_runtime_context().gcs_address
    except Exception:  # noqa: BLE001
        return
    auth = os.environ.get("RAY_AUTH_MODE")
    if api._node is not None:
        info = dict(_session_cache.get(rt.session) or {})
        info.update(ray_address=addr, ray_auth_mode=auth)
        _write_session_info(rt.session, info)
    else:  # a worker that started Ray: publish it unless the driver has one
        info = _session_info(refresh=True) or {}
        if not info.get("ray_address"):
            info = dict(info, ray_address=addr, ray_auth_mode=auth)
            _write_session_info(rt.session, info)
    _published = True


def connect_ray(address, namespace=None, auth_mode=None):
    """Join the Ray at ``address`` (a reactor worker that received a Ray actor handle)."""
    global active
    with _lock:
        r = ray_module()
        if not r.is_initialized():
            _connect(address, namespace, auth_mode)
        active = True


def ray_address():
    r = ray_module()
    if not r.is_initialized():
        return None
    return r.get_runtime_context().gcs_address


# -- patterns: which actors and tasks go to Ray --------------------------------------------
_RELEVANT = ("runtime_env", "placement_group", "scheduling_strategy", "retry_exceptions",
             "accelerator_type", "label_selector", "_labels", "fallback_strategy", "num_gpus",
             "resources", "lifetime", "concurrency_groups", "enable_tensor_transport")
_static = weakref.WeakKeyDictionary()  # function or class -> its static pattern (or None)


def _generator(fn):
    return inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn)


def function_pattern(fn):
    """Pattern of a remote function itself (not of its options): generators stream in Ray."""
    return "streaming" if _generator(fn) else None


def class_pattern(cls):
    """Pattern of an actor class itself: generator methods, streaming or concurrency-group
    annotations."""
    try:
        return _static[cls]
    except (KeyError, TypeError):
        pass
    key = None
    for _name, m in inspect.getmembers(cls, lambda x: inspect.isfunction(x)
                                       or inspect.ismethod(x)):
        if _generator(m) or getattr(m, "__ray_num_returns__", None) in ("dynamic",
                                                                          "streaming"):
            key = "streaming"
        elif getattr(m, "__ray_concurrency_group__", None) is not None:
            key = "concurrency_groups"
        elif getattr(m, "__ray_tensor_transport__", None) is not None:
            key = "tensor_transport"
        elif getattr(m, "__ray_retry_exceptions__", False) and \
                getattr(m, "__ray_max_task_retries__", None) not in (None, 0):
            key = "retry_exceptions"
        if key:
            break
    try:
        _static[cls] = key
    except TypeError:
        pass
    return key


def options_pattern(options, actor):
    """Pattern of ``@remote``/``.options()`` options, or None if the reactor runtime runs
    them faithfully."""
    if not options:
        return None
    if options.get("runtime_env"):
        return "runtime_env"
    if options.get("placement_group") not in (None, "default"):
        return "placement_group"
    s = options.get("scheduling_strategy")
    if s is not None and s not in ("DEFAULT", "SPREAD"):
        if type(s).__name__ == "PlacementGroupSchedulingStrategy":
            return "placement_group"
        return "scheduling_strategy"
    if actor:
        if options.get("lifetime") == "detached":
            return "detached"
        if options.get("concurrency_groups"):
            return "concurrency_groups"
        if options.get("enable_tensor_transport"):
            return "tensor_transport"
    else:
        if options.get("num_returns") in ("dynamic", "streaming"):
            return "streaming"
        if options.get("retry_exceptions") and options.get("max_retries", 3) not in (0, None):
            return "retry_exceptions"
    if options.get("accelerator_type") or options.get("label_selector") or \
            options.get("_labels") or options.get("fallback_strategy"):
        return "labels"
    g, res = options.get("num_gpus"), options.get("resources")
    if g or res:
        gpus, have = _node_resources()
        if g and g > gpus:
            return "num_gpus"
        if res:
            for k, v in res.items():
                if k not in ("CPU", "GPU") and isinstance(v, (int, float)) and \
                        v > have.get(k, 0):
                    return "resources"
    return None


_RELEVANT_SET = frozenset(_RELEVANT)


def maybe_task(fn, options):
    """Cheap test made once per RemoteFunction: can a call with its default options fall
    back?"""
    return function_pattern(fn) is not None or options_may_fall_back(options)


def options_may_fall_back(options):
    """Cheap test of ``.options()``: do they name an option that can make a call fall back?"""
    return not _RELEVANT_SET.isdisjoint(options) or \
        isinstance(options.get("num_returns"), str)


def task_pattern(rf, options):
    return function_pattern(rf._function) or options_pattern(options, actor=False)


def actor_pattern(ac, options):
    key = class_pattern(ac._cls) or options_pattern(options, actor=True)
    if key is None and options.get("max_task_retries"):
        for _n, m in inspect.getmembers(ac._cls, inspect.isfunction):
            if getattr(m, "__ray_retry_exceptions__", False):
                return "retry_exceptions"
    return key


# -- routing .remote() -----------------------------------------------------------------------
_ray_objs = weakref.WeakKeyDictionary()  # RemoteFunction / ActorClass -> Ray's counterpart


def _ensure_decided():
    """Before the first call: start the reactor runtime, or decide the program runs on Ray."""
    from rayreact._private import api

    if api._rt is None and not whole:
        api._runtime_or_init()


def _diff(defaults, options):
    if options is defaults:
        return {}
    return {k: v for k, v in options.items() if k not in defaults or defaults[k] is not v}


def _ray_counterpart(obj, target, defaults):
    r = _ray_objs.get(obj)
    if r is None:
        rm = ray_module()
        r = rm.remote(**defaults)(target) if defaults else rm.remote(target)
        _ray_objs[obj] = r
    return r


def route_task(rf, args, kwargs, options):
    """Where the task runs. Returns ``(REACTOR, args, kwargs)`` for the reactor runtime (the
    arguments converted if Ray objects are among them), else ``(Ray's result, None, None)``.

    Raises:
        UnsupportedPatternError: the task needs Ray and the backend is "reactor".
    """
    _ensure_decided()
    if not whole:
        key = task_pattern(rf, options)
        if key is None:
            if active:
                args, kwargs = to_reactor(args, kwargs)
            return _REACTOR, args, kwargs
        fallback(key, f"task {rf._function_name}")
        ensure_ray()
    fn = _ray_counterpart(rf, rf._function, rf._default_options)
    diff = _diff(rf._default_options, options)
    args, kwargs = to_ray(args, kwargs)
    return (fn.options(**diff) if diff else fn).remote(*args, **kwargs), None, None


def route_actor(ac, args, kwargs, options):
    """Where the actor lives: ``(None, args, kwargs)`` for the reactor runtime, else
    ``(Ray's ActorHandle, None, None)``.

    Raises:
        UnsupportedPatternError: the actor needs Ray and the backend is "reactor".
    """
    _ensure_decided()
    if not whole:
        key = actor_pattern(ac, options)
        if key is None:
            if active:
                args, kwargs = to_reactor(args, kwargs)
            return None, args, kwargs
        fallback(key, f"actor {ac._class_name}")
        ensure_ray()
    cls = _ray_counterpart(ac, ac._cls, ac._default_options)
    diff = _diff(ac._default_options, options)
    args, kwargs = to_ray(args, kwargs)
    handle = (cls.options(**diff) if diff else cls).remote(*args, **kwargs)
    return RayActorHandle(handle), None, None


class RayActorHandle:
    """A Ray actor handle as rayreact hands it out: Ray's handle, whose method calls carry the
    reactor runtime's refs and handles across (``to_ray``). Everything else is Ray's."""

    __slots__ = ("_ray_handle", "__weakref__")

    def __init__(self, handle):
        object.__setattr__(self, "_ray_handle", handle)

    def __getattr__(self, name):
        attr = getattr(self._ray_handle, name)
        return _RayMethod(attr) if hasattr(attr, "remote") else attr

    def __reduce__(self):
        return (_wrap_ray_handle, (self._ray_handle,))

    def __eq__(self, other):
        return self._ray_handle == (other._ray_handle if isinstance(other, RayActorHandle)
                                    else other)

    def __hash__(self):
        return hash(self._ray_handle)

    def __repr__(self):
        return repr(self._ray_handle)


class _RayMethod:
    """``handle.method`` of a Ray actor: ``.remote()`` converts reactor objects first."""

    __slots__ = ("_method",)

    def __init__(self, method):
        self._method = method

    def remote(self, *args, **kwargs):
        args, kwargs = to_ray(args, kwargs)
        return self._method.remote(*args, **kwargs)

    def options(self, **options):
        return _RayMethod(self._method.options(**options))

    def __call__(self, *args, **kwargs):
        return self._method(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._method, name)


def _wrap_ray_handle(handle):
    return handle if isinstance(handle, RayActorHandle) else RayActorHandle(handle)


def unwrap(x):
    return x._ray_handle if type(x) is RayActorHandle else x


# -- public calls with Ray objects (or on a program that runs on Ray) ---------------------
def _ray_types():
    m = sys.modules.get("ray._raylet")
    if m is None:
        return ()
    return tuple(t for t in (getattr(m, "ObjectRef", None), getattr(m, "ObjectRefGenerator",
                                                                    None),
                             getattr(m, "DynamicObjectRefGenerator", None)) if t is not None)


def is_ray_ref(x):
    m = sys.modules.get("ray._raylet")
    return m is not None and isinstance(x, m.ObjectRef)


def is_ray_ref_type(t):
    m = sys.modules.get("ray._raylet")
    return m is not None and isinstance(t, type) and issubclass(t, m.ObjectRef)


def is_ray_handle(x):
    if type(x) is RayActorHandle:
        return True
    m = sys.modules.get("ray.actor")
    return m is not None and hasattr(m, "ActorHandle") and isinstance(x, m.ActorHandle)


def foreign(x):
    """True if ``x`` (a ref, a list of refs, or a handle) holds a Ray object."""
    kinds = _ray_types()
    if not kinds:
        return is_ray_handle(x)
    if type(x) is list:
        for i in x:
            if isinstance(i, kinds):
                return True
        return False
    return isinstance(x, kinds) or is_ray_handle(x)


def _ready_ours(rt, refs, k, timeout):
    """The reactor refs among ``refs`` that are ready (at least ``k``, or after ``timeout``):
    first-finished, as the mixed wait polls both sides (no logical-time rule, no warning)."""
    prev = rt.deterministic
    rt.deterministic = False
    try:
        return rt.wait(refs, k, timeout)[0]
    finally:
        rt.deterministic = prev


def _unique(xs):
    seen, out = set(), []
    for x in xs:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


def get(object_refs, timeout=None):
    """``get`` of Ray refs, or of a mix of Ray and reactor refs (values in input order)."""
    from rayreact._private import api
    from rayreact._private.refs import ObjectRef

    r = ray_module()
    single = isinstance(object_refs, ObjectRef) or is_ray_ref(object_refs)
    refs = [object_refs] if single else object_refs
    if isinstance(refs, list) and all(is_ray_ref(x) for x in refs) or \
            not isinstance(refs, list):
        try:
            return r.get(object_refs, timeout=timeout)
        except r.exceptions.RayError as e:
            raise _raisable(from_ray_error(e)) from None
    for x in refs:
        if not isinstance(x, ObjectRef) and not is_ray_ref(x):
            raise TypeError(f"Attempting to call `get` on the value {x!r}, which is not an "
                            "ray.ObjectRef.")
    if timeout is not None and timeout < 0:
        raise ValueError(f"'timeout' must be a non-negative number, got {timeout}")
    rt = api._rt
    deadline = None if timeout is None else time.monotonic() + timeout
    ours = _unique(x for x in refs if isinstance(x, ObjectRef))
    theirs = _unique(x for x in refs if not isinstance(x, ObjectRef))
    if ours:
        ready = _ready_ours(rt, ours, len(ours), timeout)
        if len(ready) < len(ours):
            raise exc.GetTimeoutError("Get timed out: some object(s) not ready.")
    if theirs:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        _, not_ready = r.wait(theirs, num_returns=len(theirs), timeout=left)
        if not_ready:
            raise exc.GetTimeoutError("Get timed out: some object(s) not ready.")
    out = []
    for x in refs:
        if isinstance(x, ObjectRef):
            out.append(rt.get([x], None)[0])
        else:
            try:
                out.append(r.get(x))
            except r.exceptions.RayError as e:
                raise _raisable(from_ray_error(e)) from None
    return out[0] if single else out


def wait(refs, num_returns=1, timeout=None, fetch_local=True):
    """``wait`` over Ray refs, or a mix of Ray and reactor refs (both lists in input order)."""
    from rayreact._private import api
    from rayreact._private.refs import ObjectRef

    r = ray_module()
    if not isinstance(refs, list) or all(not isinstance(x, ObjectRef) for x in refs):
        return r.wait(refs, num_returns=num_returns, timeout=timeout, fetch_local=fetch_local)
    kinds = _ray_types()
    for x in refs:
        if not isinstance(x, ObjectRef) and not isinstance(x, kinds):
            raise TypeError("wait() expected a list of ray.ObjectRef or ray.ObjectRefGenerator,"
                            f" got list containing {type(x)}")
    if len(refs) != len(set(refs)):
        raise ValueError("Wait requires a list of unique ray_waitables.")
    if num_returns <= 0:
        raise ValueError("Invalid number of objects to return %d." % num_returns)
    if num_returns > len(refs):
        raise ValueError("num_returns cannot be greater than the number of ray_waitables "
                         "provided to ray.wait.")
    if timeout is not None and timeout < 0:
        raise ValueError(f"The 'timeout' argument must be nonnegative. Received {timeout}")
    rt = api._rt
    ours = [x for x in refs if isinstance(x, ObjectRef)]
    theirs = [x for x in refs if not isinstance(x, ObjectRef)]
    deadline = None if timeout is None else time.monotonic() + timeout
    step = 0.002
    while True:
        ready_ours = _ready_ours(rt, ours, len(ours), 0) if ours else []
        ready_theirs = r.wait(theirs, num_returns=len(theirs), timeout=0,
                              fetch_local=fetch_local)[0] if theirs else []
        if len(ready_ours) + len(ready_theirs) >= num_returns:
            break
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            break
        s = step if left is None else min(step, left)
        # Sleep on one side (the reactor side wakes on its inbox), then look at both again.
        if ours and len(ready_ours) < len(ours):
            _ready_ours(rt, ours, len(ready_ours) + 1, s)
        else:
            r.wait(theirs, num_returns=len(ready_theirs) + 1, timeout=s,
                   fetch_local=fetch_local)
        step = min(step * 2, 0.05)
    ready = set(ready_ours) | set(ready_theirs)
    out_ready, out_not = [], []
    for x in refs:
        (out_ready if x in ready and len(out_ready) < num_returns else out_not).append(x)
    return out_ready, out_not


def kill(actor, no_restart=True):
    if is_ray_handle(actor):
        return ray_module().kill(unwrap(actor), no_restart=no_restart)
    from rayreact._private.actor import ActorHandle

    if isinstance(actor, ActorHandle):
        from rayreact._private import api

        api._kill_proc(actor._proc, actor._pid)
        api._rt.mark_dead(actor._proc, actor._pid)
        return None
    raise ValueError("ray.kill() only supported for actors. For tasks, try ray.cancel(). "
                     f"Got: {type(actor)}.")


def cancel(ref, force=False, recursive=True):
    if is_ray_ref(ref) or isinstance(ref, _ray_types()):
        return ray_module().cancel(ref, force=force, recursive=recursive)
    raise TypeError("ray.cancel() only supported for object refs. For actors, try "
                    f"ray.kill(). Got: {type(ref)}.")


def call(name, *args, **kwargs):
    """Forward the public call ``name`` to Ray (a program that runs on Ray)."""
    return getattr(ray_module(), name)(*args, **kwargs)


def call_util(name, *args, **kwargs):
    """Forward ``ray.util.<name>`` to Ray."""
    ray_module()
    return getattr(importlib.import_module("ray.util"), name)(*args, **kwargs)


def get_actor(name, namespace=None):
    """``get_actor`` over both backends: the reactor runtime's named actors first, then
    Ray's (when Ray is in use)."""
    from rayreact._private import actor, api

    if api._runtime_or_init() is None:
        return RayActorHandle(ray_module().get_actor(name, namespace=namespace))
    try:
        return actor.get_actor(name, namespace)
    except ValueError:
        if not active:
            raise
    return RayActorHandle(ray_module().get_actor(name, namespace=namespace))


def method(*args, **kwargs):
    """``@method(...)``: rayreact's annotation, plus Ray's own attributes (an actor class that
    goes to Ray keeps its concurrency groups, retries and transports)."""
    from rayreact._private import actor

    inner = actor.method(*args, **kwargs)

    def annotate(m):
        m = inner(m)
        for k in ("concurrency_group", "max_task_retries", "retry_exceptions",
                  "_generator_backpressure_num_objects", "enable_task_events"):
            if k in kwargs:
                setattr(m, f"__ray_{k.lstrip('_')}__", kwargs[k])
        if kwargs.get("tensor_transport") is not None:
            m.__ray_tensor_transport__ = str(kwargs["tensor_transport"]).upper()
        return m

    return annotate


# -- errors crossing from Ray ----------------------------------------------------------------
_HEAD = re.compile(r"^(\S+?)\(\) \(pid=(\d+), ip=([^,)]+)")


def from_ray_error(e):
    """The rayreact exception for Ray's ``e`` (same class name and meaning), so that a
    program's ``except rayreact.exceptions.X`` (or ``ray.exceptions.X`` under python -m
    rayreact) catches errors that come from Ray."""
    E = ray_module().exceptions
    if isinstance(e, E.RayTaskError):
        cause = e.__dict__.get("cause", getattr(type(e), "cause", None))
        if isinstance(cause, exc.RayError):  # an error from the reactor runtime, re-raised
            return cause
        msg = str(e)
        head, _, rest = msg.partition("\n")
        m = _HEAD.match(head)
        proctitle = m.group(1) if m else "ray::task"
        pid = int(m.group(2)) if m else None
        ip = m.group(3) if m else None
        fname = e.__dict__.get("function_name") or proctitle.split("::")[-1]
        if cause is None:
            cause = exc.RayError(msg)
        return exc.RayTaskError(fname, rest or msg, cause, proctitle=proctitle, pid=pid, ip=ip)
    if isinstance(e, E.GetTimeoutError):
        return exc.GetTimeoutError(str(e))
    if isinstance(e, E.TaskCancelledError):
        tid = getattr(e, "task_id", None)
        return exc.TaskCancelledError(tid.hex() if hasattr(tid, "hex") else tid)
    if isinstance(e, E.RayActorError):
        cls = (exc.ActorDiedError if isinstance(e, getattr(E, "ActorDiedError", ()))
               else exc.ActorUnavailableError
               if isinstance(e, getattr(E, "ActorUnavailableError", ())) else exc.RayActorError)
        aid = getattr(e, "actor_id", None)
        return cls(aid.hex() if hasattr(aid, "hex") else aid, str(e),
                   actor_init_failed=bool(getattr(e, "actor_init_failed", False)))
    if isinstance(e, E.WorkerCrashedError):
        return exc.WorkerCrashedError()
    if isinstance(e, E.ObjectLostError):
        cls = getattr(exc, type(e).__name__, exc.ObjectLostError)
        if not (isinstance(cls, type) and issubclass(cls, exc.ObjectLostError)):
            cls = exc.ObjectLostError
        return cls(getattr(e, "object_ref_hex", ""))
    if isinstance(e, E.RaySystemError):
        return exc.RaySystemError(getattr(e, "client_exc", str(e)))
    cls = getattr(exc, type(e).__name__, None)
    if isinstance(cls, type) and issubclass(cls, exc.RayError):
        try:
            return cls(str(e))
        except TypeError:
            pass
    return exc.RayError(str(e))


def _raisable(err):
    return err.as_instanceof_cause() if isinstance(err, exc.RayTaskError) else err


# -- values crossing between the backends --------------------------------------------------
_to_rr_cache = weakref.WeakValueDictionary()  # Ray ref -> reactor ref of its value
_to_ray_cache = weakref.WeakKeyDictionary()  # reactor ref -> Ray ref of its value
_tls = threading.local()
_NO = object()


def _slot(i):
    return _tls.items[i]


_plain = None


def _plain_types():
    global _plain
    if _plain is None:
        import numpy

        from rayreact._private.actor import ActorHandle
        from rayreact._private.refs import ObjectRef

        _plain = (int, float, str, bytes, bool, type(None), complex, numpy.ndarray, ObjectRef,
                  ActorHandle)
    return _plain


def _needs_scan(args, kwargs, plain, skip):
    """False when every argument is of a type that cannot hold a foreign object."""
    for a in (*args, *kwargs.values()) if kwargs else args:
        t = type(a)
        if t in skip or not isinstance(a, plain) or (t is plain[7] and a.dtype.hasobject):
            return True
    return False


_Swapper = None


def _swapper_class():
    global _Swapper
    if _Swapper is None:
        import cloudpickle

        class Swapper(cloudpickle.CloudPickler):
            """Pickles a value, replacing the objects ``replace`` maps (see ``_swap``)."""

            def __init__(self, file, replace, items, buffers):
                super().__init__(file, protocol=5, buffer_callback=buffers.append)
                self._replace = replace
                self._items = items

            def reducer_override(self, obj):
                new = self._replace(obj)
                if new is not _NO:
                    self._items.append(new)
                    return _slot, (len(self._items) - 1,)
                return super().reducer_override(obj)

        _Swapper = Swapper
    return _Swapper


def _swap(value, replace):
    """``value`` with every object ``o`` for which ``replace(o)`` is not ``_NO`` replaced,
    wherever it is nested (containers, attributes). Returns ``value`` itself when nothing was
    replaced, or when it cannot be pickled (the backend then reports that)."""
    items, bufs, buf = [], [], io.BytesIO()
    try:
        _swapper_class()(buf, replace, items, bufs).dump(value)
    except Exception:  # noqa: BLE001 - not picklable: left to the backend's own error
        return value
    if not items:
        return value
    prev = getattr(_tls, "items", None)
    _tls.items = items
    try:
        return pickle.loads(buf.getbuffer(), buffers=bufs)
    finally:
        _tls.items = prev


def to_reactor(args, kwargs):
    """Arguments of a reactor call with Ray objects materialised: a Ray ref becomes a reactor
    ref to its value (top-level: resolved as any ref is), a Ray actor handle one a reactor
    worker can call."""
    if not _needs_scan(args, kwargs, _plain_types(), ()):
        return args, kwargs
    return _swap((tuple(args), kwargs), _for_reactor())


def to_ray(args, kwargs):
    """Arguments of a Ray call with reactor objects materialised: a reactor ref becomes a Ray
    ref to its value (an error stays an error), a reactor actor handle one a Ray worker can
    call."""
    from rayreact._private.actor import ActorHandle
    from rayreact._private.refs import ObjectRef

    if not _needs_scan(args, kwargs, _plain_types(), (ObjectRef, ActorHandle)):
        return args, kwargs
    return _swap((tuple(args), kwargs), _for_ray())


def _for_reactor():
    """``replace`` (see ``_swap``) for values going to the reactor runtime."""
    from rayreact._private.actor import ActorHandle
    from rayreact._private.refs import ObjectRef

    ray_kinds = _ray_types()
    rm = sys.modules.get("ray.actor")
    rh = getattr(rm, "ActorHandle", ()) if rm is not None else ()

    def replace(o):
        t = type(o)
        if t is ObjectRef or t is ActorHandle:
            return o  # ours: as it is (no pickling side effects)
        if ray_kinds and isinstance(o, ray_kinds[0]):
            return _ray_ref_to_reactor(o)
        if t is RayActorHandle:
            return _RayHandleCarrier(o._ray_handle)
        if rh and isinstance(o, rh):
            return _RayHandleCarrier(o)
        return _NO

    return replace


def _for_ray():
    """``replace`` (see ``_swap``) for values going to Ray."""
    from rayreact._private.actor import ActorHandle
    from rayreact._private.refs import ObjectRef

    kinds = _ray_types()
    rm = sys.modules.get("ray.actor")
    rh = getattr(rm, "ActorHandle", ()) if rm is not None else ()

    def replace(o):
        t = type(o)
        if t is ObjectRef:
            return _reactor_ref_to_ray(o)
        if t is ActorHandle:
            return _ReactorHandleCarrier(o)
        if t is RayActorHandle or (kinds and isinstance(o, kinds)) or (rh and isinstance(o, rh)):
            return o  # Ray's own: as it is
        return _NO

    return replace


def _ray_ref_to_reactor(ref):
    """A reactor ref to the value of Ray's ``ref`` (refs inside the value converted too)."""
    from rayreact._private import api

    new = _to_rr_cache.get(ref)
    if new is not None:
        return new
    r = ray_module()
    rt = api._rt
    try:
        value, err = _swap(r.get(ref), _for_reactor()), False
    except r.exceptions.RayError as e:
        value, err = from_ray_error(e), True
    new = rt.put(value)
    if err:
        rt.table[new._id].error = True
    _to_rr_cache[ref] = new
    return new


def _reactor_ref_to_ray(ref):
    """A Ray ref to the value of the reactor's ``ref`` (refs inside the value converted
    too); an error becomes a Ray ref whose get raises it."""
    from rayreact._private import api

    try:
        return _to_ray_cache[ref]
    except KeyError:
        pass
    r = ray_module()
    try:
        new = r.put(_swap(api._rt.get([ref], None)[0], _for_ray()))
    except exc.RayError as e:
        new = _raiser().remote(e)
    _to_ray_cache[ref] = new
    return new


_raiser_fn = None


def _raise(err):
    raise err


def _raiser():
    global _raiser_fn
    if _raiser_fn is None:
        _raiser_fn = ray_module().remote(max_retries=0)(_raise)
    return _raiser_fn


class _RayHandleCarrier:
    """A Ray actor handle on its way to a reactor process; it joins Ray there."""

    def __init__(self, handle):
        self.handle = handle

    def __reduce__(self):
        from rayreact._private import api

        r = ray_module()
        ns = api._rt.namespace if api._rt is not None else None
        return (_load_ray_handle, (ray_address(), ns, r.cloudpickle.dumps(self.handle),
                                   os.environ.get("RAY_AUTH_MODE")))


def _load_ray_handle(address, namespace, data, auth_mode=None):
    connect_ray(address, namespace, auth_mode)
    return RayActorHandle(ray_module().cloudpickle.loads(data))


class _ReactorHandleCarrier:
    """A reactor actor handle on its way to a Ray worker; it joins the reactor session
    there."""

    def __init__(self, handle):
        self.handle = handle

    def __reduce__(self):
        from rayreact._private import api

        h, rt = self.handle, api._rt
        h._exported[0] = True  # another process holds it: no out-of-scope exit
        return (_load_reactor_handle, (rt.session, rt.driver_pid, rt.namespace, rt.num_cpus,
                                       h._proc, h._pid, h._class_name, h._methods,
                                       h._is_async))


def _load_reactor_handle(session, driver_pid, namespace, num_cpus, proc, pid, class_name,
                         methods, is_async):
    from rayreact._private.actor import ActorHandle

    attach_reactor(session, driver_pid, namespace, num_cpus)
    return ActorHandle(proc, pid, class_name, methods, is_async)


def attach_reactor(session, driver_pid, namespace, num_cpus):
    """Make this process (a Ray worker) a member of the reactor session ``session``: it gets
    an inbox and can call the session's actors and tasks (as a worker process does)."""
    global active
    from rayreact._private import api, process, shm
    from rayreact._private.channel import Channel
    from rayreact._private import determinism
    from rayreact._private.runtime import Runtime, inbox_name

    with _lock:
        rt = api._rt
        if rt is not None and rt.session == session:
            return
        proc = process.new_proc_id(session)
        inbox = Channel(session, inbox_name(proc), create=True)
        inbox.set_pid(os.getpid())
        rt = Runtime(session, proc, "driver", driver_pid, inbox)
        # Not the session's driver: its calls are not roots (see determinism.Completion).
        rt.completion = determinism.Completion(rt, driver=False)
        rt.namespace = namespace
        rt.num_cpus = num_cpus
        rt._tasks = Channel(session, "tasks", multi_consumer=True)
        pool_mm = shm.open_segment(shm.prefix(session) + "pool", readonly=True)
        rt._pool = lambda: api._read_pool(pool_mm)
        api._connect_worker(rt)
        atexit.register(_detach, inbox)
        if in_ray_worker():
            _go_whole()
        active = True


def _detach(inbox):
    try:
        inbox.unlink()
    except Exception:  # noqa: BLE001
        pass


# -- Ray's names that rayreact does not implement ------------------------------------------
def library(modname):
    """A Ray library (``ray.tune``...) is used: before the reactor runtime starts, the whole
    program runs on Ray; after, the library runs on Ray beside it. Returns the module."""
    from rayreact._private import api

    lib = library_of(modname) or modname
    if not whole:
        if api._rt is None:
            fallback("library", "the whole program", detail=modname)
            _go_whole()
        else:
            fallback("library", f"{lib} (beside the reactor runtime, which keeps running "
                     "what it started)", detail=modname)
            ensure_ray()
    return importlib.import_module(modname)


def library_of(modname):
    for lib in LIBRARIES:
        if modname == lib or modname.startswith(lib + "."):
            return lib
    return None


def ray_attribute(name, util=False):
    """``rayreact.<name>`` (or ``rayreact.util.<name>``) for a public name of Ray's that
    rayreact does not implement: Ray's object, after the fallback it implies (libraries run
    the program on Ray; Ray Client connects it to a cluster; a few calls need a running Ray).

    Raises:
        AttributeError: Ray has no such public name (probing never imports Ray), or Ray is
            not installed.
    """
    owner = "rayreact.util" if util else "rayreact"
    full = ("ray.util." if util else "ray.") + name
    if name.startswith("__"):
        raise AttributeError(f"module '{owner}' has no attribute '{name}'")
    lib = library_of(full) or (full if not util and name in _LIB_ATTRS else None)
    if lib is None and name not in (RAY_UTIL_ALL if util else RAY_ALL):
        if name.startswith("_") or not _ray_has_module(full):
            raise AttributeError(f"module '{owner}' has no attribute '{name}'")
        return importlib.import_module(full)  # a Ray module, e.g. ray.util.scheduling_strategies
    if not ray_installed():
        raise AttributeError(f"module '{owner}' has no attribute '{name}': {full} is Ray's, "
                             f"and Ray is not installed ({INSTALL_HINT})")
    if lib is not None:
        return library(full)
    if name == "client" or (util and name in ("connect", "disconnect")):
        return _ProgramCall(full)
    if not util and name in RAY_CALLS:
        return _RayCall(full)
    return getattr(importlib.import_module(full.rpartition(".")[0]), name)


_LIB_ATTRS = ("train", "tune", "serve", "rllib")
_module_files = {}


def _ray_has_module(full):
    """Is ``full`` (``ray.x.y``) a module of the installed Ray? Looks at files only."""
    if full in _module_files:
        return _module_files[full]
    found = False
    try:
        spec = importlib.machinery.PathFinder.find_spec("ray")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        for root in spec.submodule_search_locations:
            rel = os.path.join(root, *full.split(".")[1:])
            if os.path.isfile(rel + ".py") or os.path.isfile(os.path.join(rel, "__init__.py")):
                found = True
    _module_files[full] = found
    return found


class _RayCall:
    """A Ray API call rayreact forwards: Ray is started (or joined) first, with a warning."""

    def __init__(self, full):
        self._full = full
        mod, _, self._name = full.rpartition(".")
        self._mod = mod
        self.__name__ = self._name
        self.__qualname__ = self._name

    def _target(self):
        return getattr(importlib.import_module(self._mod), self._name)

    def __call__(self, *args, **kwargs):
        fallback("ray_api", "this call", detail=self._full)
        from rayreact._private import api

        if api._runtime_or_init() is not None:
            ensure_ray()
        return self._target()(*args, **kwargs)

    def __repr__(self):
        return f"<rayreact forwarding to {self._full}>"


class _ProgramCall(_RayCall):
    """Ray Client: connecting to a cluster runs the whole program on Ray."""

    def __call__(self, *args, **kwargs):
        from rayreact._private import api

        if not whole:
            if api._rt is not None:
                raise exc.UnsupportedPatternError(
                    f"{self._full}() connects to a Ray cluster, but the reactor runtime is "
                    "already running this program; call it before any other rayreact call.")
            fallback("client", "the whole program", detail=self._full)
            _go_whole()
        return self._target()(*args, **kwargs)


# -- python -m rayreact: scanning a script's imports ---------------------------------------
def scan_script(path):
    """Ray libraries the script uses, found without running it: ``[(module, file, line)]``.

    Follows ``import`` statements (``import ray.tune``, ``from ray import data``,
    ``from ray.util.multiprocessing import Pool``), attribute chains on the ``ray`` module
    (``ray.data.range(...)``) and the script's own modules next to it (recursively).
    """
    import ast

    base = os.path.dirname(os.path.abspath(path))
    todo, seen, found = [os.path.abspath(path)], set(), []
    while todo:
        p = todo.pop(0)
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(p, "rb") as f:
                tree = ast.parse(f.read(), p)
        except (OSError, SyntaxError, ValueError):
            continue
        aliases = {"ray"}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name == "ray" and a.asname:
                        aliases.add(a.asname)
                    if a.name in ("rayreact",) and a.asname:
                        aliases.add(a.asname)
                    lib = library_of(a.name)
                    if lib:
                        found.append((a.name, p, node.lineno))
                    todo.extend(_local_module(base, a.name))
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mod = node.module
                if mod == "ray" or mod.startswith("ray."):
                    for a in node.names:
                        lib = library_of(f"{mod}.{a.name}") or library_of(mod)
                        if lib or (mod == "ray" and a.name in ("train", "tune", "serve",
                                                               "rllib")):
                            found.append((f"{mod}.{a.name}", p, node.lineno))
                else:
                    todo.extend(_local_module(base, mod))
                    for a in node.names:
                        todo.extend(_local_module(base, f"{mod}.{a.name}"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                chain = _dotted(node)
                if chain and chain[0] in aliases and len(chain) > 1:
                    full = "ray." + ".".join(chain[1:])
                    lib = library_of(full) or ("ray." + chain[1] if chain[1] in (
                        "train", "tune", "serve", "rllib") else None)
                    if lib:
                        found.append((lib, p, node.lineno))
    return found


def _dotted(node):
    import ast

    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return parts[::-1]
    return None


def _local_module(base, name):
    rel = os.path.join(base, *name.split("."))
    out = []
    for cand in (rel + ".py", os.path.join(rel, "__init__.py")):
        if os.path.isfile(cand):
            out.append(cand)
    return out
