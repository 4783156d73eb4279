"""Ray's public core API on the reactor runtime: init, shutdown, get, put, wait, kill, cancel...

Each function mirrors the Ray 2.60.0 function of the same name (``ray/_private/worker.py``):
same signature, defaults, and the same error types and messages for bad input.

The driver's ``Node`` owns the session: the driver's inbox, the task queue, the task pool and a
monitor thread that reaps dead children (a crashed task worker's caller gets
``WorkerCrashedError`` and the pool gets a new worker). ``shutdown`` (also at interpreter exit,
Ctrl-C and SIGTERM) ends every process of the session and unlinks every shared-memory name.
"""

import atexit
import logging
import os
import pickle
import secrets
import select
import signal
import struct
import tempfile
import threading
import uuid
import warnings

import psutil

from rayreact import exceptions as exc
from rayreact._private import fallback as _fb
from rayreact._private import process as process_mod
from rayreact._private import serialization as ser
from rayreact._private import shm
from rayreact._private.actor import ActorHandle, ray_module_name
from rayreact._private.channel import Channel
from rayreact._private.ids import ActorID, JobID, NodeID, PlacementGroupID, TaskID
from rayreact._private.refs import CompiledDAGRef, ObjectRef
from rayreact._private.runtime import (CONCURRENT_CALL, CRASHED, RESULT, Runtime, inbox_name,
                                       set_runtime)
from rayreact._private.tracer import Tracer

logger = logging.getLogger("rayreact")

_rt = None  # this process's Runtime
_node = None  # the driver's Node (None in workers)
_POOL = struct.Struct("<QQ")
# Command lines of a session's processes: workers started fresh, the zygote and its forks.
_WORKER_MODULES = ("rayreact._private.worker", "rayreact._private.zygote")
_POOL_SLOTS = 256
_MAX_EXTRA_WORKERS = 32  # task workers started beyond num_cpus while others are blocked


def _read_pool(mm):
    n = struct.unpack_from("<Q", mm, 0)[0]
    return [_POOL.unpack_from(mm, 8 + 16 * i) for i in range(n)]


