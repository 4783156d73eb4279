"""ray.util.ActorPool (rayreact.util.ActorPool for the rayreact backend)."""

import os

import pytest


def _worker_class(ray):
    @ray.remote
    class Worker:
        def double(self, x):
            return 2 * x

        def wait_gate(self, port, waiter):
            return waiter(port)

        def die(self):
            os._exit(1)

    return Worker


def test_actor_pool_reachable_as_attribute(ray):
    assert callable(ray.util.ActorPool)


def test_map_is_ordered(ray):
    W = _worker_class(ray)
    pool = ray.util.ActorPool([W.remote(), W.remote()])
    out = pool.map(lambda a, v: a.double.remote(v), range(10))
    assert not isinstance(out, list)  # an iterator, consumed lazily
    assert list(out) == [2 * i for i in range(10)]
    assert pool.has_next() is False
    # The pool can be mapped again.
    assert list(pool.map(lambda a, v: a.double.remote(v), [5, 6])) == [10, 12]


def test_map_unordered(ray):
    W = _worker_class(ray)
    pool = ray.util.ActorPool([W.remote(), W.remote()])
    out = list(pool.map_unordered(lambda a, v: a.double.remote(v), range(10)))
    assert sorted(out) == [2 * i for i in range(10)]


def test_submit_get_next_has_next_has_free(ray):
    W = _worker_class(ray)
    a1 = W.remote()
    pool = ray.util.ActorPool([a1])
    assert pool.has_next() is False
    assert pool.has_free() is True
    pool.submit(lambda a, v: a.double.remote(v), 1)
    assert pool.has_next() is True
    assert pool.has_free() is False
    pool.submit(lambda a, v: a.double.remote(v), 2)  # waits for a free actor
    pool.submit(lambda a, v: a.double.remote(v), 3)
    assert [pool.get_next(), pool.get_next(), pool.get_next()] == [2, 4, 6]
    assert pool.has_next() is False
    assert pool.has_free() is True


def test_get_next_on_empty_pool_raises_stop_iteration(ray):
    W = _worker_class(ray)
    pool = ray.util.ActorPool([W.remote()])
    with pytest.raises(StopIteration, match="No more results to get"):
        pool.get_next()
    with pytest.raises(StopIteration, match="No more results to get"):
        pool.get_next_unordered()


def test_pop_idle_and_push(ray):
    W = _worker_class(ray)
    a1, a2 = W.remote(), W.remote()
    pool = ray.util.ActorPool([a1])
    pool.submit(lambda a, v: a.double.remote(v), 1)
    assert pool.pop_idle() is None  # the only actor is busy
    with pytest.raises(ValueError, match="already belongs"):
        pool.push(a1)  # busy member
    pool.push(a2)
    with pytest.raises(ValueError, match="already belongs"):
        pool.push(a2)  # idle member
    assert pool.get_next() == 2
    popped = {pool.pop_idle(), pool.pop_idle()}
    assert popped == {a1, a2}
    assert pool.pop_idle() is None
    assert pool.has_free() is False
    # A submission with no actor waits; push gives it one.
    pool.submit(lambda a, v: a.double.remote(v), 21)
    assert pool.has_next() is False  # not dispatched yet
    pool.push(a1)
    assert pool.has_next() is True
    assert pool.get_next() == 42


def test_get_next_timeout(ray, gate):
    W = _worker_class(ray)
    pool = ray.util.ActorPool([W.remote(), W.remote()])
    waiter = gate.waiter
    pool.submit(lambda a, port: a.wait_gate.remote(port, waiter), gate.port)
    pool.submit(lambda a, v: a.double.remote(v), 4)
    gate.entered()
    # The builtin TimeoutError (Ray raises TimeoutError, not GetTimeoutError).
    with pytest.raises(TimeoutError):
        pool.get_next(timeout=0.05)
    with pytest.raises(TimeoutError):
        pool.get_next(timeout=0)
    assert pool.has_next() is True
    gate.release()
    assert pool.get_next(timeout=60) == "x"
    assert pool.get_next() == 8


def test_get_next_unordered_returns_ready_result_first(ray, gate):
    W = _worker_class(ray)
    pool = ray.util.ActorPool([W.remote(), W.remote()])
    waiter = gate.waiter
    pool.submit(lambda a, port: a.wait_gate.remote(port, waiter), gate.port)
    gate.entered()
    pool.submit(lambda a, v: a.double.remote(v), 5)
    assert pool.get_next_unordered() == 10  # the blocked one cannot be ready
    with pytest.raises(TimeoutError):
        pool.get_next_unordered(timeout=0.05)
    # get_next() after get_next_unordered() skipped past a pending result: ValueError.
    with pytest.raises(ValueError):
        pool.get_next()
    gate.release()
    assert pool.get_next_unordered() == "x"
    assert pool.has_next() is False


def test_get_next_ignore_if_timedout_drops_the_task(ray, gate):
    W = _worker_class(ray)
    pool = ray.util.ActorPool([W.remote()])
    waiter = gate.waiter
    pool.submit(lambda a, port: a.wait_gate.remote(port, waiter), gate.port)
    gate.entered()
    pool.submit(lambda a, v: a.double.remote(v), 7)  # queued: no free actor
    assert pool.has_free() is False
    with pytest.raises(TimeoutError, match="ignored"):
        pool.get_next(timeout=0.05, ignore_if_timedout=True)
    # The blocked task was dropped, its actor reused for the queued submission.
    assert pool.has_next() is True
    gate.release()
    assert pool.get_next() == 14
    assert pool.has_next() is False


def test_dead_actor_is_removed_from_pool(ray):
    # Ray 2.60: an actor whose call raised ActorDiedError is not returned to the pool.
    W = _worker_class(ray)
    pool = ray.util.ActorPool([W.remote(), W.remote()])
    pool.submit(lambda a, v: a.die.remote(), None)
    pool.submit(lambda a, v: a.double.remote(v), 3)
    pool.submit(lambda a, v: a.double.remote(v), 4)  # waits for a free actor
    results = []
    while pool.has_next():
        try:
            results.append(pool.get_next())
        except ray.exceptions.ActorDiedError:
            results.append("died")
    assert results == ["died", 6, 8]
    assert pool.pop_idle() is not None  # the survivor
    assert pool.pop_idle() is None


def test_task_error_propagates_and_actor_is_reused(ray):
    @ray.remote
    class Picky:
        def check(self, x):
            if x < 0:
                raise ValueError("negative")
            return x

    pool = ray.util.ActorPool([Picky.remote()])
    pool.submit(lambda a, v: a.check.remote(v), -1)
    pool.submit(lambda a, v: a.check.remote(v), 1)
    with pytest.raises(ValueError):
        pool.get_next()
    assert pool.get_next() == 1
