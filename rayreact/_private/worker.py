"""Entry point of a worker process: ``python -m rayreact._private.worker SESSION PROC KIND DRIVER``.

An *actor* worker hosts one reactor: the first CALL it receives is ``__init__`` carrying the
class; every later CALL runs one reaction (method) to completion, in inbox order (in
logical-time order once other processes call the actor: ``determinism.CallOrder``). A *task*
worker takes calls from the shared task queue (and, while blocked in ``get`` inside a task,
keeps taking them, so nested tasks never starve the pool). Both sleep on their inbox's doorbell
when idle and exit by themselves when the driver is gone.
"""

import asyncio
import atexit
import faulthandler
import inspect
import json
import os
import random
import select
import signal
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

from rayreact import exceptions as exc
from rayreact._private import api, buffers, compiled, determinism, output, process
from rayreact._private import serialization as ser
from rayreact._private import shm
from rayreact._private.actor import ActorHandle, _is_async, _method_table
from rayreact._private.channel import Channel
from rayreact._private.channel import IDLE, WAITING
from rayreact._private.runtime import CALL, CONCURRENT_CALL, Runtime, pid_alive

_LOW64 = (1 << 64) - 1
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_IDLE_CHECK = 1.0  # seconds idle before a worker drops its pooled memory
_SPIN = 100e-6  # seconds
_EXTRA_IDLE = 3.0  # seconds an extra task worker idles before it exits
# Test-only switch: sleep a random time of up to this many seconds before each reaction, so
# tests can show that results do not depend on timing (tests/test_determinism.py).
# (Read in main: a worker forked by the zygote gets its environment there.)
_TEST_DELAY = 0.0
_delay_rng = None


def _test_delay():
    if _TEST_DELAY:
        time.sleep(_delay_rng.random() * _TEST_DELAY)


def main():
    global _TEST_DELAY, _delay_rng
    _TEST_DELAY = float(os.environ.get("RAYREACT_TEST_DELAY", "0") or 0)
    _delay_rng = random.Random(os.urandom(8))
    session, proc_hex, kind, driver_pid = sys.argv[1:5]
    temporary = kind == "extra"  # an extra pool worker (api.Node.add_extra_worker)
    kind = "task" if temporary else kind
    proc, driver_pid = int(proc_hex, 16), int(driver_pid)
    faulthandler.enable()
    ser.POOL_BYTES = ser.WORKER_POOL_BYTES
    for p in reversed(json.loads(os.environ.get(process.ENV_SYS_PATH, "[]"))):
        if p not in sys.path:
            sys.path.insert(0, p)
    sys.argv = [sys.argv[0]]
    rt = Runtime(session, proc, kind, driver_pid)
    rt.namespace = os.environ.get(process.ENV_NAMESPACE) or None
    rt.num_cpus = int(os.environ.get(process.ENV_NUM_CPUS, "1"))
    rt.driver_proc = int(os.environ[process.ENV_DRIVER], 16)
    rt._tasks = Channel(session, "tasks", multi_consumer=True)
    pool_mm = shm.open_segment(shm.prefix(session) + "pool", readonly=True)
    rt._pool = lambda: api._read_pool(pool_mm)
    api._connect_worker(rt)
    _watch_driver(rt, session, driver_pid)
    loop = ActorLoop(rt) if kind == "actor" else TaskLoop(rt, temporary)
    output.install(lambda: loop.log_name)  # prints prefixed "(Name pid=N)", as Ray's
    try:
        loop.run()
    except SystemExit:
        pass
    except BaseException:  # noqa: BLE001 - a runtime bug: say where before exiting
        traceback.print_exc()
    finally:
        rt.inbox.unlink()
        if rt.exiting:  # ray.actor.exit_actor(): as Ray, run atexit
            atexit._run_exitfuncs()
        if not pid_alive(driver_pid):
            shm.cleanup_session(session)
        os._exit(0)


def _watch_driver(rt, session, driver_pid):
    """End this process when the driver dies, even while it runs user code that never
    returns to the runtime (a busy loop, a long sleep): a thread blocked on the driver's pidfd,
    at no cost until then. (A driver that ends normally ends its workers itself.)"""
    def watch():
        try:
            fd = os.pidfd_open(driver_pid)
        except ProcessLookupError:
            pass  # already gone
        else:
            poller = select.poll()  # (not select: no limit on the fd's number)
            poller.register(fd, select.POLLIN)
            poller.poll()  # readable once the driver has exited
        try:
            rt.inbox.unlink()
            shm.cleanup_session(session)
        finally:
            os._exit(0)

    threading.Thread(target=watch, name="rayreact-driver-watch", daemon=True).start()


