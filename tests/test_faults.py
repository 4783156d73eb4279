"""Dead processes fail calls with Ray's errors, never a hang, and the runtime stays usable."""

import os
import signal
import threading

import pytest

from rayreact.exceptions import (ActorDiedError, OwnerDiedError, RayActorError,
                                 WorkerCrashedError)


def test_segfault_in_actor_fails_pending_and_later_calls(rr):
    @rr.remote
    class A:
        def crash(self):
            import ctypes
            ctypes.string_at(0)  # SIGSEGV

        def ok(self):
            return 1

    a = A.remote()
    assert rr.get(a.ok.remote()) == 1
    crash = a.crash.remote()
    pending = a.ok.remote()
    with pytest.raises(RayActorError):
        rr.get(crash)
    with pytest.raises(ActorDiedError):
        rr.get(pending)
    with pytest.raises(RayActorError):
        rr.get(a.ok.remote())


def test_sigkill_from_outside_fails_calls(rr):
    @rr.remote
    class A:
        def pid(self):
            return os.getpid()

    a = A.remote()
    pid = rr.get(a.pid.remote())
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(RayActorError):
        rr.get(a.pid.remote())


def test_task_worker_crash_is_worker_crashed_error_and_pool_recovers(rr):
    @rr.remote
    def die():
        os._exit(3)

    @rr.remote
    def add(a, b):
        return a + b

    with pytest.raises(WorkerCrashedError):
        rr.get(die.remote())
    assert rr.get([add.remote(i, 1) for i in range(20)]) == list(range(1, 21))


def test_unpicklable_argument_leaves_runtime_usable(rr):
    @rr.remote
    def f(x):
        return x

    with pytest.raises(TypeError, match="lock"):
        f.remote(threading.Lock())
    assert rr.get(f.remote(5)) == 5


def test_borrowed_ref_of_dead_owner_raises_owner_died(rr):
    @rr.remote
    class Owner:
        def make(self):
            return [rr.put("value")]  # the ref inside is owned by this actor

    @rr.remote
    def read(lst):
        return rr.get(lst[0])

    o = Owner.remote()
    inner = rr.get(o.make.remote())
    assert rr.get(inner[0]) == "value"
    rr.kill(o)
    # Another owner, kept alive by its handle (an anonymous actor whose handle is dropped
    # exits, and its objects with it: racing the read, as it did once workers started fast).
    keeper = Owner.remote()
    fresh = rr.get(keeper.make.remote())
    assert rr.get(read.remote(fresh)) == "value"
    del keeper


def test_get_on_ref_owned_by_killed_actor(rr):
    @rr.remote
    class Owner:
        def make(self):
            return [rr.put("v")]

        def pid(self):
            return os.getpid()

    o = Owner.remote()
    holder = rr.get(o.make.remote())
    os.kill(rr.get(o.pid.remote()), signal.SIGKILL)
    with pytest.raises(OwnerDiedError):
        rr.get(holder[0])


@pytest.mark.parametrize("options", [{}, {"max_restarts": 2}])
def test_an_actor_whose_handles_are_dropped_exits(rr, options):
    # Also one that may be restarted: the restart record must not keep it in scope.
    import gc

    import psutil

    @rr.remote
    class A:
        def pid(self):
            return os.getpid()

    a = A.options(**options).remote()
    proc = psutil.Process(rr.get(a.pid.remote()))
    del a
    gc.collect()
    proc.wait(timeout=30)  # returns once the process has exited (raises on timeout)
    assert not proc.is_running()
