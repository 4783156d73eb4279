"""The per-process core of the reactor runtime: object table, submission, get/wait, the inbox.

Every process of a session (the driver, each actor, each task worker) has one ``Runtime``::

      driver process                                actor process (one reactor)
      +-------------------------+   CALL            +---------------------------+
      | user code               | ----------------> | inbox (Channel in shm)    |
      |   .remote() -> submit() |                   |   worker loop: run the    |
      |   get()/wait() -> pump  | <---------------- |   reaction (method), send |
      | object table: id ->     |   RESULT          |   RESULT to the caller    |
      |   value frame | pending |                   +---------------------------+
      | inbox (Channel in shm)  |   CALL (task)     task queue (Channel, many readers)
      +-------------------------+ ----------------> pool of task worker processes

* ``submit`` is the one place every call passes through: it knows the caller, the target
  reactor (an actor or the task pool), the reaction (method or function) and where each argument
  comes from (a constant, a ready value in this process, or the output of a pending call). The
  tracer of the compiled mode hooks in here.
* Results go back to the *owner* (the caller) and are kept serialised: each ``get``
  deserialises afresh, so objects are immutable and NumPy arrays are read-only views.
* A process only reads its inbox when it is inside the runtime (``get``, ``wait``, ``put``,
  ``submit``, or idle in the worker loop): no thread, lock or busy loop on the hot path. Waits
  sleep on the inbox's doorbell semaphore and wake every ``_LIVENESS_PERIOD`` seconds to check
  that the processes they wait on are alive, so a dead actor fails its calls instead of hanging.

Borrowing: an ``ObjectRef`` pickled into a message is an *export*. The owner counts exports; a
borrower counts *imports* (one per message that carried the ref) and, when its last local ref
is gone, sends ``DECREF(id, imports)``. A borrower that passes a ref on first sends ``ADDREF``
to the owner, so the count can never reach zero early (the owner's inbox is FIFO).
"""

import contextvars
import itertools
import os
import pickle
import signal
import threading
import time
import traceback

import psutil

from rayreact import exceptions as exc
from rayreact._private import determinism
from rayreact._private import refs as refs_mod
from rayreact._private import serialization as ser
from rayreact._private.channel import IDLE, SPINNING, Channel, ChannelClosed
from rayreact._private.refs import ObjectRef, owner_of
from rayreact._private.slots import c_paths

# Message kinds (first element of every control tuple).
CALL, RESULT, GET_OBJECT, OBJECT, ADDREF, DECREF, EXIT, CANCEL, DONE, WATERMARK_REQ, \
    WATERMARK, NEED_WORKER = range(12)
_LOW64 = (1 << 64) - 1
CRASHED = 2  # the error flag of a RESULT the driver sends for a task whose worker died
_MAX_REQUEUE = 64  # queued tasks a blocked worker looks past per look (_help_with_a_task)
_NEED_WORKER_PERIOD = 0.25  # seconds between a blocked task worker's asks for a free one
_RESTART_WAIT = 30.0  # seconds a call to retry waits for its actor to be restarted

_LIVENESS_PERIOD = 0.1  # seconds between liveness checks while blocked
_SPIN = 50e-6  # seconds a blocked get polls its inbox before sleeping (see Channel.wait)


def inbox_name(proc: int) -> str:
    return f"in_{proc:08x}"


class _Inline:
    """Argument marker: the value is frame ``k`` of the message (a ref the caller had)."""

    __slots__ = ("k",)

    def __init__(self, k):
        self.k = k

    def __reduce__(self):
        return (_Inline, (self.k,))


class _Pending:
    """Argument marker: a top-level ref whose value the callee fetches before running."""

    __slots__ = ("oid",)

    def __init__(self, oid):
        self.oid = oid

    def __reduce__(self):
        return (_Pending, (self.oid,))


class _Entry:
    """One object in the table. ``frame`` is None while the value is pending or not fetched."""

    __slots__ = ("frame", "error", "local", "exports", "imports", "waiters", "watch",
                 "holders", "requested", "pins", "slot")

    def __init__(self):
        self.frame = None
        self.error = False
        self.local = 0
        self.exports = 0
        self.imports = 0
        self.waiters = None
        self.watch = 0  # pid of the process producing the value (0: a task; the pool reports)
        self.holders = None  # refs contained in the value: kept alive with it
        self.requested = False
        self.pins = None  # refs passed as arguments of the pending call: kept until it ends
        self.slot = None  # (out-slot, tag, k, key): a compiled output, read on demand


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return True
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


#: The call a thread or asyncio task of a concurrent actor runs (``Runtime.current_call``
#: of that thread or task).
CONCURRENT_CALL = contextvars.ContextVar("rayreact_concurrent_call", default=None)


