"""Async actors and threaded actors run calls concurrently, as in Ray: a call may wait for a
later call to the same actor."""

import asyncio
import threading


def test_async_actor_call_waits_for_a_later_call(ray):
    @ray.remote
    class Signal:
        def __init__(self):
            self.event = asyncio.Event()

        async def wait(self):
            await self.event.wait()
            return "released"

        async def send(self):
            self.event.set()

    s = Signal.remote()
    waiting = s.wait.remote()
    ready, _ = ray.wait([waiting], timeout=0.2)
    assert ready == []  # blocked until send() runs, which it can: calls are concurrent
    ray.get(s.send.remote())
    assert ray.get(waiting) == "released"


def test_threaded_actor_runs_calls_concurrently(ray):
    @ray.remote(max_concurrency=2)
    class Gate:
        def __init__(self):
            self.event = threading.Event()

        def wait(self):
            return self.event.wait(timeout=60)

        def open(self):
            self.event.set()

    g = Gate.remote()
    waiting = g.wait.remote()
    ray.get(g.open.remote())
    assert ray.get(waiting) is True


def test_async_actor_awaits_refs(ray):
    @ray.remote
    def double(x):
        return 2 * x

    @ray.remote
    class Gather:
        async def total(self, n):
            values = await asyncio.gather(*[double.remote(i) for i in range(n)])
            return sum(values)

    assert ray.get(Gather.remote().total.remote(10)) == 90


def test_async_actor_method_error(ray):
    @ray.remote
    class Boom:
        async def go(self):
            await asyncio.sleep(0)
            raise KeyError("async boom")

    import pytest

    with pytest.raises(KeyError):
        ray.get(Boom.remote().go.remote())


def test_async_actor_runs_at_most_max_concurrency_calls_at_once(ray):
    # Ray caps the calls an async actor runs at once at max_concurrency (default 1000).
    @ray.remote
    class Gauge:
        def __init__(self):
            self.active = 0
            self.peak = 0

        async def work(self):
            self.active += 1
            self.peak = max(self.peak, self.active)
            await asyncio.sleep(0.05)
            self.active -= 1

        async def get_peak(self):
            return self.peak

    for limit in (1, 2):
        g = Gauge.options(max_concurrency=limit).remote()
        ray.get([g.work.remote() for _ in range(5)])
        assert ray.get(g.get_peak.remote()) == limit
    g = Gauge.remote()
    ray.get([g.work.remote() for _ in range(5)])
    assert ray.get(g.get_peak.remote()) == 5


def test_a_concurrent_actor_whose_handle_is_dropped_finishes_its_calls(ray):
    # Ray: an actor out of scope still runs the calls it was sent (here the handle is a
    # temporary, gone before the call has run), threaded and async alike.
    @ray.remote
    class Slow:
        def work(self):
            threading.Event().wait(0.2)
            return "threaded done"

    @ray.remote
    class AsyncSlow:
        async def work(self):
            await asyncio.sleep(0.2)
            return "async done"

    # (not inside the assert statements: pytest's rewriting of them would keep the handles)
    threaded = ray.get(Slow.options(max_concurrency=2).remote().work.remote())
    in_async = ray.get(AsyncSlow.remote().work.remote())
    assert (threaded, in_async) == ("threaded done", "async done")
