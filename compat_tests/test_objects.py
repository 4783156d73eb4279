"""get / put / wait and ObjectRef."""

import random

import numpy as np
import pytest


# ------------------------------------------------------------------------------ get
def test_get_single_and_list_keep_order(ray):
    @ray.remote
    def sq(x):
        return x * x

    refs = [sq.remote(i) for i in range(20)]
    assert ray.get(refs[3]) == 9
    assert ray.get(refs) == [i * i for i in range(20)]
    assert ray.get(list(reversed(refs))) == [i * i for i in reversed(range(20))]
    assert ray.get([refs[1], refs[1]]) == [1, 1]


def test_get_empty_list(ray):
    assert ray.get([]) == []


def test_get_bad_arguments(ray):
    ref = ray.put(1)
    with pytest.raises(ValueError):
        ray.get(1)
    with pytest.raises(ValueError):  # a tuple is not accepted, only a list
        ray.get((ref,))
    # Surprise: a list holding a non-ref raises TypeError, a bare non-ref ValueError.
    with pytest.raises(TypeError):
        ray.get([ref, 1])


def test_get_timeout_raises_get_timeout_error(ray, gate):
    blocked = ray.remote(gate.waiter)

    ref = blocked.remote(gate.port)
    gate.entered()
    with pytest.raises(ray.exceptions.GetTimeoutError) as info:
        ray.get(ref, timeout=0.05)
    assert isinstance(info.value, TimeoutError)
    with pytest.raises(TimeoutError):
        ray.get([ray.put(1), ref], timeout=0)
    gate.release()
    assert ray.get(ref, timeout=60) == "x"


def test_get_timeout_zero_on_ready_ref(ray):
    ref = ray.put("ready")
    assert ray.get(ref, timeout=0) == "ready"


# ------------------------------------------------------------------------------ put
def test_put_roundtrip_and_types(ray):
    values = [0, "s", b"bytes", None, 1.5, {"a": [1, (2, 3)]}, {1, 2}, list(range(1000))]
    refs = [ray.put(v) for v in values]
    assert all(isinstance(r, ray.ObjectRef) for r in refs)
    assert ray.get(refs) == values


def test_put_of_a_ref_raises_type_error(ray):
    ref = ray.put(1)
    with pytest.raises(TypeError):
        ray.put(ref)
    # Wrapping it in a container is allowed; the inner ref stays a ref.
    outer = ray.put([ref])
    got = ray.get(outer)
    assert isinstance(got, list) and isinstance(got[0], ray.ObjectRef)
    assert ray.get(got[0]) == 1


def test_objects_are_immutable_copies(ray):
    src = [1, 2]
    ref = ray.put(src)
    src.append(3)  # mutating the source after put does not change the object
    first = ray.get(ref)
    assert first == [1, 2]
    first.append(99)  # mutating a fetched copy does not change the object either
    assert ray.get(ref) == [1, 2]


def test_numpy_arrays_come_back_read_only(ray):
    @ray.remote
    def make(n):
        return np.arange(n, dtype=np.int64)

    @ray.remote
    def inspect(arr):
        return bool(arr.flags.writeable), int(arr.sum())

    for n in (10, 200_000):
        src = np.arange(n, dtype=np.int64)
        got = ray.get(ray.put(src))
        assert isinstance(got, np.ndarray)
        np.testing.assert_array_equal(got, src)
        assert got.flags.writeable is False
        with pytest.raises(ValueError):
            got[0] = 5
        from_task = ray.get(make.remote(n))
        np.testing.assert_array_equal(from_task, src)
        assert from_task.flags.writeable is False
        # Arguments are read-only inside the task too.
        assert ray.get(inspect.remote(src)) == (False, int(src.sum()))


def test_object_ref_is_hashable_and_comparable(ray):
    a = ray.put(1)
    b = ray.put(1)
    assert a == a
    assert a != b
    assert len({a, a, b}) == 2
    d = {a: "a", b: "b"}
    assert d[a] == "a"