class Runtime:
    """The runtime of one process. See the module docstring for the data path."""

    def __init__(self, session, proc, kind, driver_pid, inbox=None):
        self.session = session
        self.proc = proc  # this process's reactor id (32-bit)
        self.kind = kind  # "driver", "actor" or "task"
        self.driver_pid = driver_pid
        self.inbox = inbox or Channel(session, inbox_name(proc))
        self.table = {}
        self._counter = itertools.count(1)
        self._base = proc << 64
        self._peers = {}  # proc -> Channel (other processes' inboxes)
        self._tasks = None  # the task queue channel
        self._pool = None  # callable returning [(proc, pid)] of task workers
        # CALLs that arrived while a reaction was running: call id -> (ctrl, frames), in
        # arrival order
        self.deferred_calls = {}
        self.cancelled = set()
        self.current_actor = None  # ActorHandle of this process's actor (actors only)
        self.function_cache = {}
        self.namespace = None
        self.job_id = "01000000"
        self.lock = threading.RLock()
        self.helps_with_tasks = kind == "task"
        self.run_task = None  # set by the worker loop: runs one task message inline
        self.dead = set()  # procs known dead
        self.held_tasks = []  # tasks waiting for their arguments (see submit)
        self._spin = _SPIN
        self._wake_next = 0  # the pool worker wake_pool tries first
        # Threaded and async actors: one dispatcher thread reads the inbox; other threads
        # blocked in get/wait sleep on this condition, notified after each message.
        self.threaded = False
        self.cond = threading.Condition(self.lock)
        self.num_cpus = 1
        self.current_actor_handle = None
        # The call running in this process (get_runtime_context reads it): a CALL's control
        # tuple, or (tag, node) for a compiled reaction; None between calls and in the driver.
        # A concurrent actor's threads and asyncio tasks keep theirs in CONCURRENT_CALL.
        self.current_call = None
        self.actor_name = None
        self.actor_qualname = None  # Ray's name of the actor's class (ActorClass._qualname)
        self.reconstructed = False  # an actor started again after its process died
        self.exiting = False  # ray.actor.exit_actor() was called (atexit handlers run)
        self.deterministic = True  # wait() decides by logical time (see wait)
        self.waits_by_arrival = False  # a wait gave up on logical order: all do (see wait)
        self.compiled = True  # frozen reactor graphs may run in compiled mode
        self.tracer = None  # the driver's Tracer (see tracer.py); None in workers
        self.trigger_queues = {}  # actor proc -> TriggerQueue (driver, compiled graphs)
        self.unwoken = []  # inboxes of actors triggered but not yet woken
        # Calls from several callers, ordered by logical tag (determinism.py):
        self.completion = determinism.Completion(self, driver=kind == "driver")
        self.driver_proc = proc if kind == "driver" else None  # (workers: set at start)
        self.call_order = None  # an actor's CallOrder
        self.retries = {}  # call id -> [call, retries left]: to run again if its process dies
        self.task_retries = {}  # driver: actor proc -> its max_task_retries (restartable ones)
        self.on_need_worker = None  # driver: starts an extra task worker (api.Node)
        self._need_worker_at = 0.0
        self._refusing_since = None  # when a blocked task worker began refusing queued tasks
        self._awaiting_restart = {}  # call id -> since when it waits for its actor's restart
        # Driver: actors created with max_restarts (api.Node's records: proc -> api._Restart);
        # those being restarted (proc -> the pid that died; calls to them wait); the pid whose
        # death each was last restarted after; the procs of their processes' pids
        self.restartable = {}
        self.restarting = {}
        self.restarted = {}
        self._restart_pids = {}

    # -- ids and refcounts ---------------------------------------------------------------------
    def new_id(self) -> int:
        return self._base | next(self._counter)

    def _incref(self, oid):
        e = self.table.get(oid)
        if e is None:
            e = self.table[oid] = _Entry()
        e.local += 1

    def _decref(self, oid):
        e = self.table.get(oid)
        if e is None:
            return
        e.local -= 1
        if e.local <= 0:
            self._maybe_free(oid, e)

    def _maybe_free(self, oid, e):
        if e.local > 0 or e.exports > 0:
            return
        del self.table[oid]
        owner = owner_of(oid)
        if owner != self.proc and e.imports:
            self._send_ctrl(owner, (DECREF, oid, e.imports), quiet=True)

    # -- peers ---------------------------------------------------------------------------------
    def peer(self, proc) -> Channel:
        ch = self._peers.get(proc)
        if ch is None:
            if proc == self.proc:
                return self.inbox
            ch = self._peers[proc] = Channel(self.session, inbox_name(proc))
        return ch

    def _send(self, proc, ctrl, frames=(), quiet=False):
        """Send one message: a control tuple plus value frames (inline or via segments)."""
        try:
            ch = self.peer(proc)
        except FileNotFoundError:
            if quiet:
                return
            raise ChannelClosed(inbox_name(proc))
        self._send_on(ch, ctrl, frames, quiet)

    def _send_on(self, ch, ctrl, frames, quiet=False):
        descs, pieces, size = [], [], 0
        for f in frames:
            if f.segment is not None:
                f.mark_shared()
                descs.append((f.segment, False))
            elif f.nbytes > min(ser.SEGMENT_THRESHOLD, ch.max_record // 2):
                name = f.to_segment(f"{self._seg_prefix()}{next(self._counter):x}")
                descs.append((name, True))
            else:
                ps, n = f.pieces()
                pieces.extend(ps)
                descs.append(n)
                size += n
        head = ser.dumps((ctrl, descs))
        hlen = len(head)
        pad = (-(4 + hlen)) % 8
        pieces[:0] = [hlen.to_bytes(4, "little"), head, bytes(pad)]
        size += 4 + hlen + pad
        pid = ch.pid
        try:
            ch.send(pieces, size, lambda: pid_alive(pid),
                    None if ch is self.inbox else self._drain_if_reader)
        except ChannelClosed:
            if not quiet:
                raise

    def _send_ctrl(self, proc, ctrl, quiet=False):
        self._send(proc, ctrl, (), quiet)

    def _seg_prefix(self):
        return f"rr_{self.session}_o{self.proc:08x}_"

    @staticmethod
    def _decode(data):
        """Split a received record into (ctrl, frames)."""
        mv = memoryview(data)
        hlen = int.from_bytes(mv[:4], "little")
        ctrl, descs = pickle.loads(mv[4:4 + hlen])
        pos = (4 + hlen + 7) & ~7
        frames = []
        for d in descs:
            if isinstance(d, int):
                frames.append(ser.decode(mv[pos:pos + d]))
                pos += d
            else:
                frames.append(ser.open_frame(d[0], d[1]))
        return ctrl, frames

    # -- exports (refs leaving this process inside a frame) ---------------------------------
    def _export(self, oids):
        for oid in oids:
            owner = owner_of(oid)
            if owner == self.proc:
                e = self.table.get(oid)
                if e is None:
                    e = self.table[oid] = _Entry()
                elif e.frame is None and e.slot is not None:
                    self._await(oid, None)  # a compiled output leaves the driver: read it
                e.exports += 1
            else:
                self._send_ctrl(owner, (ADDREF, oid, 1), quiet=True)

    def _import(self, oids):
        """A message carried refs ``oids``: account for them; return holders keeping them."""
        holders = []
        for oid in oids:
            if owner_of(oid) == self.proc:
                holders.append(ObjectRef(oid))
                e = self.table[oid]
                e.exports -= 1
            else:
                holders.append(ObjectRef(oid))
                self.table[oid].imports += 1
        return holders

    # -- submission: the one place every call passes through --------------------------------
    def submit(self, target, method, args, kwargs, num_returns, fn_frame=None, fn_key=None,
               name=None, retries=0):
        """Send one call to ``target`` and return its result refs.

        Args:
            target: an ``ActorHandle`` (the reactor that runs the reaction ``method``) or None
                for the task pool (``fn_frame`` and ``fn_key`` then name the function).
            method: the reaction: a method name, or the function's qualified name.
            args, kwargs: the call's arguments; top-level ``ObjectRef`` s are resolved before
                the call runs, nested ones are passed as refs.
            num_returns: number of result refs (0, 1 or more).
            retries: tasks only: how many times to run the task again if its worker process
                dies while running it (Ray's ``max_retries``; -1: without end).
        Returns:
            list[ObjectRef] of length ``num_returns``.
        """
        tracer = self.tracer
        if tracer is not None:
            refs = tracer.submit(target, method, args, kwargs, num_returns, fn_key, name)
            if refs is not None:
                return refs
        ret_ids = [self.new_id() for _ in range(num_returns)]
        if tracer is not None:
            tracer.made(ret_ids)
        first = ret_ids[0] if ret_ids else self.new_id()
        refs = [ObjectRef(i) for i in ret_ids]
        comp = self.completion
        running = comp.stack  # (a worker: the reactions it is running; the driver: none)
        call = (target, method, args, kwargs, num_returns, fn_frame, fn_key, name, first, ret_ids,
                comp.child_order(target) if running and running[-1] is not None else None)
        if target is None:
            if retries:
                self.retries[first] = [call, retries]
        elif self.task_retries:  # an actor created with max_restarts and max_task_retries
            n = self.task_retries.get(target._proc)
            if n:
                self.retries[first] = [call, n]
        if comp.active:
            comp.open_root(first & _LOW64, target)
        if target is None and self._has_unready_args(args, kwargs):
            # A task starts only once its arguments are ready (as Ray's owner-side dependency
            # resolution): then no pool worker ever blocks waiting for an argument, so a chain
            # of dependent tasks cannot fill the pool with waiting workers.
            with self.lock:
                self.held_tasks.append(call)
                for a in itertools.chain(args, kwargs.values()):
                    if type(a) is ObjectRef:
                        self._request(a._id)
        else:
            if self.restarting and target._proc in self.restarting:
                self._await_restart(target._proc)
            with self.lock:
                self._send_call(call)
        if not self.threaded:
            with self.lock:
                self._drain()
        return refs

    def _has_unready_args(self, args, kwargs):
        for a in (itertools.chain(args, kwargs.values()) if kwargs else args):
            if type(a) is ObjectRef:
                e = self.table.get(a._id)
                if e is None or e.frame is None:
                    return True
        return False

    def _release_held_tasks(self):
        """Send every held task whose arguments are now ready (in submission order)."""
        held, self.held_tasks = self.held_tasks, []
        for call in held:
            args, kwargs, ret_ids = call[2], call[3], call[9]
            if self._has_unready_args(args, kwargs):
                self.held_tasks.append(call)
                continue
            failed = next((a for a in itertools.chain(args, kwargs.values())
                           if type(a) is ObjectRef and self.table[a._id].error), None)
            if failed is not None:  # the argument's error becomes the result, as in Ray
                for oid in ret_ids:
                    e = self.table.get(oid)
                    if e is not None and e.frame is None:
                        e.frame, e.error, e.pins = self.table[failed._id].frame, True, None
                        self._wake_waiters(oid, e)
                self._call_lost(call[10] if call[10] is not None else ((call[8] & _LOW64,),))
                self.retries.pop(call[8], None)
                continue
            self._send_call(call)

    def _send_call(self, call):
        (target, method, args, kwargs, num_returns, fn_frame, fn_key, name, first, ret_ids,
         order) = call
        frames, pins = [], None
        comp = self.completion
        passed = comp.passed
        if args or kwargs:
            args, kwargs, pins = self._arg_sources(args, kwargs, frames)
            argf = ser.serialize_args(args, kwargs)
            if type(argf) is bytes:  # (the common call: plain values only)
                argf = ser.Frame(argf, [])
            elif type(argf) is not ser.Frame:  # (may start ordering: a handle leaves)
                argf = ser.serialize((args, kwargs))
        else:
            argf = _EMPTY_ARGS
        if self.tracer is not None and target is not None and (
                comp.passed != passed or comp.active and (argf.refs or frames or pins)):
            # The actor now holds a handle, or a value that may hold one: it may call actors
            # other processes call too, which a compiled reaction (no tag) must not.
            self.tracer.exclude(target._proc, "it was given an actor handle or an ObjectRef "
                                              "while calls are ordered by logical tag")
        if order is None and comp.active:
            order = comp.root_order(target, first & _LOW64)
        # The refs the call carries (nested in its arguments, and the pending top-level ones
        # the callee fetches) are exports: they stay alive until the callee has run the call
        # and dropped them, whether or not the caller keeps them or the call's result.
        carried = ()
        if argf.refs or frames or pins:
            carried = [*argf.refs, *(r for f in frames for r in f.refs),
                       *(a.oid for a in args if type(a) is _Pending)]
            if kwargs:
                carried += [v.oid for v in kwargs.values() if type(v) is _Pending]
            carried = tuple(carried)
            if carried:
                self._export(carried)
        ctrl = (CALL, self.proc, first, num_returns, method, fn_key, name, order, carried)
        all_frames = [argf] + frames if fn_frame is None else [argf, fn_frame] + frames
        watch = self._pid_of(target) if target is not None else 0
        if self.restartable and target is not None and target._proc in self.restartable:
            self._restart_pids[watch] = target._proc
        for i in ret_ids:
            e = self.table.get(i)
            if e is not None:
                e.watch = watch
                e.pins = pins
        if target is None:
            self._submit_task(ctrl, all_frames)
        elif target._proc in self.dead:
            self._fail_dead(target._proc, target._pid, ret_ids)
            self._call_lost(order)
        else:
            try:
                self._send(target._proc, ctrl, all_frames)
            except ChannelClosed:
                self._fail_dead(target._proc, target._pid, ret_ids)
                self._call_lost(order)
                return
            if target._proc in self.trigger_queues:
                self.push_trigger(target._proc, *_DRIVER_CALL)

    def _await_restart(self, proc):
        """A call to an actor whose process died waits until the monitor has started its new
        process (api.Node._restart), as Ray queues the calls made while an actor restarts:
        sent now, it would land in the dead process's inbox, which the restart empties. Not
        longer than ``_RESTART_WAIT``; not at all once the death was final."""
        deadline = time.monotonic() + _RESTART_WAIT
        while proc in self.restarting and time.monotonic() < deadline:
            time.sleep(0.001)  # a restart forks a process: milliseconds

    def _pid_of(self, target):
        """The pid running actor ``target`` now (it may have been restarted: see api.Node)."""
        try:
            return self.peer(target._proc).pid or target._pid
        except FileNotFoundError:
            return target._pid

    def _arg_sources(self, args, kwargs, frames):
        """Replace top-level refs: a ready local value travels as an inline frame, anything
        else as a _Pending marker the callee resolves. Returns (args, kwargs, pinned refs)."""
        pins = None
        if any(type(a) is ObjectRef for a in args):
            args = list(args)
            pins = []
            for i, a in enumerate(args):
                if type(a) is ObjectRef:
                    args[i] = self._arg_marker(a, frames)
                    pins.append(a)
        if kwargs and any(type(v) is ObjectRef for v in kwargs.values()):
            kwargs = dict(kwargs)
            pins = pins or []
            for k, v in kwargs.items():
                if type(v) is ObjectRef:
                    kwargs[k] = self._arg_marker(v, frames)
                    pins.append(v)
        return args, kwargs, pins

    def _arg_marker(self, ref, frames):
        e = self.table.get(ref._id)
        if e is not None and e.frame is None and e.slot is not None:
            self._await(ref._id, None)  # a compiled output leaves the driver: read it first
        if e is not None and e.frame is not None and not e.error:
            frames.append(e.frame)
            return _Inline(len(frames))  # frame 0 is the argument tuple itself
        return _Pending(ref._id)

    def _submit_task(self, ctrl, frames):
        self._send_on(self._tasks, ctrl, frames)
        self.wake_pool()

    def wake_pool(self, idle_only=False):
        """A task was queued: have one idle pool worker take it, and ring every other worker
        that is not idle.

        An idle worker's wait watches the queue (``Channel.wait(state=IDLE)``). One still
        polling (``SPINNING``) is counted on (``claim``) without a system call; else one
        asleep is woken, taking them in turn. Workers that are not idle may be blocked in
        ``get`` inside a task (they help with queued tasks) or about to sleep: they are rung,
        which costs no system call to a process that is not waiting. Waking every idle worker
        per task instead made each wake, find the queue empty and sleep again, on cores the
        tasks need. ``idle_only``: nobody but an idle worker (a blocked one gave a task back)."""
        pool = self._pool()
        n = len(pool)
        start = self._wake_next
        self._wake_next = start + 1
        spinner = sleeper = None
        for i in range(n):
            proc = pool[(start + i) % n][0]
            if proc == self.proc:
                continue
            try:
                ch = self.peer(proc)
            except FileNotFoundError:
                continue
            st = ch.state()
            if st == SPINNING:
                spinner = spinner or ch
            elif st == IDLE:
                sleeper = sleeper or ch
            elif not idle_only:
                ch.ring()
        if spinner is not None:
            spinner.claim()
        elif sleeper is not None:
            sleeper.ring()

    # -- put / get / wait ----------------------------------------------------------------------
    def put(self, value):
        f = ser.serialize(value)
        if f.nbytes > ser.SEGMENT_THRESHOLD:  # big: one segment, borrowed zero-copy by readers
            g = ser.own_segment(f, f"{self._seg_prefix()}{next(self._counter):x}")
        else:  # small: one private copy, so later changes to the caller's value don't show
            ps, _ = f.pieces()
            g = ser.decode(b"".join(ps))
            g.refs = f.refs
        f = g
        oid = self.new_id()
        ref = ObjectRef(oid)
        e = self.table[oid]
        e.frame = f
        if f.refs:
            e.holders = [ObjectRef(i) for i in f.refs]
        return ref

    def get(self, refs, timeout):
        """Values of ``refs`` (a list of ObjectRef) in order; raises the stored errors."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if self.tracer is not None:
            self.tracer.sync()
        table = self.table
        out = []
        for r in refs:
            e = table.get(r._id)
            if e is None or e.frame is None:
                # (a compiled output already in its slot is read at once: see materialize)
                if e is None or e.slot is None or not self.materialize(r._id, e, block=False):
                    self._await(r._id, deadline)
                    e = table[r._id]
            if e.error:
                out.append(self._value(r._id, e))
            else:  # (_value without the call: the common case, once per compiled output)
                f = e.frame
                out.append(_loads(f.meta, buffers=f.buffers))
        return out

    def _value(self, oid, e):
        v = ser.deserialize(e.frame)
        if e.error:
            if isinstance(v, exc.RayTaskError):
                raise v.as_instanceof_cause()
            raise v
        return v

    def ready(self, oid) -> bool:
        e = self.table.get(oid)
        if e is None:
            return False
        if e.frame is None and e.slot is not None:
            return self.materialize(oid, e, block=False)
        return e.frame is not None

    # -- compiled graphs (see compiled.py) ------------------------------------------------------
    def materialize(self, oid, e, block=True):
        """Copy a compiled reaction's output out of its slot into the table entry ``e``.

        Returns False if it is not written yet and ``block`` is false; with ``block``, waits
        (an actor that dies meanwhile fails the entry, as on the dynamic path)."""
        slot, tag, k, _key = e.slot
        data = c_paths.read_output(slot._mv, slot.capacity, tag) \
            if k == 0 and c_paths is not None else None
        if data is None:
            if not slot.ready(tag):
                if not block:
                    return False
                self._await(oid, None)
                return True
            data = slot.read_plain(tag) if k == 0 else None
        if data is not None:  # the common result: one plain value, no error (see Slot)
            e.slot = None
            if e.frame is None:
                e.frame = ser.Frame(data, ())
                if e.waiters:
                    self._wake_waiters(oid, e)
            return True
        frames, mask = slot.read(tag)
        e.slot = None
        if e.frame is None:
            e.frame = frames[k]
            e.error = bool(mask >> k & 1)
            if mask & CONTAINS_REFS:  # refs inside the value: the actor exported them once
                contained = ser.deserialize(frames[-1])[k]
                if contained:
                    e.holders = self._import(contained)
            self._wake_waiters(oid, e)
        return True

    def wait_for(self, predicate, pid):
        """Pump the inbox until ``predicate()`` holds; False if process ``pid`` died first."""
        self.wake_triggered()
        while not predicate():
            if not self.threaded:
                with self.lock:
                    self._drain()
            if predicate():
                return True
            if not self.inbox.wait(_LIVENESS_PERIOD, self._spin, predicate) and \
                    not pid_alive(pid):
                return predicate()
        return True

    def push_trigger(self, proc, graph, tag, node, wake=True):
        """Append a trigger to actor ``proc``'s queue and wake it if it sleeps (``wake``
        true; false: at the next ``wake_triggered``; None: not at all, the writers of its
        inputs will)."""
        q = self.trigger_queues[proc]
        ch = self.peer(proc)
        if q.free() < 1:
            self.wake_triggered()
            pid = ch.pid
            if not self.wait_for(lambda: q.free() > 0, pid):
                return  # the actor is dead: its calls fail by the liveness checks
        q.push(graph, tag, node)
        if wake:
            ch.notify()
        elif wake is not None:
            self.unwoken.append(ch)

    def wake_triggered(self):
        """Wake the actors triggered since the last wake (see CompiledGraph.trigger)."""
        if self.unwoken:
            woken, self.unwoken = self.unwoken, []
            for ch in woken:
                ch.notify()

    def send_control_call(self, proc, method, payload, announce):
        """A runtime-internal call to actor ``proc`` (no result). ``announce``: the actor
        already has a trigger queue, so the call gets its entry there (ordering)."""
        ctrl = (CALL, self.proc, self.new_id(), 0, method, None, None, None, ())
        self._send(proc, ctrl, [ser.serialize(((payload,), {}))])
        if announce:
            self.push_trigger(proc, *_DRIVER_CALL)

    def _await(self, oid, deadline):
        """Pump the inbox until object ``oid`` has a value (or error)."""
        self._request(oid)
        e = self.table[oid]
        ready = None
        if e.slot is not None:  # a compiled output: written to its slot, with no message
            slot, tag, _k, key = e.slot
            ready = lambda: slot.ready(tag)  # noqa: E731
            self.inbox.set_awaited(key)  # its writer wakes us only for it (see notify_output)
        try:
            self._pump_until(oid, e, deadline, ready)
        finally:
            if ready is not None:
                self.inbox.set_awaited(0)

    def _pump_until(self, oid, e, deadline, ready):
        while e.frame is None:
            if e.slot is not None and self.materialize(oid, e, block=False):
                break
            if not self.threaded:
                with self.lock:
                    self._drain()
            if e.frame is not None:
                break
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise exc.GetTimeoutError(
                    f"Get timed out: some object(s) not ready: ObjectRef({_hex(oid)})")
            if not self._wait_inbox(_LIVENESS_PERIOD if left is None else min(left,
                                                                             _LIVENESS_PERIOD),
                                    ready):
                with self.lock:
                    self._check_liveness([oid])

    def _wait_inbox(self, timeout, ready=None):
        if self.threaded:
            with self.cond:
                return self.cond.wait(timeout)
        if self.helps_with_tasks and self._help_with_a_task():
            return True
        if self.unwoken:
            self.wake_triggered()
        # Adaptive: poll before sleeping only if the last wait ended within the poll window
        # (fast replies); when replies take longer, polling would only steal a core from the
        # workers computing them.
        start = time.perf_counter()
        rang = self.inbox.wait(timeout, self._spin, ready)
        self._spin = _SPIN if time.perf_counter() - start < _SPIN else 0.0
        return rang

    def _help_with_a_task(self):
        """A task worker blocked in get runs queued tasks meanwhile (no pool deadlock).

        While calls are ordered by logical tag, it runs only tasks that cannot wait for the
        reactions it is running (``Completion.may_run_on_top``): a later task, run on top of
        this one, could wait for an actor call that waits for this one to complete, which it
        cannot do until that task returns. Such tasks go back to the queue, and the driver
        starts an extra worker to take them. If none comes for ``GRACE`` seconds (the extra
        workers are all in use), the task runs here anyway: better a warning than a hang."""
        comp = self.completion
        first_requeued = None
        for _ in range(_MAX_REQUEUE):
            data = self._tasks.recv_nowait()
            if data is None:
                self._refusing_since = None
                return False
            if comp.stack:
                hlen = int.from_bytes(data[:4], "little")
                ctrl = pickle.loads(data[4:4 + hlen])[0]
                order = ctrl[7]
                if order is not None and not comp.may_run_on_top(order[0]) \
                        and not self._refused_too_long():
                    self._tasks.send([data], len(data))
                    self.wake_pool(idle_only=True)  # an idle worker may take it
                    if first_requeued is None:
                        first_requeued = ctrl[2]
                    elif ctrl[2] == first_requeued:  # went round the whole queue
                        return False
                    continue
            self._refusing_since = None
            self.run_task(data)
            return True
        return False

    def _refused_too_long(self):
        """A queued task was refused (see above): ask for a free worker; True once refusals
        have gone on for ``GRACE`` seconds."""
        now = time.monotonic()
        if now - self._need_worker_at > _NEED_WORKER_PERIOD:
            self._need_worker_at = now
            self._send_ctrl(self.driver_proc, (NEED_WORKER,), quiet=True)
        if self._refusing_since is None:
            self._refusing_since = now
            return False
        if now - self._refusing_since <= determinism.GRACE:
            return False
        determinism.warn_once(
            "task-on-top", "a task worker blocked in get ran a task that comes later in "
            "logical time on top of its own (no free worker came): calls they make may run "
            "in arrival order.", where="task worker")
        return True

    def _request(self, oid):
        """Ask the owner of a borrowed ref for its value (once).

        Raises:
            ValueError: this process knows nothing of ``oid`` (a ref of an earlier session,
                kept across ``shutdown``/``init``), with Ray's message.
        """
        e = self.table.get(oid)
        if e is None:
            raise ValueError(
                "You are trying to access Ray objects whose owner is unknown. Please make sure "
                "that all Ray objects you are trying to access are part of the current Ray "
                f"session (ObjectRef({_hex(oid)}) is not: was it made before the last "
                "shutdown()?).")
        if e.frame is not None or e.requested or owner_of(oid) == self.proc:
            return
        e.requested = True
        try:
            self._send_ctrl(owner_of(oid), (GET_OBJECT, self.proc, oid))
        except (ChannelClosed, FileNotFoundError):
            self._set_error(oid, exc.OwnerDiedError(_hex(oid)))

    def wait(self, refs, num_returns, timeout):
        """``ray.wait`` semantics; both lists keep the input order.

        Deterministic mode: the ready set is the ``num_returns`` refs first in logical time
        (see determinism.py), returned once they are all ready. If the timeout expires first:
        the ready ones, first in logical time (and a one-time NondeterminismWarning). If they
        are still not ready ``determinism.GRACE`` seconds after enough other refs are (a
        straggler, or a program whose progress needs first-finished order: it must not
        hang), the program's waits depend on timing from then on, and this one and every
        later one return the first refs to finish, as with ``init(deterministic=False)``
        and in Ray (a one-time warning): one stall, not one per wait."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if self.tracer is not None:
            self.tracer.sync()
        for r in refs:
            self._request(r._id)
        if self.deterministic and not self.waits_by_arrival:
            order = determinism.logical_order(refs, self.proc)
            watched = [refs[i] for i in order[:num_returns]]
            need = num_returns
        else:
            order, watched, need = range(len(refs)), refs, num_returns
        slot_ready = self._slot_predicate(watched)
        others_ready_at = None
        while True:
            if not self.threaded:
                with self.lock:
                    self._drain()
            if sum(1 for r in watched if self.ready(r._id)) >= need:
                break
            if watched is not refs and sum(1 for r in refs if self.ready(r._id)) >= need:
                now = time.monotonic()
                if others_ready_at is None:
                    others_ready_at = now
                elif now - others_ready_at > determinism.GRACE:
                    determinism.warn_once(
                        "wait-grace", "ray.wait's refs first in logical time were not ready "
                        f"{determinism.GRACE} s after others were, so from now on ray.wait "
                        "returns the first refs to finish, as Ray's does: this program's "
                        "result may depend on timing.")
                    self.waits_by_arrival = True
                    order, watched = range(len(refs)), refs
                    break
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                if self.deterministic:
                    determinism.warn_once(
                        "wait-timeout", "ray.wait's timeout expired before the refs first in "
                        "logical time were ready, so its result depends on timing.")
                break
            period = _LIVENESS_PERIOD if others_ready_at is None else _LIVENESS_PERIOD / 4
            if not self._wait_inbox(period if left is None else min(left, period),
                                    slot_ready):
                with self.lock:
                    self._check_liveness([r._id for r in refs])
        chosen = set()
        for i in order:
            if len(chosen) == num_returns:
                break
            if self.ready(refs[i]._id):
                chosen.add(i)
        ready = [r for i, r in enumerate(refs) if i in chosen]
        not_ready = [r for i, r in enumerate(refs) if i not in chosen]
        return ready, not_ready

    def _slot_predicate(self, refs):
        """A predicate that turns true when one of ``refs``' compiled outputs is written."""
        slots = []
        for r in refs:
            e = self.table.get(r._id)
            if e is not None and e.frame is None and e.slot is not None:
                slots.append(e.slot)
        if not slots:
            return None
        return lambda: any(s.ready(t) for s, t, _k, _key in slots)

    # -- failure detection -----------------------------------------------------------------
    def _check_liveness(self, oids):
        for oid in oids:
            e = self.table.get(oid)
            if e is None or e.frame is not None:
                continue
            owner = owner_of(oid)
            if owner != self.proc:  # borrowed: the owner must be alive to answer
                try:
                    pid = self.peer(owner).pid
                except FileNotFoundError:
                    pid = -1
                if pid == -1 or not pid_alive(pid):
                    self._drain_if_reader()
                    if e.frame is None:
                        self._set_error(oid, exc.OwnerDiedError(_hex(oid)))
            elif e.watch and not pid_alive(e.watch):
                self._drain_if_reader()  # results it sent before dying come first
                self._actor_died(e.watch)

    def _actor_died(self, pid, reason=None, final=False):
        proc = self._restart_pids.pop(pid, None)
        r = self.restartable.get(proc)
        # Restarting (max_restarts left, or the monitor restarts it already): its calls fail
        # with ActorUnavailableError, as Ray's, and the next calls wait for the new process.
        restarting = not final and proc is not None and (
            self.restarting.get(proc) == pid or self.restarted.get(proc) == pid or
            (r is not None and r.left != 0))
        if restarting and self.restarted.get(proc) != pid:
            self.restarting[proc] = pid  # (the monitor restarts it and ends this)
        for oid, e in list(self.table.items()):
            if e.frame is None and e.watch == pid and owner_of(oid) == self.proc:
                if not final and self._retry_after_restart(oid, e, pid):
                    continue
                if self.completion.driver:  # a root it was running ends here
                    self.completion.child_done((oid & _LOW64,))
                if restarting:
                    err = exc.ActorUnavailableError(
                        None, f"The actor's process (pid {pid}) died while this call was "
                        "queued or running; the actor is being restarted (max_restarts). "
                        "The call may or may not have run.")
                else:
                    err = exc.ActorDiedError(
                        None, reason or "The actor died unexpectedly before finishing this "
                        f"task (its process, pid {pid}, exited or was killed).")
                self._set_error(oid, err)

    def _retry_after_restart(self, oid, e, pid):
        """Call ``oid`` was running or queued in an actor that died: if the actor is being
        restarted and the call has ``max_task_retries`` left, send it again to the new process
        (as Ray); True while it waits for one (``_RESTART_WAIT`` seconds at most)."""
        r = self.retries.get(oid)
        if r is None or r[1] == 0 or r[0][0] is None or r[0][0]._proc not in self.task_retries:
            return False
        target = r[0][0]
        now = time.monotonic()
        since = self._awaiting_restart.setdefault(oid, now)
        new = self._pid_of(target)
        if new != pid and new and pid_alive(new):
            del self._awaiting_restart[oid]
            r[1] -= 1
            self._send_call(r[0])  # (watches the new pid)
            return True
        if now - since > _RESTART_WAIT:
            del self._awaiting_restart[oid]
            return False
        return True

    def _call_lost(self, order):
        """A call with ``order`` will never run: nothing it could cause will happen."""
        if order is not None:
            self.completion.child_done(order[0])

    def _fail_dead(self, proc, pid, ret_ids):
        for oid in ret_ids:
            self._set_error(oid, exc.ActorDiedError(
                f"{proc:08x}", f"The actor (pid {pid}) is dead: it was killed or exited."))

    def mark_dead(self, proc, pid):
        self.dead.add(proc)
        self._actor_died(pid, "The actor was killed with ray.kill().", final=True)

    def _set_error(self, oid, err):
        e = self.table.get(oid)
        if e is None or e.frame is not None:
            return
        e.frame = ser.serialize(err)
        e.error = True
        e.pins = None
        self._wake_waiters(oid, e)

    # -- the inbox ------------------------------------------------------------------------------
    def _drain(self):
        """Handle every message waiting in the inbox (never blocks)."""
        recv = self.inbox.recv_nowait
        while True:
            data = recv()
            if data is None:
                break
            self._handle(data)
        if self.held_tasks:
            self._release_held_tasks()

    def _drain_if_reader(self):
        if not self.threaded:
            self._drain()

    def _handle(self, data):
        ctrl, frames = self._decode(data)
        kind = ctrl[0]
        if kind == RESULT:
            self._on_result(ctrl, frames)
        elif kind == CALL:
            self.deferred_calls[ctrl[2]] = (ctrl, frames)
            if self.call_order is not None:
                self.call_order.arrived(ctrl, self.deferred_calls)
        elif kind == DONE:
            self.completion.child_done(ctrl[1])
        elif kind == WATERMARK_REQ:
            self.completion.request(ctrl[1], ctrl[2], ctrl[3])
        elif kind == NEED_WORKER:
            if self.on_need_worker is not None:
                self.on_need_worker()
        elif kind == WATERMARK:
            if self.call_order is not None:
                self.call_order.update(ctrl[1], ctrl[2])
        elif kind == GET_OBJECT:
            _, requester, oid = ctrl
            e = self.table.get(oid)
            if e is None:
                self._send(requester, (OBJECT, oid, True, ()),
                           [ser.serialize(exc.ObjectFreedError(_hex(oid)))], quiet=True)
            elif e.frame is None:
                if e.waiters is None:
                    e.waiters = []
                e.waiters.append(requester)
            else:
                self._reply_object(requester, oid, e)
        elif kind == OBJECT:
            _, oid, is_err, contained = ctrl
            e = self.table.get(oid)
            if e is not None and e.frame is None:
                e.frame = frames[0]
                e.error = is_err
                if contained:
                    e.holders = self._import(contained)
                self._wake_waiters(oid, e)
            elif contained:  # nobody wants it any more: give the imports straight back
                self._import(contained)
        elif kind == ADDREF:
            e = self.table.get(ctrl[1])
            if e is not None:
                e.exports += ctrl[2]
        elif kind == DECREF:
            e = self.table.get(ctrl[1])
            if e is not None:
                e.exports -= ctrl[2]
                self._maybe_free(ctrl[1], e)
        elif kind == CANCEL:
            self.cancelled.add(ctrl[1])
        elif kind == EXIT:
            self.on_exit()

    def on_exit(self):
        """EXIT: the process is no longer needed (an actor out of scope). A concurrent actor
        replaces this to finish its running calls first (worker.ActorLoop)."""
        raise SystemExit(0)

    def _on_result(self, ctrl, frames):
        _, first, errs, contained, done = ctrl
        if self.retries and self._retried(first, errs):
            return
        if done is not None:  # the call's subtree is complete (determinism.Completion)
            self.completion.child_done(done)
        for i, f in enumerate(frames):
            oid = first + i
            e = self.table.get(oid)
            if e is None or e.frame is not None:  # dropped or cancelled: discard
                if contained and contained[i]:
                    self._import(contained[i])
                continue
            e.frame = f
            e.error = errs[i]
            e.pins = None
            if contained and contained[i]:
                e.holders = self._import(contained[i])
            self._wake_waiters(oid, e)

    def _retried(self, first, errs):
        """The RESULT of task ``first``: if its worker crashed and retries are left (and the
        result is still wanted), send the task again, as Ray does; True if it was."""
        r = self.retries.pop(first, None)
        if r is None or errs[0] != CRASHED:
            return False
        e = self.table.get(first)
        if r[1] == 0 or e is None or e.frame is not None:  # no retry (dropped, cancelled)
            self._call_lost(r[0][10])  # the crashed task will cause nothing more
            return False
        r[1] -= 1
        self.retries[first] = r
        self._send_call(r[0])
        return True

    def _reply_object(self, requester, oid, e):
        f = e.frame
        if f.refs:
            self._export(f.refs)
        self._send(requester, (OBJECT, oid, e.error, tuple(f.refs)), [f], quiet=True)

    def _wake_waiters(self, oid, e):
        if e.waiters:
            waiters, e.waiters = e.waiters, None
            for w in waiters:
                self._reply_object(w, oid, e)

    # -- executing a call (actors and task workers) -----------------------------------------
    def send_done(self, proc, tag):
        """Tell ``proc`` that its call with ``tag`` has a complete subtree."""
        with self.lock:
            self._send_ctrl(proc, (DONE, tag), quiet=True)

    def ask_watermark(self, proc, parent, k):
        """Ask ``proc``, which ran reaction ``parent``, to say when its calls below index
        ``k`` have complete subtrees (answered with WATERMARK)."""
        with self.lock:
            self._send_ctrl(proc, (WATERMARK_REQ, parent, k, self.proc), quiet=True)

    def send_watermark(self, proc, parent, w):
        self._send_ctrl(proc, (WATERMARK, parent, w), quiet=True)

    def execute(self, ctrl, frames, fn, label, actor_repr=None):
        """Run one reaction and send its RESULT to the caller.

        ``fn`` is the callable to run. Arguments are resolved here: inline frames are
        deserialised, pending refs fetched (their errors become this call's result).
        """
        prepared = self.prepare_call(ctrl, frames, label, actor_repr)
        if prepared is None:
            return
        args, kwargs, _holders = prepared  # _holders: refs passed in, alive until we return
        try:
            value = fn(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001 - any error travels to the caller
            if isinstance(e, SystemExit):
                # The process exits, as a Ray worker does: an actor dies (ActorDiedError);
                # a task's worker is a crashed one (retried, then WorkerCrashedError).
                raise
            self.fail_call(ctrl, e, label, actor_repr)
            return
        self.finish_call(ctrl, value, label)

    def prepare_call(self, ctrl, frames, label, actor_repr=None):
        """Arguments of a CALL: (args, kwargs, holders), or None if the call is already
        answered (cancelled, or an argument failed: its error is the call's result)."""
        _, caller, first, num_returns, method = ctrl[:5]
        holders = None
        try:
            if ctrl[8]:  # refs the call carries: alive until it returns (see _send_call)
                with self.lock:
                    holders = self._import(ctrl[8])
            if first in self.cancelled:
                self.cancelled.discard(first)
                return None
            argf = frames[0]
            args, kwargs = ser.deserialize(argf)
            if args:
                args = [self._resolve(a, frames) for a in args]
            if kwargs:
                kwargs = {k: self._resolve(v, frames) for k, v in kwargs.items()}
            return args, kwargs, holders
        except exc.RayError as e:  # a dependency failed: pass its error on
            self._reply(caller, first, num_returns, [e], True)
        except BaseException as e:  # noqa: BLE001 - deserialisation failed
            err = exc.RayTaskError(label, traceback.format_exc(), e, actor_repr=actor_repr)
            self._reply(caller, first, num_returns, [err], True)
        return None

    def fail_call(self, ctrl, e, label, actor_repr=None):
        """Send the error ``e`` (being handled) raised by the reaction as the call's result.
        A KeyboardInterrupt (ray.cancel's, or the code's own) is the call's cancellation, as
        in Ray: RayTaskError(TaskCancelledError)."""
        if isinstance(e, KeyboardInterrupt):
            e = exc.TaskCancelledError(_hex(ctrl[2])[:24])
        self._reply(ctrl[1], ctrl[2], ctrl[3], [self.task_error(e, label, actor_repr)], True)

    @staticmethod
    def task_error(e, label, actor_repr=None):
        """The RayTaskError for ``e``, the exception being handled, raised by a reaction."""
        tb = _user_traceback()
        if isinstance(e, exc.RayTaskError):  # from a nested get: keep the original cause
            return exc.RayTaskError(label, tb, e.cause, actor_repr=actor_repr)
        return exc.RayTaskError(label, tb, e, actor_repr=actor_repr)

    def finish_call(self, ctrl, value, label):
        """Send the reaction's return ``value`` as the call's ``num_returns`` results."""
        values, is_err = self.split_returns(value, ctrl[3], label)
        self._reply(ctrl[1], ctrl[2], ctrl[3], values, is_err)

    @staticmethod
    def split_returns(value, num_returns, label):
        """(values, is_error): the ``num_returns`` results of a reaction that returned
        ``value``, or ([error], True) if it did not return that many."""
        if num_returns == 1:
            return [value], False
        if num_returns == 0:
            return [], False
        try:
            values = list(value)
            if len(values) != num_returns:
                raise ValueError(
                    f"Task returned {len(values)} objects, but num_returns={num_returns}.")
        except Exception as e:  # noqa: BLE001
            return [exc.RayTaskError(label, traceback.format_exc(), e)], True
        return values, False

    def _resolve(self, a, frames):
        t = type(a)
        if t is _Inline:
            return ser.deserialize(frames[a.k])
        if t is _Pending:
            ref = ObjectRef(a.oid)
            return self.get([ref], None)[0]
        return a

    def _reply(self, caller, first, num_returns, values, is_err):
        if num_returns == 0 and not is_err:
            return
        frames, errs = self.result_frames(values, is_err, num_returns)
        contained = tuple(tuple(f.refs) for f in frames) if any(f.refs for f in frames) else ()
        with self.lock:
            for f in frames:
                if f.refs:
                    self._export(f.refs)
            done = self.completion.result_tag(first) if self.completion.stack else None
            self._send(caller, (RESULT, first, errs, contained, done), frames, quiet=True)

    @staticmethod
    def result_frames(values, is_err, num_returns):
        """Serialise a reaction's results: (frames, per-frame error flags). A value that
        cannot be pickled becomes an error, with the text of what failed. An error that
        pickles but cannot be unpickled (an exception class whose ``__init__`` takes other
        arguments than it passes to ``Exception``) becomes ``UnserializableException`` with
        the original's text and traceback, as in Ray."""
        n = max(num_returns, 1) if is_err else num_returns
        frames = []
        for i in range(n):
            v = values[0] if is_err else values[i]
            try:
                f = ser.serialize(v)
            except Exception as e:  # noqa: BLE001 - whatever pickling raised
                if is_err:  # the user's exception does not survive pickling: keep its text
                    v = exc.RayTaskError(getattr(v, "function_name", "?"),
                                         getattr(v, "traceback_str", str(v)),
                                         exc.RayError(str(getattr(v, "cause", v))))
                    frames.append(ser.serialize(v))
                else:
                    err = exc.RayTaskError("serialize result", traceback.format_exc(), e)
                    frames.append(ser.serialize(err))
                    is_err = True
                continue
            if is_err:  # errors only (the check costs a round trip): it must unpickle too
                try:
                    ser.deserialize(f)
                except Exception:  # noqa: BLE001
                    f = ser.serialize(exc.UnserializableException(str(v)))
            frames.append(f)
        return frames, (is_err,) * n

    def cancel(self, ref, force, pool_pids):
        """ray.cancel: fail the call with TaskCancelledError now and stop its work. A queued
        task is dropped where it waits (CANCEL); a task running in a pool worker is interrupted
        by a KeyboardInterrupt raised in it (SIGINT, see worker.TaskLoop), or with ``force`` its
        worker is killed; an actor call is dropped if not started yet."""
        e = self.table.get(ref._id)
        if e is None or e.frame is not None:
            return
        task = ref._id & _LOW64
        running = []  # (inbox, pid) of the pool worker running this task, if one does
        if not e.watch and owner_of(ref._id) == self.proc:
            for proc, pid in pool_pids:
                try:
                    if self.peer(proc).status()[1:] == (task, 1):
                        running.append((self.peer(proc), pid))
                except FileNotFoundError:
                    pass
        err = exc.TaskCancelledError(ref.task_id())
        if running and not force:
            # As Ray: a task interrupted while running fails with it, as a RayTaskError
            # (one that never ran fails with the TaskCancelledError itself)
            err = exc.RayTaskError("task", f"TaskCancelledError: {err}", err)
        self._set_error(ref._id, err)
        self.retries.pop(ref._id, None)  # a cancelled call is not run again
        if owner_of(ref._id) != self.proc:
            return
        if e.watch:
            for proc, ch in list(self._peers.items()):
                if ch.pid == e.watch:
                    self._send_ctrl(proc, (CANCEL, ref._id), quiet=True)
            return
        for proc, pid in pool_pids:
            self._send_ctrl(proc, (CANCEL, ref._id), quiet=True)
        for inbox, pid in running:
            if not force:
                inbox.request_interrupt(task)
            try:
                os.kill(pid, signal.SIGKILL if force else signal.SIGINT)
            except ProcessLookupError:
                pass


def _hex(oid):
    return oid.to_bytes(16, "big").hex()


def _user_traceback():
    """The traceback of the exception being handled, without the runtime's own frame."""
    import sys

    et, ev, tb = sys.exc_info()
    if tb is not None:
        tb = tb.tb_next  # drop Runtime.execute
    return "".join(traceback.format_exception(et, ev, tb))


_EMPTY_ARGS = ser.serialize(((), {}))
_loads = pickle.loads
_DRIVER_CALL = (0, 0, 0)  # trigger-queue entry: "the driver's next dynamic call comes now"
CONTAINS_REFS = 1 << 62  # out-slot mask bit: the last frame lists the refs inside each value


def set_runtime(rt):
    refs_mod._runtime = rt
