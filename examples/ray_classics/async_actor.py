"""An async actor: ``async def`` methods, awaiting object refs.

In the style of Ray's "AsyncIO / Concurrency for Actors" guide: an actor whose methods are
coroutines runs its calls concurrently on one event loop. Here:

* ``wait_for_all`` proves the concurrency without any timing: each call waits on an
  ``asyncio.Event`` that only the last of N calls sets, so the N calls can finish only if
  they all run at the same time;
* ``fan_out`` awaits object refs of remote tasks directly (``await ref`` and
  ``asyncio.gather`` over refs) without blocking the actor's loop;
* a ``Signal`` async actor lets one task block until the driver releases it.
"""

import asyncio

import ray


@ray.remote
def square(x):
    return x * x


@ray.remote
class Signal:
    def __init__(self):
        self.ready_event = asyncio.Event()

    def send(self):
        self.ready_event.set()

    async def wait(self):
        await self.ready_event.wait()


@ray.remote
class AsyncActor:
    def __init__(self, n):
        self.n = n
        self.arrived = 0
        self.max_in_flight = 0
        self.in_flight = 0
        self.all_arrived = None

    async def wait_for_all(self, i):
        if self.all_arrived is None:
            self.all_arrived = asyncio.Event()
        self.arrived += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        if self.arrived == self.n:
            self.all_arrived.set()
        await self.all_arrived.wait()
        self.in_flight -= 1
        return i * 10

    async def fan_out(self, xs):
        first = await square.remote(xs[0])  # await one ref
        rest = await asyncio.gather(*[square.remote(x) for x in xs[1:]])  # many refs
        return [first] + list(rest)

    async def wait_for_signal(self, signal, value):
        await signal.wait.remote()
        return value

    async def stats(self):
        return self.arrived, self.max_in_flight


if __name__ == "__main__":
    ray.init()
    N = 8

    actor = AsyncActor.remote(N)
    results = ray.get([actor.wait_for_all.remote(i) for i in range(N)])
    assert results == [i * 10 for i in range(N)]
    arrived, max_in_flight = ray.get(actor.stats.remote())
    assert (arrived, max_in_flight) == (N, N)
    print(f"{N} calls ran concurrently on the actor's event loop: {results}")

    squares = ray.get(actor.fan_out.remote(list(range(10))))
    assert squares == [x * x for x in range(10)]
    print(f"awaited refs: {squares}")

    # A call blocked on a signal does not block the actor's other calls.
    signal = Signal.remote()
    blocked = actor.wait_for_signal.remote(signal, "released")
    assert ray.get(actor.fan_out.remote([3, 4])) == [9, 16]
    ready, not_ready = ray.wait([blocked], timeout=0.2)
    assert ready == [] and not_ready == [blocked]
    signal.send.remote()
    print(f"blocked call: {ray.get(blocked)}")
    print("async_actor: OK")