class Node:
    """The driver's view of the session: processes, task pool, monitor (see module doc)."""

    def __init__(self, num_cpus, namespace):
        self.session = secrets.token_hex(4)
        self.num_cpus = num_cpus
        self.namespace = namespace
        proc = process_mod.new_proc_id(self.session)
        inbox = Channel(self.session, inbox_name(proc), create=True)
        inbox.set_pid(os.getpid())
        self.rt = Runtime(self.session, proc, "driver", os.getpid(), inbox)
        self.rt.namespace = namespace
        self.tasks = Channel(self.session, "tasks", create=True, multi_consumer=True)
        self.pool_mm = shm.create_segment(shm.prefix(self.session) + "pool", 8 + 16 * _POOL_SLOTS)
        self.rt._tasks = self.tasks
        self.rt._pool = self.pool
        self.children = {}  # pid -> (proc, Popen, kind)
        self.pool_members = []  # [(proc, pid)]
        self.extra_workers = 0  # "extra" pool workers alive (see add_extra_worker)
        self.restartable = self.rt.restartable  # actor proc -> _Restart (max_restarts)
        self.rt.on_need_worker = self.add_extra_worker
        self._lock = threading.Lock()
        self._stopping = False
        self._wake_r, self._wake_w = os.pipe()
        self._monitor = threading.Thread(target=self._monitor_loop, name="rayreact-monitor",
                                         daemon=True)
        self._monitor.start()
        self.zygote = process_mod.start_zygote(self.session, namespace, num_cpus)
        for _ in range(num_cpus):
            self._add_pool_worker()

    # -- processes ---------------------------------------------------------------------------
    def spawn(self, kind, proc=None):
        proc, p = process_mod.spawn_worker(self.rt, kind, self.namespace, self.num_cpus, proc)
        with self._lock:
            self.children[p.pid] = (proc, p, kind)
        os.write(self._wake_w, b"x")
        return proc, p

    def _add_pool_worker(self):
        proc, p = self.spawn("task")
        with self._lock:
            self.pool_members.append((proc, p.pid))
            self._write_pool()

    def add_extra_worker(self):
        """A task worker blocked in ``get`` cannot run a queued task (determinism: it would
        run on top of its own): start one more pool worker, as Ray starts a worker when one
        blocks. Extra workers exit after idling a few seconds."""
        with self._lock:
            if self.extra_workers >= _MAX_EXTRA_WORKERS or not self.tasks.has_data():
                return
            self.extra_workers += 1
        proc, p = self.spawn("extra")
        with self._lock:
            self.pool_members.append((proc, p.pid))
            self._write_pool()

    def _write_pool(self):
        members = self.pool_members[:_POOL_SLOTS]
        for i, (proc, pid) in enumerate(members):
            _POOL.pack_into(self.pool_mm, 8 + 16 * i, proc, pid)
        struct.pack_into("<Q", self.pool_mm, 0, len(members))

    def pool(self):
        return self.pool_members

    def _monitor_loop(self):
        """Wait on every child's pidfd at once; reap the dead and repair the pool."""
        fds = {}
        while not self._stopping:
            with self._lock:
                for pid in self.children:
                    if pid not in fds.values():
                        try:
                            fds[os.pidfd_open(pid)] = pid
                        except ProcessLookupError:
                            fds[os.open("/dev/null", os.O_RDONLY)] = pid  # already gone: reap
            ready, _, _ = select.select(list(fds) + [self._wake_r], [], [])
            for fd in ready:
                if fd == self._wake_r:
                    os.read(self._wake_r, 4096)
                    continue
                pid = fds.pop(fd)
                os.close(fd)
                if self._stopping:
                    continue
                try:
                    self._on_child_exit(pid)
                except Exception:  # noqa: BLE001 - the monitor must survive anything
                    logger.exception("rayreact monitor: handling the exit of pid %s failed", pid)

    def _on_child_exit(self, pid):
        with self._lock:
            proc, p, kind = self.children.pop(pid)
        p.wait()
        try:
            ch = Channel(self.session, inbox_name(proc))
        except FileNotFoundError:
            return
        caller, counter, running = ch.status()
        first = (caller << 64) | counter
        ch.close()
        if kind == "actor" and self._restart(proc, pid):
            return
        Channel(self.session, inbox_name(proc)).unlink()
        if kind not in ("task", "extra"):
            return
        with self._lock:
            self.pool_members = [m for m in self.pool_members if m[1] != pid]
        if running:  # the task it was running fails with WorkerCrashedError
            err = ser.Frame(pickle.dumps(exc.WorkerCrashedError(), protocol=5), [])
            try:
                out = Channel(self.session, inbox_name(caller))
                # A task the driver called is a root (determinism.Completion): it ends here.
                done = (counter,) if caller == self.rt.proc else None
                self.rt._send_on(out, (RESULT, first, (CRASHED,), (), done), [err], quiet=True)
            except FileNotFoundError:
                pass
        if kind == "extra":  # not replaced
            with self._lock:
                self.extra_workers -= 1
                self._write_pool()
        else:
            self._add_pool_worker()

    def _final(self, proc):
        """Actor ``proc``'s death is final: its calls fail now and later ones at once."""
        rt = self.rt
        rt.task_retries.pop(proc, None)
        with rt.lock:
            self.restartable.pop(proc, None)
            rt.restarting.pop(proc, None)
            rt.restarted.pop(proc, None)

    def _restart(self, proc, pid):
        """Start actor ``proc`` again if it was created with restarts left and its process
        died (an intentional exit unlinks the inbox: no restart, as in Ray). Calls it was
        running or had queued fail (their callers watch the old pid); the new process takes
        over the inbox and runs the constructor again with the same arguments."""
        r = self.restartable.get(proc)
        rt = self.rt
        if r is None or r.left == 0 or self._stopping:
            self._final(proc)
            return False
        rt.restarting[proc] = pid  # calls made meanwhile wait (Runtime._await_restart)
        try:
            proc, p = self.spawn("actor", proc)
        except FileNotFoundError:
            self._final(proc)
            return False
        r.left -= 1  # (-1: restarts without end)
        name = r.name[:4] + (True,)  # reconstructed
        with rt.lock:  # (Runtime._actor_died reads these under it)
            rt._send_call((ActorHandle(*r.fields), "__init__", r.args, r.kwargs, 0, r.frame,
                           None, name, rt.new_id(), [], None))
            rt.restarted[proc] = pid
            rt.restarting.pop(proc, None)  # calls may go now: __init__ is first in its inbox
        return True

    def stop(self):
        """End every process of the session and unlink every shared-memory name."""
        self._stopping = True
        os.write(self._wake_w, b"x")
        pids = set(self.children)
        for p in psutil.process_iter(["pid", "cmdline"]):
            cmd = p.info.get("cmdline") or []
            if len(cmd) > 4 and cmd[2] in _WORKER_MODULES and cmd[3] == self.session:
                pids.add(p.info["pid"])
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for p in [p for _proc, p, _kind in list(self.children.values())] + [self.zygote]:
            try:
                if p is not None:
                    p.wait(timeout=5)
            except Exception:  # noqa: BLE001
                pass
        self._monitor.join(timeout=2)
        os.close(self._wake_r)
        os.close(self._wake_w)
        shm.cleanup_session(self.session)
        ser.drain_segment_pool()  # (their names went with the session)
        process_mod.forget_zygote(self.session)


# -- init / shutdown -----------------------------------------------------------------------------
_INIT_KWARGS = {"_system_config", "_temp_dir", "_node_ip_address", "_plasma_directory",
                "_enable_object_reconstruction", "_metrics_export_port", "_redis_password",
                "_node_name", "_driver_object_store_memory", "_memory", "_tracing_startup_hook",
                "_skip_env_hook", "_redis_username"}


class RayContext(dict):
    """What ``init`` returns (mirrors ``ray._private.worker.RayContext``): dict-like info."""

    def __init__(self, node):
        super().__init__(address_info={"session": node.session}, node_id=node.session,
                         dashboard_url=None)
        self.address_info = self["address_info"]
        self.dashboard_url = None

    def __enter__(self):
        return self

    def __exit__(self, *a):
        shutdown()

    def disconnect(self):
        shutdown()