# ------------------------------------------------------------------------------ wait
def test_wait_returns_ready_first_in_input_order(ray):
    @ray.remote
    def ident(x):
        return x

    refs = [ident.remote(i) for i in range(8)]
    ray.get(refs)  # all finished
    shuffled = refs[:]
    random.Random(0).shuffle(shuffled)

    ready, not_ready = ray.wait(shuffled, num_returns=len(shuffled), fetch_local=True)
    assert ready == shuffled and not_ready == []

    # Which ready refs are returned when more are ready than asked for is up to Ray (it is
    # not the first ones of the list); both lists keep the input order.
    ready, not_ready = ray.wait(shuffled, num_returns=3)
    assert len(ready) == 3 and len(not_ready) == 5
    assert set(ready) | set(not_ready) == set(shuffled)
    assert ready == [r for r in shuffled if r in set(ready)]
    assert not_ready == [r for r in shuffled if r in set(not_ready)]


def test_wait_default_returns_the_ready_one(ray, gate):
    blocked = ray.remote(gate.waiter)

    @ray.remote
    def quick():
        return 1

    b = blocked.remote(gate.port)
    gate.entered()
    q = quick.remote()
    ready, not_ready = ray.wait([b, q])  # no timeout: returns once one is ready
    assert ready == [q] and not_ready == [b]

    # timeout=0 polls.
    assert ray.wait([b], timeout=0) == ([], [b])
    ready, not_ready = ray.wait([q, b], num_returns=2, timeout=0)
    assert ready == [q] and not_ready == [b]
    # A timeout with too few ready returns what is ready.
    ready, not_ready = ray.wait([b, q], num_returns=2, timeout=0.05)
    assert ready == [q] and not_ready == [b]

    gate.release()
    ready, not_ready = ray.wait([b, q], num_returns=2)
    assert ready == [b, q] and not_ready == []


def test_wait_bad_arguments(ray):
    r1, r2 = ray.put(1), ray.put(2)
    with pytest.raises(ValueError):  # duplicates
        ray.wait([r1, r1])
    with pytest.raises(ValueError):  # num_returns > len
        ray.wait([r1, r2], num_returns=3)
    with pytest.raises(ValueError):
        ray.wait([r1], num_returns=0)
    with pytest.raises(TypeError):  # a single ref, not a list
        ray.wait(r1)
    with pytest.raises(TypeError):
        ray.wait((r1, r2))
    with pytest.raises(TypeError):
        ray.wait([r1, 5])


def test_wait_empty_list(ray):
    # Surprise: an empty list is fine (num_returns=1 > len 0 is not checked then).
    assert ray.wait([]) == ([], [])


def test_get_with_a_negative_timeout_waits(ray):
    assert ray.get(ray.put(5), timeout=-1) == 5


def test_a_ref_is_a_future_and_an_awaitable(ray):
    # ref.future(): a concurrent.futures.Future; `await ref` and ref.as_future() in asyncio
    # code (the driver's own event loop); a task's error is the future's exception.
    import asyncio
    import concurrent.futures

    @ray.remote
    def double(x):
        return 2 * x

    @ray.remote
    def fails():
        raise ValueError("from the task")

    fut = double.remote(4).future()
    assert isinstance(fut, concurrent.futures.Future)
    assert fut.result(timeout=60) == 8
    with pytest.raises(ValueError):
        fails.remote().future().result(timeout=60)

    async def main():
        direct = await double.remote(5)
        wrapped = ray.get(double.remote(6))
        as_future = double.remote(7).as_future()
        assert isinstance(as_future, asyncio.Future)
        gathered = await asyncio.gather(double.remote(8), as_future)
        with pytest.raises(ValueError):
            await fails.remote()
        return direct, wrapped, gathered

    assert asyncio.run(main()) == (10, 12, [16, 14])


def test_object_ref_ids(ray):
    # An object id is 28 bytes: the id of the call that makes it (a TaskID, 24 bytes), then
    # the index of the return value.
    @ray.remote
    def f():
        return 1

    for ref in (ray.put(1), f.remote()):
        assert ref.size() == 28 and not ref.is_nil()
        assert len(ref.hex()) == 56 and ref.binary() == bytes.fromhex(ref.hex())
        task = ref.task_id()
        assert type(task).__name__ == "TaskID" and task.binary() == ref.binary()[:24]
        assert type(ref.job_id()).__name__ == "JobID"
        assert ref.job_id().hex() == ray.get_runtime_context().get_job_id()
