"""ray.util.queue (rayreact.util.queue for the rayreact backend).

Ray raises some of these errors wrapped in RayTaskError (e.g. a ``get`` that timed out
raises ``RayTaskError(Empty)``); the tests only rely on them being ``Empty`` / ``Full``.
Not tested on purpose: ``get(timeout=0)`` / ``put(timeout=0)``, which on Ray 2.60 with
Python 3.11 raise Empty/Full even when an item/slot is available (an asyncio.wait_for quirk).
"""

import asyncio
import importlib
import queue as std_queue

import pytest


def _queue_module(ray):
    return importlib.import_module(ray.__name__ + ".util.queue")


def test_exceptions_subclass_stdlib(ray):
    qm = _queue_module(ray)
    assert issubclass(qm.Empty, std_queue.Empty)
    assert issubclass(qm.Full, std_queue.Full)


def test_fifo_sizes_and_flags(ray):
    qm = _queue_module(ray)
    q = qm.Queue(maxsize=3)
    assert q.maxsize == 3
    assert (q.empty(), q.full(), q.qsize(), q.size(), len(q)) == (True, False, 0, 0, 0)
    q.put("a")
    q.put_nowait("b")
    q.put("c", block=False)
    assert (q.empty(), q.full(), q.qsize(), q.size(), len(q)) == (False, True, 3, 3, 3)
    assert [q.get(), q.get_nowait(), q.get(block=False)] == ["a", "b", "c"]
    assert q.empty()


def test_unbounded_queue(ray):
    qm = _queue_module(ray)
    q = qm.Queue()
    assert q.maxsize == 0
    q.put_nowait_batch(list(range(500)))
    assert q.qsize() == 500
    assert q.full() is False
    assert q.get_nowait_batch(500) == list(range(500))


def test_nonblocking_errors(ray):
    qm = _queue_module(ray)
    q = qm.Queue(maxsize=1)
    with pytest.raises(qm.Empty):
        q.get_nowait()
    with pytest.raises(std_queue.Empty):
        q.get(block=False)
    q.put(1)
    with pytest.raises(qm.Full) as info:
        q.put_nowait(2)
    # raised in the caller, as Ray's: not a RayTaskError
    assert not isinstance(info.value, ray.exceptions.RayTaskError)
    with pytest.raises(std_queue.Full):
        q.put(2, block=False)
    assert q.qsize() == 1
    assert q.get() == 1


def test_blocking_timeouts(ray):
    qm = _queue_module(ray)
    q = qm.Queue(maxsize=1)
    # Ray raises these in the queue's actor: they arrive as RayTaskError(Empty/Full)
    with pytest.raises(qm.Empty) as info:
        q.get(timeout=0.05)
    assert isinstance(info.value, ray.exceptions.RayTaskError)
    q.put("only")
    with pytest.raises(qm.Full) as info:
        q.put("more", timeout=0.05)
    assert isinstance(info.value, ray.exceptions.RayTaskError)
    assert q.get(timeout=5) == "only"
    with pytest.raises(ValueError):
        q.get(timeout=-1)
    with pytest.raises(ValueError):
        q.put(1, timeout=-1)


def test_batches(ray):
    qm = _queue_module(ray)
    q = qm.Queue(maxsize=3)
    q.put_nowait_batch([1, 2])
    with pytest.raises(qm.Full) as info:
        q.put_nowait_batch([3, 4])  # all or nothing
    assert isinstance(info.value, ray.exceptions.RayTaskError)
    assert q.qsize() == 2
    q.put_nowait_batch((3,))
    with pytest.raises(qm.Empty) as info:
        q.get_nowait_batch(4)  # all or nothing
    assert isinstance(info.value, ray.exceptions.RayTaskError)
    assert q.qsize() == 3
    assert q.get_nowait_batch(0) == []
    assert q.get_nowait_batch(2) == [1, 2]
    assert q.get_nowait_batch(1) == [3]
    with pytest.raises(TypeError):
        q.put_nowait_batch(5)
    with pytest.raises(TypeError):
        q.get_nowait_batch("1")
    with pytest.raises(ValueError):
        q.get_nowait_batch(-1)


def test_producer_actor_consumer_driver(ray):
    qm = _queue_module(ray)

    @ray.remote
    class Producer:
        def produce(self, q, n):
            for i in range(n):
                q.put(i)  # blocks while the queue is full
            return "done"

    q = qm.Queue(maxsize=2)
    p = Producer.remote()
    done = p.produce.remote(q, 30)
    got = [q.get(timeout=60) for _ in range(30)]
    assert got == list(range(30))
    assert ray.get(done) == "done"
    assert q.empty()


def test_consumer_task_blocks_until_put(ray):
    qm = _queue_module(ray)

    @ray.remote
    def consume(q, n):
        return [q.get(timeout=60) for _ in range(n)]

    q = qm.Queue()
    ref = consume.remote(q, 3)
    for item in ("x", "y", "z"):
        q.put(item)
    assert ray.get(ref) == ["x", "y", "z"]


def test_async_put_and_get(ray):
    qm = _queue_module(ray)
    q = qm.Queue(maxsize=1)

    async def scenario():
        await q.put_async("a")
        with pytest.raises(qm.Full):
            await q.put_async("b", block=False)
        with pytest.raises(qm.Full):
            await q.put_async("b", timeout=0.05)
        first = await q.get_async()
        with pytest.raises(qm.Empty):
            await q.get_async(block=False)
        with pytest.raises(qm.Empty):
            await q.get_async(timeout=0.05)
        return first

    assert asyncio.run(scenario()) == "a"


def test_shutdown(ray):
    qm = _queue_module(ray)
    q = qm.Queue()
    q.put(1)
    assert q.shutdown() is None
    assert q.actor is None
    q.shutdown()  # again: no-op
    q2 = qm.Queue()
    q2.shutdown(force=True)
    assert q2.actor is None


def test_actor_options_are_passed(ray):
    qm = _queue_module(ray)
    q = qm.Queue(maxsize=2, actor_options={"num_cpus": 0})
    q.put("opt")
    assert q.get() == "opt"