def init(address=None, *, num_cpus=None, num_gpus=None, resources=None, labels=None,
         object_store_memory=None, local_mode=False, ignore_reinit_error=False,
         include_dashboard=None, dashboard_host="127.0.0.1", dashboard_port=None,
         job_config=None, configure_logging=True, logging_level=logging.INFO,
         logging_format=None, logging_config=None, log_to_driver=None, namespace=None,
         runtime_env=None, enable_resource_isolation=False, cgroup_path=None,
         system_reserved_cpu=None, system_reserved_memory=None, proxy_server_url=None,
         deterministic=None, compiled=None, backend=None, **kwargs):
    """Start the reactor runtime for this driver (mirrors ``ray.init``, Ray 2.60.0).

    Args:
        num_cpus (int | None): size of the task worker pool (default: the machine's cores).
        namespace (str | None): namespace of named actors (default: an anonymous one).
        ignore_reinit_error (bool): a second ``init`` is a no-op instead of an error.
        deterministic (bool | None): rayreact only. True (default; else
            ``$RAYREACT_DETERMINISTIC``, "0" or "1", which ``python -m rayreact
            --deterministic`` sets): ``wait`` decides its ready set by logical time
            (submission order) and calls from several callers run in logical order, so runs
            repeat exactly; False: Ray's first-finished and arrival order.
        compiled (bool | None): rayreact only. True (default; else ``$RAYREACT_COMPILED``, set
            by ``python -m rayreact --compiled``): loop bodies the tracer has frozen into a
            reactor graph run in compiled mode; False: every call takes the dynamic path.
        backend (str | None): rayreact only. "auto" (default; else ``$RAYREACT_BACKEND``):
            the reactor runtime, with what it does not support falling back to real Ray;
            "reactor": such constructs raise ``UnsupportedPatternError``; "ray": the whole
            program runs on real Ray (see ``fallback.py``).
        address (str | None): a cluster address ("auto", "ray://...", "host:port") runs the
            whole program on real Ray, connected to that cluster (backend "auto" or "ray").
        Other arguments of ``ray.init`` are accepted and have no effect on one machine (they
            are passed on to Ray when the program, or a fallback, runs there).
    Returns:
        RayContext (dict-like); Ray's context when the program runs on Ray.
    Raises:
        RuntimeError: already initialised (unless ``ignore_reinit_error``), or an unknown
            keyword argument.
        UnsupportedPatternError: backend "reactor" and a construct the reactor runtime
            does not run (a cluster ``address``, a job-wide ``runtime_env``).
    """
    call = dict(locals())
    global _rt, _node
    unknown = set(kwargs) - _INIT_KWARGS
    if unknown:
        raise RuntimeError(f"Unknown keyword argument(s): {', '.join(sorted(unknown))}")
    if _rt is not None:
        if ignore_reinit_error:
            return RayContext(_node) if _node else None
        raise RuntimeError(
            "Maybe you called ray.init twice by accident? This error can be suppressed by "
            "passing in 'ignore_reinit_error=True' or by calling 'ray.shutdown()' prior to "
            "'ray.init()'.")
    if _fb.program_on_ray(backend, address, runtime_env):
        return _fb.init_ray(call)
    if num_cpus is not None and (not isinstance(num_cpus, int) or num_cpus < 0):
        raise ValueError(f"num_cpus must be a non-negative integer, got {num_cpus!r}")
    ncpu = os.cpu_count() or 1
    process_mod.log_to_driver = log_to_driver is not False  # (the workers' prints: output.py)
    process_mod.node_ip(kwargs.get("_node_ip_address"))
    _node = Node(max(1, num_cpus if num_cpus is not None else ncpu),
                 namespace if namespace is not None else str(uuid.uuid4()))  # as Ray's
    _node.cpu_resource = float(num_cpus if num_cpus is not None else ncpu)
    _node.gpu_resource = float(num_gpus or 0)
    _node.custom_resources = dict(resources or {})
    _rt = _node.rt
    _rt.deterministic = _flag(deterministic, DETERMINISTIC_ENV)
    _rt.compiled = _flag(compiled, COMPILED_ENV)
    _rt.tracer = Tracer(_rt)
    set_runtime(_rt)
    _install_exit_handlers()
    _fb.reactor_started(_node, call)
    return RayContext(_node)


_exit_handlers_installed = False


def _install_exit_handlers():
    global _exit_handlers_installed
    if _exit_handlers_installed:
        return
    _exit_handlers_installed = True
    atexit.register(shutdown)
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        def on_term(signum, frame):
            shutdown()
            raise SystemExit(128 + signum)

        signal.signal(signal.SIGTERM, on_term)


def shutdown(*, wait_for_processes=False, _exiting_interpreter=False):
    """End the session: every worker process stops and every shared-memory name is unlinked
    (mirrors ``ray.shutdown``). A no-op when not initialised."""
    global _rt, _node
    global _last_graph
    from rayreact._private import actor as _actor

    _fb.shutdown()
    _actor._scopes.clear()  # the actors of this session end with it
    node, _node = _node, None
    rt, _rt = _rt, None
    set_runtime(None)
    if rt is not None and rt.tracer is not None:
        _last_graph = rt.tracer.graph() or _last_graph  # still shown after shutdown
        rt.tracer = None
        _write_graph_file(_last_graph)
    if node is not None:
        node.stop()
    elif rt is not None:
        pass  # a worker process: its loop ends it


def graph():
    """The reactor graph of the running program (rayreact only; no Ray counterpart).

    Returns:
        ReactorGraph | None: the latest loop body the tracer found (the shortest cycle of
        rounds between synchronisation points that repeats), else the most recent round,
        else None (nothing traced yet, or not initialised). See ``ReactorGraph.to_dot``,
        ``to_mermaid`` and ``write``.
    """
    rt = _rt
    if rt is None or rt.tracer is None:
        return _last_graph
    return rt.tracer.graph()