class _Loop:
    def __init__(self, rt):
        self.rt = rt
        self.spin = 0.0
        self.log_name = ""  # who prints: the actor's name, or the task running (output.py)

    def idle_wait(self, ready=None, state=WAITING):
        """Sleep until a message arrives (a driver that dies ends this process: _watch_driver).

        Adaptive spinning: if the last message came within ``_SPIN`` of going idle (a caller
        making calls back to back), poll that long before sleeping, so the caller need not
        pay a wake-up system call per call. Callers that come back rarely (one call per
        round) find the process asleep and cost it no CPU.
        """
        start = time.perf_counter()
        if not self.rt.inbox.wait(_IDLE_CHECK, self.spin, ready, state):
            ser.drain_segment_pool()  # idle for a second: hold no pooled memory
            buffers.drain()
        self.spin = _SPIN if time.perf_counter() - start < _SPIN else 0.0


class ActorLoop(_Loop):
    """Runs one actor's reactions in the order its inbox received them, or in logical-time
    order once other processes call it (``_next_call``).

    A threaded actor (``max_concurrency`` > 1) or an async actor (``async def`` methods) runs
    its calls concurrently, as Ray does: the main thread then only reads the inbox (the
    dispatcher) and hands calls to a thread pool, or to an asyncio loop in its own thread.
    """

    def __init__(self, rt):
        super().__init__(rt)
        self.instance = None
        self.init_error = None
        self.cls_name = "?"
        self.pool = None  # ThreadPoolExecutor of a threaded actor
        self.event_loop = None  # the asyncio loop of an async actor
        self.reactions = None  # ActorReactions: compiled graphs' reactions hosted here
        rt.call_order = determinism.CallOrder(rt, "?")  # None for concurrent actors
        # Calls handed to the thread pool or event loop and not finished; EXIT (out of
        # scope) waits for them, as Ray lets an actor finish the calls it was sent.
        self.running = 0
        self._running_lock = threading.Lock()
        self.exit_requested = False
        rt.on_exit = self._request_exit

    def _request_exit(self):
        self.exit_requested = True

    def _concurrent_call_done(self, _future):
        with self._running_lock:
            self.running -= 1
        if self.exit_requested:
            self.rt.inbox.ring()  # the dispatcher may be asleep: it now exits

    def run(self):
        rt = self.rt
        while True:
            if self.exit_requested and not self.running and not rt.deferred_calls:
                raise SystemExit(0)
            if self.reactions is not None:
                if not rt.deferred_calls and not _TEST_DELAY:  # the steady state, in C
                    ran = self.reactions.loop_in_c(_IDLE_CHECK)
                    if ran is not None:
                        if ran is False:  # idle for a second: hold no pooled memory
                            ser.drain_segment_pool()
                        continue
                if self._run_triggered():
                    continue
            if rt.deferred_calls:
                call = self._next_call()
                if call is not None:
                    self.dispatch(*call)
                    continue
            data = rt.inbox.recv_nowait()
            if data is None:
                self.idle_wait(self.reactions.next_trigger if self.reactions else None)
                continue
            if rt.threaded:
                with rt.cond:
                    rt._handle(data)
                    rt.cond.notify_all()
            else:
                rt._handle(data)  # a CALL lands in deferred_calls; everything else is handled

    def _next_call(self):
        """The deferred call to run now: the first to arrive, or, once other processes call
        this actor too, the first in logical time whose turn has come (determinism.CallOrder).
        With compiled graphs installed, the driver's calls also wait for their turn on the
        trigger queue (see compiled.py)."""
        calls = self.rt.deferred_calls
        order = self.rt.call_order
        reactions = self.reactions
        if reactions is None and (order is None or not order.ordered):
            return calls.pop(next(iter(calls)))
        allowed = _any if reactions is None else lambda ctrl: not reactions.gates(ctrl[1])
        if order is None:
            cid = next((cid for cid, (ctrl, _f) in calls.items() if allowed(ctrl)), None)
        else:
            cid = order.pick(calls, allowed)
        return None if cid is None else calls.pop(cid)

    def _run_triggered(self):
        """Run the head of the trigger queue if it can run now; True if something ran."""
        head = self.reactions.next_trigger()
        if head is None:
            return False
        tag, node = head
        if node is None:  # the driver's next dynamic call: run it if it has arrived
            driver = self.reactions.driver
            calls = self.rt.deferred_calls
            order = self.rt.call_order
            if order is not None and order.ordered and calls:  # and its turn has come
                cid = order.pick(calls, _any)
                if cid is None:
                    return False
                if calls[cid][0][1] != driver:  # another caller's call comes first
                    self.dispatch(*calls.pop(cid))
                    return True
            for cid, (ctrl, _f) in calls.items():
                if ctrl[1] == driver:
                    self.reactions.queue.pop()
                    self.dispatch(*calls.pop(cid))
                    return True
            return False
        self.reactions.queue.pop()
        if _TEST_DELAY:
            _test_delay()
        self.rt.current_call = head
        self.reactions.run(tag, node)
        self.rt.current_call = None
        return True

    def dispatch(self, ctrl, frames):
        """Run one CALL; for a call with a logical tag, its caller learns when it and
        everything it caused have finished (determinism.Completion)."""
        rt = self.rt
        order = ctrl[7]
        if order is None:
            self._dispatch(ctrl, frames)
        elif self.pool is not None or self.event_loop is not None:
            # Concurrent actors are outside the deterministic subset: their calls make calls
            # without tags, so nothing more with a tag can come of this one.
            self._dispatch(ctrl, frames)
            rt.send_done(ctrl[1], order[0])
        else:
            rt.completion.begin(ctrl)
            try:
                self._dispatch(ctrl, frames)
            finally:
                rt.completion.end()

    def _dispatch(self, ctrl, frames):
        rt = self.rt
        method = ctrl[4]
        if method == "__init__":
            self._construct(ctrl, frames)
            return
        if method == compiled.INSTALL:
            if self.reactions is None:
                self.reactions = compiled.ActorReactions(rt, self)
            (payload,), _ = ser.deserialize(frames[0])
            self.reactions.install(*payload)
            return
        if self.init_error is not None:
            rt._reply(ctrl[1], ctrl[2], ctrl[3], [self.init_error], True)
            return
        if method == "__ray_terminate__":  # as ray.actor.exit_actor()
            rt.exiting = True
            raise SystemExit(0)
        if method == "__ray_ready__":
            fn = _ready
        else:
            fn = getattr(self.instance, method, None)
            if fn is None:
                err = AttributeError(f"'{self.cls_name}' object has no attribute '{method}'")
                rt._reply(ctrl[1], ctrl[2], ctrl[3],
                          [exc.RayTaskError(method, str(err), err)], True)
                return
        label = f"{self.cls_name}.{method}"
        if self.event_loop is not None or self.pool is not None:
            with self._running_lock:
                self.running += 1
            if self.event_loop is not None:
                fut = asyncio.run_coroutine_threadsafe(
                    self._run_async(ctrl, frames, fn, label), self.event_loop)
            else:
                fut = self.pool.submit(self._run_threaded, ctrl, frames, fn, label)
            fut.add_done_callback(self._concurrent_call_done)
        else:
            rt.current_call = ctrl
            _test_delay()
            rt.execute(ctrl, frames, fn, label, actor_repr=self.cls_name)
            rt.current_call = None

    def _run_threaded(self, ctrl, frames, fn, label):
        CONCURRENT_CALL.set(ctrl)
        try:
            self.rt.execute(ctrl, frames, fn, label, actor_repr=self.cls_name)
        except SystemExit:
            os._exit(0)

    async def _run_async(self, ctrl, frames, fn, label):
        async with self.async_slots:  # at most max_concurrency calls at once, as in Ray
            await self._run_async_call(ctrl, frames, fn, label)

    async def _run_async_call(self, ctrl, frames, fn, label):
        rt = self.rt
        CONCURRENT_CALL.set(ctrl)  # (this asyncio task's own context)
        prepared = rt.prepare_call(ctrl, frames, label, self.cls_name)
        if prepared is None:
            return
        args, kwargs, _holders = prepared
        try:
            value = fn(*args, **kwargs)
            if inspect.isawaitable(value):
                value = await value
        except SystemExit:
            os._exit(0)
        except BaseException as e:  # noqa: BLE001 - travels to the caller
            rt.fail_call(ctrl, e, label, self.cls_name)
            return
        rt.finish_call(ctrl, value, label)

    def _construct(self, ctrl, frames):
        rt = self.rt
        cls = ser.deserialize_code(frames[1])
        frames = [frames[0]] + frames[2:]
        class_name, concurrency, rt.actor_name, rt.actor_qualname = ctrl[6][:4]
        rt.reconstructed = len(ctrl[6]) > 4  # started again after its process died
        self.cls_name = self.log_name = cls.__name__
        rt.call_order.label = cls.__name__
        if concurrency > 1 or _is_async(cls) or getattr(cls, "__rayreact_arrival_order__", False):
            rt.call_order = None
        rt.current_actor = rt.proc
        rt.current_actor_handle = ActorHandle(rt.proc, os.getpid(), cls.__name__,
                                              _method_table(cls), _is_async(cls))
        self.instance = cls.__new__(cls)
        holders = rt._import(ctrl[8]) if ctrl[8] else None  # noqa: F841 - alive until __init__ ran
        try:
            args, kwargs = ser.deserialize(frames[0])
            args = [rt._resolve(a, frames) for a in args]
            kwargs = {k: rt._resolve(v, frames) for k, v in kwargs.items()}
            rt.current_call = ctrl
            self.instance.__init__(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001 - kept: every later call reports it
            if isinstance(e, SystemExit):
                raise
            tb = traceback.format_exc()
            self.init_error = exc.ActorDiedError(
                None, "The actor died because of an error raised in its creation task, "
                f"{self.cls_name}.__init__:\n{tb}", actor_init_failed=True)
            sys.stderr.write(tb)
            return
        finally:
            rt.current_call = None
        if cls.__repr__ is not object.__repr__:  # Ray names an actor's output by its repr
            try:
                self.log_name = repr(self.instance)
            except Exception:  # noqa: BLE001 - a broken __repr__: keep the class name
                pass
        # The constructor ran alone; from here on calls may run concurrently.
        if _is_async(cls):
            self.async_slots = asyncio.Semaphore(concurrency)
            self.event_loop = asyncio.new_event_loop()
            threading.Thread(target=self.event_loop.run_forever, name="rayreact-asyncio",
                             daemon=True).start()
            rt.threaded = True
        elif concurrency > 1:
            self.pool = ThreadPoolExecutor(concurrency, thread_name_prefix="rayreact-actor")
            rt.threaded = True


def _ready():
    return True


def _any(_ctrl):
    return True


class TaskLoop(_Loop):
    """Runs remote functions taken from the shared task queue."""

    def __init__(self, rt, temporary=False):
        super().__init__(rt)
        rt.run_task = self.run_task
        self.temporary = temporary
        signal.signal(signal.SIGINT, self._on_interrupt)

    def _on_interrupt(self, _signum, frame):
        """SIGINT: ray.cancel interrupts the running task with a KeyboardInterrupt, as Ray's
        does (Runtime.cancel names the task in this inbox's header first). Any other SIGINT,
        such as Ctrl-C at a terminal reaching the whole process group, is the driver's to
        handle: the driver ends the workers."""
        rt = self.rt
        call = rt.current_call
        if call is None or rt.inbox.interrupt_requested() != call[2] & _LOW64:
            return
        if frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
            # The task is inside the runtime (a nested get, a send): an exception there could
            # leave a ring half written. Look again soon, once it is back in its own code.
            timer = threading.Timer(0.005, os.kill, (os.getpid(), signal.SIGINT))
            timer.daemon = True
            timer.start()
            return
        rt.inbox.request_interrupt(0)
        raise KeyboardInterrupt

    def run(self):
        rt = self.rt
        last = time.monotonic()
        while True:
            rt._drain()
            data = rt._tasks.recv_nowait()
            if data is not None:
                self.run_task(data)
                last = time.monotonic()
                continue
            if self.temporary and time.monotonic() - last > _EXTRA_IDLE:
                raise SystemExit(0)
            # Idle: the wait also watches the task queue, so a submitter need wake only one
            # idle worker per task (Runtime.wake_pool)
            self.idle_wait(rt._tasks.has_data, IDLE)

    def run_task(self, data):
        rt = self.rt
        ctrl, frames = rt._decode(data)
        if ctrl[0] != CALL:
            return
        _, caller, first, num_returns, name, fn_key = ctrl[:6]
        fn = rt.function_cache.get(fn_key)
        if fn is None:
            fn = rt.function_cache[fn_key] = ser.deserialize_code(frames[1])
        self.log_name = ctrl[6] or getattr(fn, "__name__", "")  # the task's name, as Ray's
        frames = [frames[0]] + frames[2:]
        rt._drain()  # a CANCEL for this task may be waiting
        outer = rt.inbox.status()
        rt.inbox.set_status(caller, first & _LOW64, 1)
        prev, rt.current_call = rt.current_call, ctrl
        rt.completion.begin(ctrl)
        try:
            _test_delay()
            rt.execute(ctrl, frames, fn, name)
        except SystemExit:
            # sys.exit() in a task ends its worker, as in Ray: exit now, leaving the status
            # that names this task, so the monitor retries or fails it as a crashed worker's
            os._exit(1)
        finally:
            rt.completion.end()
            rt.current_call = prev
            rt.inbox.set_status(*outer)


if __name__ == "__main__":
    main()