_last_graph = None
GRAPH_FILE_ENV = "RAYREACT_GRAPH_FILE"  # set by python -m rayreact --graph FILE
# Defaults of init's deterministic= and compiled= (set by python -m rayreact's options of
# the same names, so that an unmodified script can choose them)
DETERMINISTIC_ENV, COMPILED_ENV = "RAYREACT_DETERMINISTIC", "RAYREACT_COMPILED"


def _flag(value, env):
    """init's ``value`` for a rayreact-only switch; None: ``$env`` ("0"/"1"), else True."""
    if value is not None:
        return bool(value)
    text = os.environ.get(env, "1").strip().lower()
    if text not in ("0", "1", "true", "false"):
        raise ValueError(f"${env} must be 0 or 1, got {text!r}")
    return text in ("1", "true")


def _write_graph_file(g):
    """Write the program's reactor graph where ``--graph FILE`` asked (at shutdown)."""
    path = os.environ.get(GRAPH_FILE_ENV)
    if not path or g is None or os.getpid() != _graph_file_pid[0]:
        return
    try:
        kind = g.write(path)
        logger.warning("rayreact: reactor graph written to %s (%s)", path, kind)
    except Exception as e:  # noqa: BLE001 - never fail the user's program for this
        logger.warning("rayreact: could not write the reactor graph to %s: %s", path, e)


_graph_file_pid = [os.getpid()]  # only the driver writes it


def is_initialized():
    """True once ``init`` ran (or a call auto-initialised), until ``shutdown``."""
    if _fb.whole:
        return _fb.call("is_initialized")
    return _rt is not None


def _runtime_or_init():
    """This process's Runtime, started on first use; None if the program runs on Ray."""
    rt = _rt
    if rt is None:
        if _fb.whole:
            return None
        init()
        rt = _rt
    return rt


def _connect_worker(rt):
    """Called by a worker process at start: its Runtime becomes the process's runtime."""
    global _rt
    _rt = rt
    set_runtime(rt)


def _spawn(kind):
    rt = _runtime_or_init()
    if _node is not None:
        return _node.spawn(kind)
    return process_mod.spawn_worker(rt, kind, rt.namespace, rt.num_cpus)


def _kill_proc(proc, pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class _Restart:
    """How to start an actor created with ``max_restarts`` again (driver only)."""

    def __init__(self, left, handle, args, kwargs, frame, name):
        # The handle's fields, not the handle: the record must not keep the actor in scope
        # (when the program drops its handles, _actor_out_of_scope drops the record too).
        self.fields = (handle._proc, handle._pid, handle._class_name, handle._methods,
                       handle._is_async)
        self.left, self.args, self.kwargs, self.frame, self.name = \
            left, args, kwargs, frame, name


def _register_restarts(max_restarts, max_task_retries, handle, args, kwargs, frame, name):
    if _node is not None and max_restarts:
        _node.restartable[handle._proc] = _Restart(max_restarts, handle, args, kwargs, frame,
                                                   name)
        if max_task_retries:
            _node.rt.task_retries[handle._proc] = max_task_retries


def _current_pid(rt, proc, pid):
    """The pid now running actor ``proc`` (it may have been restarted), else ``pid``."""
    try:
        return rt.peer(proc).pid or pid
    except FileNotFoundError:
        return pid


def _actor_out_of_scope(proc, pid):
    """The creator dropped its last handle of an actor (``actor._Scope``): the actor exits
    after the calls already queued, as in Ray."""
    rt = _rt
    if rt is None:
        return
    if _node is not None:
        _node.restartable.pop(proc, None)  # an actor out of scope is not restarted
    from rayreact._private.runtime import EXIT

    rt._send_ctrl(proc, (EXIT,), quiet=True)


# -- objects -------------------------------------------------------------------------------------
def get(object_refs, *, timeout=None):
    """Values of ``object_refs`` (mirrors ``ray.get``).

    Args:
        object_refs: an ObjectRef or a list of ObjectRefs.
        timeout (float | None): seconds to wait at most; None (or a negative number, as in
            Ray) waits forever.
    Returns:
        the value, or a list of values in the order of ``object_refs``.
    Raises:
        ValueError: ``object_refs`` is neither an ObjectRef nor a list of them.
        GetTimeoutError: the timeout passed before every value was ready.
        RayTaskError: the remote code raised (also an instance of the user's exception).
        RayActorError: the actor died before finishing the call.
    """
    if _fb.active and _fb.foreign(object_refs):  # Ray's refs among them
        return _fb.get(object_refs, timeout=timeout)
    rt = _runtime_or_init()
    if rt is None:  # the program runs on Ray
        return _fb.get(object_refs, timeout=timeout)
    if timeout is not None and timeout < 0:  # as Ray 2.60: a negative timeout waits forever
        timeout = None
    if isinstance(object_refs, CompiledDAGRef):
        return object_refs.get(timeout)
    if isinstance(object_refs, list) and object_refs and \
            any(isinstance(r, CompiledDAGRef) for r in object_refs):
        if not all(isinstance(r, CompiledDAGRef) for r in object_refs):
            raise ValueError("Invalid type of object refs. 'object_refs' must be a list of "
                             "CompiledDAGRefs if there is any CompiledDAGRef within it. ")
        return [r.get(timeout) for r in object_refs]  # (as Ray 2.60)
    single = isinstance(object_refs, ObjectRef)
    if single:
        object_refs = [object_refs]
    if not isinstance(object_refs, list):
        raise ValueError(
            f"Invalid type of object refs, {type(object_refs)}, is given. "
            "'object_refs' must either be an ObjectRef or a list of ObjectRefs. ")
    for r in object_refs:
        if not isinstance(r, ObjectRef):
            raise TypeError(f"Attempting to call `get` on the value {r!r}, which is not an "
                            "ray.ObjectRef.")
    values = rt.get(object_refs, timeout)
    return values[0] if single else values


def put(value, *, _owner=None):
    """Store ``value`` and return an ObjectRef to it (mirrors ``ray.put``).

    Raises:
        TypeError: ``value`` is an ObjectRef, or cannot be pickled.
    """
    if _owner is not None:
        raise ValueError("The experimental `_owner` argument to `ray.put` has been removed in "
                         "Ray 2.56.")
    rt = _runtime_or_init()
    if rt is None:  # the program runs on Ray
        return _fb.call("put", value)
    if _fb.active:  # Ray's refs or handles inside the value cross here
        value = _fb.to_reactor((value,), {})[0][0]
    if isinstance(value, ObjectRef):
        raise TypeError("Calling 'put' on an ray.ObjectRef is not allowed. If you really want "
                        "to do this, you can wrap the ray.ObjectRef in a list and call 'put' "
                        "on it.")
    return rt.put(value)


def wait(ray_waitables, *, num_returns=1, timeout=None, fetch_local=True):
    """Split refs into ready and not ready (mirrors ``ray.wait``).

    Args:
        ray_waitables (list[ObjectRef]): unique refs.
        num_returns (int): return once this many are ready (1 <= num_returns <= len).
        timeout (float | None): seconds to wait at most; 0 polls.
    Returns:
        (ready, not_ready): two lists of ObjectRef, each in input order; ``ready`` holds at
        most ``num_returns`` refs.
    Raises:
        TypeError: not a list, or a list holding something other than ObjectRefs.
        ValueError: duplicates, num_returns out of range, or a negative timeout.
    """
    if _fb.active and _fb.foreign(ray_waitables):  # Ray's refs among them
        return _fb.wait(ray_waitables, num_returns, timeout, fetch_local)
    rt = _runtime_or_init()
    if rt is None:  # the program runs on Ray
        return _fb.wait(ray_waitables, num_returns, timeout, fetch_local)
    if isinstance(ray_waitables, ObjectRef):
        raise TypeError("wait() expected a list of ray.ObjectRef or ray.ObjectRefGenerator, "
                        f"got a single ray.ObjectRef or ray.ObjectRefGenerator {ray_waitables}")
    if not isinstance(ray_waitables, list):
        raise TypeError("wait() expected a list of ray.ObjectRef or ray.ObjectRefGenerator, "
                        f"got {type(ray_waitables)}")
    if timeout is not None and timeout < 0:
        raise ValueError(f"The 'timeout' argument must be nonnegative. Received {timeout}")
    for r in ray_waitables:
        if not isinstance(r, ObjectRef):
            raise TypeError("wait() expected a list of ray.ObjectRef or ray.ObjectRefGenerator,"
                            f" got list containing {type(r)}")
    if not ray_waitables:
        return [], []
    if len(ray_waitables) != len(set(ray_waitables)):
        raise ValueError("Wait requires a list of unique ray_waitables.")
    if num_returns <= 0:
        raise ValueError("Invalid number of objects to return %d." % num_returns)
    if num_returns > len(ray_waitables):
        raise ValueError("num_returns cannot be greater than the number of ray_waitables "
                         "provided to ray.wait.")
    return rt.wait(ray_waitables, num_returns, timeout)


def kill(actor, *, no_restart=True):
    """End the actor's process at once (mirrors ``ray.kill``); its pending and later calls
    raise ``ActorDiedError``. With ``no_restart=False``, an actor created with
    ``max_restarts`` that has restarts left is started again: its pending calls raise
    ``ActorUnavailableError`` and later ones run on the new process.

    Raises:
        ValueError: ``actor`` is not an actor handle.
    """
    if _fb.active and not isinstance(actor, ActorHandle):  # Ray's handle
        return _fb.kill(actor, no_restart=no_restart)
    rt = _runtime_or_init()
    if rt is None:  # the program runs on Ray
        return _fb.kill(actor, no_restart=no_restart)
    if not isinstance(actor, ActorHandle):
        raise ValueError("ray.kill() only supported for actors. For tasks, try ray.cancel(). "
                         f"Got: {type(actor)}.")
    if _node is not None and no_restart:
        _node.restartable.pop(actor._proc, None)
        rt.task_retries.pop(actor._proc, None)
    pid = _current_pid(rt, actor._proc, actor._pid)
    r = _node.restartable.get(actor._proc) if _node is not None and not no_restart else None
    if r is not None and r.left != 0:
        rt.restarting[actor._proc] = pid  # later calls wait for the new process
    _kill_proc(actor._proc, pid)
    if r is None:
        rt.mark_dead(actor._proc, pid)


def cancel(ray_waitable, *, force=False, recursive=True):
    """Cancel a task (mirrors ``ray.cancel``, Ray 2.x): a queued task never runs and ``get``
    raises ``TaskCancelledError``; a running one gets a ``KeyboardInterrupt`` and ``get``
    raises ``RayTaskError(TaskCancelledError)``; ``force=True`` kills the worker running it
    instead. An actor call not started yet is dropped. ``recursive`` is accepted; the tasks a
    cancelled task submitted are not cancelled.

    Raises:
        TypeError: the argument is not an ObjectRef.
        ValueError: ``force=True`` for an actor task.
    """
    if _fb.active and not isinstance(ray_waitable, ObjectRef):  # Ray's ref
        return _fb.cancel(ray_waitable, force=force, recursive=recursive)
    rt = _runtime_or_init()
    if rt is None:  # the program runs on Ray
        return _fb.cancel(ray_waitable, force=force, recursive=recursive)
    if not isinstance(ray_waitable, ObjectRef):
        raise TypeError("ray.cancel() only supported for object refs. For actors, try "
                        f"ray.kill(). Got: {type(ray_waitable)}.")
    e = rt.table.get(ray_waitable._id)
    if force and e is not None and e.watch:
        raise ValueError("force=True is not supported for actor tasks.")
    rt.cancel(ray_waitable, force, rt._pool())


# -- introspection -------------------------------------------------------------------------------
def _resources():
    rt = _runtime_or_init()
    node = _node
    cpus = float(node.cpu_resource) if node else float(rt.num_cpus)
    res = {"CPU": cpus, "memory": float(psutil.virtual_memory().total),
           "object_store_memory": float(psutil.virtual_memory().total // 4),
           **node_resources()}
    if node and node.gpu_resource:
        res["GPU"] = node.gpu_resource
    if node:
        res.update({k: float(v) for k, v in node.custom_resources.items()})
    return res


def node_resources():
    """Ray's resources that name this node: ``node:<its IP>`` and ``node:__internal_head__``
    (it is the head node), 1.0 each, as Ray 2.60 lists them; tasks pin themselves to a node
    with a small amount of them (``resources={f"node:{ip}": 0.01}``)."""
    return {f"node:{_node_ip()}": 1.0, "node:__internal_head__": 1.0}


def _node_ip():
    return process_mod.node_ip()


def cluster_resources():
    """Total resources of this one-node "cluster" (mirrors ``ray.cluster_resources``)."""
    if _runtime_or_init() is None:  # the program runs on Ray
        return _fb.call("cluster_resources")
    return _resources()


def available_resources():
    """Resources not in use (mirrors ``ray.available_resources``). rayreact does not reserve
    resources for running tasks, so this equals ``cluster_resources()``."""
    if _runtime_or_init() is None:  # the program runs on Ray
        return _fb.call("available_resources")
    return _resources()


def nodes():
    """One entry, this machine (mirrors ``ray.nodes`` of Ray 2.60, with its keys).

    Returns:
        list with one dict: ``NodeID`` (hex str), ``Alive``/``alive`` (True),
        ``NodeManagerAddress`` and ``NodeName`` (the node's IP, as
        ``ray.util.get_node_ip_address()``), ``NodeManagerHostname``, ``Resources``
        (``cluster_resources()``), ``Labels`` (``{"ray.io/node-id": NodeID}``), ``DeathReason``
        (0) and ``DeathReasonMessage`` (""); rayreact listens on no port and has no socket
        files, so every ``*Port`` is -1 (Ray's value for a port not in use) and the
        ``*SocketName`` entries are "".
    """
    rt = _runtime_or_init()
    if rt is None:  # the program runs on Ray
        return _fb.call("nodes")
    node_id = f"{int(rt.session, 16):056x}"
    ports = dict.fromkeys(("DashboardAgentListenPort", "MetricsAgentPort", "MetricsExportPort",
                           "NodeManagerPort", "ObjectManagerPort", "RuntimeEnvAgentPort"), -1)
    return [{"NodeID": node_id, "Alive": True, "NodeManagerAddress": _node_ip(),
             "NodeManagerHostname": os.uname().nodename, "NodeName": _node_ip(),
             "Resources": _resources(), "Labels": {"ray.io/node-id": node_id},
             "DeathReason": 0, "DeathReasonMessage": "", "ObjectStoreSocketName": "",
             "RayletSocketName": "", **ports, "alive": True}]


def get_node_ip_address(address=None):
    """This node's IP address (mirrors ``ray.util.get_node_ip_address`` of Ray 2.60): the
    address in ``ray.nodes()`` and in the ``node:<ip>`` resource. ``address`` ("host:port")
    is accepted as Ray accepts it; the one node's address does not depend on it.

    Returns:
        str
    """
    if _fb.whole:
        return _fb.ray_module().util.get_node_ip_address(address)
    return _node_ip()


def timeline(filename=None):
    """Ray's task timeline; rayreact records none and returns an empty list."""
    if _fb.whole:
        return _fb.call("timeline", filename)
    return []


_ACCELERATORS = ("GPU", "TPU", "NPU", "HPU", "neuron_cores", "RBLN", "MBLT", "TTNPU", "FURIOSA")


_NOT_A_WORKER = "This method is only available when the process is a worker. Current mode: 0"
_DEPRECATED = ("This API is deprecated and may be removed in future Ray releases. You could "
               "suppress this warning by setting env variable "
               'PYTHONWARNINGS="ignore::DeprecationWarning"')


def _deprecated(advice):
    """Ray's RayDeprecationWarning for a deprecated RuntimeContext member, at the user's line."""
    warnings.warn(f"{_DEPRECATED}\n{advice}", exc.RayDeprecationWarning, stacklevel=3)


class RuntimeContext:
    """What ``get_runtime_context()`` returns (mirrors Ray 2.60's
    ``ray.runtime_context.RuntimeContext``): the job, node, actor and running call.

    The running call is read when asked (``Runtime.current_call``, a concurrent actor's
    ``CONCURRENT_CALL``): running a call only stores its control tuple, and names are made
    here. Ray's deprecated members (``get()``, the ``*_id`` properties,
    ``current_placement_group_id``, ``get_resource_ids()``) issue its RayDeprecationWarning.
    """

    def __init__(self, rt):
        self._rt = rt

    def _call(self):
        """The running call: a CALL's control tuple, (tag, node) of a compiled reaction, or
        None (the driver; between calls)."""
        return CONCURRENT_CALL.get() or self._rt.current_call

    def get_job_id(self):
        """The job id, hex (str) (mirrors Ray 2.60's RuntimeContext.get_job_id)."""
        return self._rt.job_id

    def get_node_id(self):
        """This node's id, 56 hex digits (mirrors Ray 2.60's RuntimeContext.get_node_id)."""
        return f"{int(self._rt.session, 16):056x}"

    def get_worker_id(self):
        """This process's id, 56 hex digits (mirrors Ray 2.60's RuntimeContext.get_worker_id)."""
        return f"{self._rt.proc:056x}"

    def get_actor_id(self):
        """The current actor's id, 32 hex digits; None outside actors (mirrors Ray 2.60's
        RuntimeContext.get_actor_id)."""
        a = self._rt.current_actor
        return None if a is None else f"{a:032x}"

    def get_task_id(self):
        """The running call's id, 48 hex digits (str): a task's, an actor call's (its
        ``__init__`` too, and compiled reactions'); None in the driver (mirrors Ray 2.60's
        RuntimeContext.get_task_id, which also logs a warning there)."""
        call = self._call()
        if call is None:
            return None
        if len(call) == 2:  # a compiled reaction: graph, node and tag make the call's id
            tag, node = call
            return f"{node.gid:016x}{node.index:08x}{tag:024x}"
        return f"{call[2]:048x}"

    def get_task_name(self):
        """The running call's name (str): a task's is its function's ``__name__``, an actor
        call's ``"Class.method"`` (``"Class.__init__"`` in the constructor), unless the call
        was made with ``.options(name=...)``; None in the driver (mirrors Ray 2.60's
        RuntimeContext.get_task_name, which also logs a warning there)."""
        return self._names()[0]

    def get_task_function_name(self):
        """The running call's fully qualified function (str), as Ray 2.60 names it (mirrors
        its RuntimeContext.get_task_function_name): ``"module.function"`` for a task,
        ``"module.Class.method"`` for an actor call; a nested function or class counts by its
        own name, without the enclosing ones, except an async actor's class, named by its
        ``__qualname__`` (``"module.f.<locals>.Class.method"``). The module is the
        ``__module__``, or for the program's script the file's name without ``.py``. None in
        the driver."""
        return self._names()[1]

    def _names(self):
        """(task name, function name) of the running call, or (None, None)."""
        rt = self._rt
        call = self._call()
        if call is None:
            return None, None
        if len(call) == 2:  # a compiled reaction: (tag, node)
            node = call[1]
            return node.label, f"{rt.actor_qualname}.{node.method}"
        if rt.kind == "actor":
            method = call[4]
            own = call[6] if type(call[6]) is str else None  # (__init__'s: creation details)
            return (own or f"{rt.current_actor_handle._class_name}.{method}",
                    f"{rt.actor_qualname}.{method}")
        fn = rt.function_cache[call[5]]
        return call[6] or fn.__name__, f"{ray_module_name(fn)}.{fn.__name__}"

    def is_canceled(self):
        """Whether ``ray.cancel`` was called on the running call (bool), for code that checks
        it to stop gracefully: a task (after its KeyboardInterrupt), a call of a sync or
        threaded actor (mirrors Ray 2.60's RuntimeContext.is_canceled).

        Raises:
            RuntimeError: in the driver, or in an async actor (whose calls Ray cancels as
                asyncio tasks).
        """
        rt = self._rt
        if rt.kind == "driver":
            raise RuntimeError(_NOT_A_WORKER)
        handle = rt.current_actor_handle
        if handle is not None and handle._is_async:
            raise RuntimeError("This method is not supported in an async actor.")
        call = self._call()
        if call is None or len(call) == 2:  # (compiled reactions are not cancelled one by one)
            return False
        with rt.lock:  # the CANCEL may wait in the inbox, read only inside the runtime
            rt._drain_if_reader()
        return call[2] in rt.cancelled

    def get_actor_name(self):
        """The current actor's name: ``""`` in an actor without one, None outside actors
        (mirrors Ray 2.60's RuntimeContext.get_actor_name)."""
        rt = self._rt
        if rt is None or rt.kind != "actor":
            return None
        return getattr(rt, "actor_name", None) or ""

    def get_namespace(self):
        return self._rt.namespace

    def get_assigned_resources(self):
        """Resources the running task or actor holds, as Ray 2.60 reports them with default
        options: ``{"CPU": 1.0}`` in a task, ``{}`` in an actor (an actor holds no CPU while
        it runs). rayreact does not send a task's own ``num_cpus`` to its worker, so a task
        with other resource options still sees ``{"CPU": 1.0}``.

        Raises:
            AssertionError: in the driver, as Ray (only workers hold resources).
        """
        rt = self._rt
        if rt.kind == "driver":
            raise AssertionError(_NOT_A_WORKER)
        return {} if rt.current_actor is not None else {"CPU": 1.0}

    def get_accelerator_ids(self):
        """Accelerator ids assigned to this worker, per kind (none on this node), with
        Ray 2.60's kinds as keys."""
        return {k: [] for k in _ACCELERATORS}

    def get_resource_ids(self):
        """Deprecated alias of ``get_accelerator_ids()`` (mirrors Ray 2.60's
        RuntimeContext.get_resource_ids: a RayDeprecationWarning)."""
        _deprecated("Use get_accelerator_ids() instead")
        return self.get_accelerator_ids()

    def get_placement_group_id(self):
        """None: rayreact's reactor runtime has no placement groups (they fall back to Ray)."""
        return None

    def get_node_labels(self):
        """This node's labels (dict): Ray's built-in ``{"ray.io/node-id": <node id>}``
        (mirrors Ray 2.60's RuntimeContext.get_node_labels; ``init(labels=...)`` is not
        added: label scheduling runs on Ray)."""
        return {"ray.io/node-id": self.get_node_id()}

    def get_temp_dir(self):
        """A directory for this node's temporary files (str), created if missing:
        ``<tempfile.gettempdir()>/rayreact`` (Ray 2.60's RuntimeContext.get_temp_dir gives
        its session root, ``/tmp/ray``; rayreact keeps its own files in /dev/shm and does not
        take ``init(_temp_dir=...)``)."""
        path = os.path.join(tempfile.gettempdir(), "rayreact")
        os.makedirs(path, exist_ok=True)
        return path

    def get_session_name(self):
        """The session's name (str), the same in every process of the session:
        ``"session_<session id>"`` (mirrors Ray 2.60's RuntimeContext.get_session_name,
        whose names are ``session_<date>_<time>_<pid>``)."""
        return f"session_{self._rt.session}"

    def get_runtime_env_string(self):
        """``"{}"``: a call on this runtime has no runtime_env (one with a ``runtime_env``
        runs on Ray) (mirrors Ray 2.60's RuntimeContext.get_runtime_env_string)."""
        return "{}"

    @property
    def runtime_env(self):
        """``{}``, an empty dict (Ray 2.60's RuntimeContext.runtime_env is an empty
        ``RuntimeEnv``, a dict, equal to it): see ``get_runtime_env_string``."""
        return {}

    @property
    def gcs_address(self):
        """None: rayreact's runtime has no GCS, so there is no cluster address to connect to
        (Ray 2.60's RuntimeContext.gcs_address gives ``"ip:port"``). A program that needs
        one runs on Ray: ``init(address=...)``."""
        return None

    @property
    def namespace(self):
        return self._rt.namespace

    @property
    def current_actor(self):
        a = self._rt.current_actor_handle
        if a is None:
            raise RuntimeError("This method is only available in an actor.")
        return a

    # -- Ray's deprecated members ----------------------------------------------------------
    def get(self):
        """``{"job_id", "node_id", "namespace"}``, plus in a worker ``"task_id"`` and, in an
        actor, ``"actor_id"`` (ID objects) (mirrors Ray 2.60's deprecated RuntimeContext.get:
        RayDeprecationWarning)."""
        _deprecated("Use get_xxx_id() methods to get relevant ids instead")
        context = {"job_id": self.job_id, "node_id": self.node_id, "namespace": self.namespace}
        if self._rt.kind != "driver":
            task_id, actor_id = self.task_id, self.actor_id
            if task_id is not None:
                context["task_id"] = task_id
            if actor_id is not None:
                context["actor_id"] = actor_id
        return context

    @property
    def job_id(self):
        """The job's ``JobID`` (mirrors Ray 2.60's deprecated RuntimeContext.job_id)."""
        _deprecated("Use get_job_id() instead")
        return JobID(self.get_job_id())

    @property
    def node_id(self):
        """This node's ``NodeID`` (mirrors Ray 2.60's deprecated RuntimeContext.node_id)."""
        _deprecated("Use get_node_id() instead")
        return NodeID(self.get_node_id())

    @property
    def task_id(self):
        """The running call's ``TaskID`` (mirrors Ray 2.60's deprecated
        RuntimeContext.task_id).

        Raises:
            AssertionError: in the driver, as Ray.
        """
        _deprecated("Use get_task_id() instead")
        if self._rt.kind == "driver":
            raise AssertionError(_NOT_A_WORKER)
        t = self.get_task_id()
        return None if t is None else TaskID(t)

    @property
    def actor_id(self):
        """The current actor's ``ActorID``, None in a task (mirrors Ray 2.60's deprecated
        RuntimeContext.actor_id).

        Raises:
            AssertionError: in the driver, as Ray.
        """
        _deprecated("Use get_actor_id() instead")
        if self._rt.kind == "driver":
            raise AssertionError(_NOT_A_WORKER)
        a = self.get_actor_id()
        return None if a is None else ActorID(a)

    @property
    def current_placement_group_id(self):
        """The nil ``PlacementGroupID``: no placement groups here (mirrors Ray 2.60's
        deprecated RuntimeContext.current_placement_group_id)."""
        _deprecated("Use get_placement_group_id() instead")
        return PlacementGroupID.nil()

    @property
    def should_capture_child_tasks_in_placement_group(self):
        """False: no placement group to capture (mirrors Ray 2.60, which gives False outside
        placement groups, in the driver too)."""
        return False

    @property
    def was_current_actor_reconstructed(self):
        return self._rt.reconstructed


def get_runtime_context():
    """The ``RuntimeContext`` of this driver, task or actor (mirrors Ray 2.60's
    ``ray.get_runtime_context``); Ray's when the program runs on Ray."""
    rt = _runtime_or_init()
    if rt is None:  # the program runs on Ray
        return _fb.call("get_runtime_context")
    return RuntimeContext(rt)


def get_gpu_ids():
    if _fb.whole:
        return _fb.call("get_gpu_ids")
    return []
