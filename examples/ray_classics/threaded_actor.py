"""A threaded actor: ``max_concurrency`` calls at once on a thread pool.

In the style of Ray's "Threaded Actors" guide: ``.options(max_concurrency=N)`` lets a
regular (non-async) actor run up to N calls at the same time, each in its own thread.
Concurrency is shown without timing: the calls meet at a ``threading.Barrier`` of N
parties, which they can only pass if all N run together. The shared counter is protected
by a lock, as the guide recommends. A plain actor (``max_concurrency=1``) runs the same
calls one at a time.
"""

import threading

import ray

N = 4


@ray.remote
class ThreadedActor:
    def __init__(self, parties):
        self.barrier = threading.Barrier(parties, timeout=60)
        self.lock = threading.Lock()
        self.count = 0
        self.threads = set()

    def meet(self, i):
        self.barrier.wait()  # returns only once `parties` calls are waiting together
        with self.lock:
            self.count += 1
            self.threads.add(threading.get_ident())
        return i

    def add(self, k):
        with self.lock:
            self.count += k
        return k

    def stats(self):
        with self.lock:
            return self.count, len(self.threads)


@ray.remote
class Counter:
    def __init__(self):
        self.in_call = False
        self.overlaps = 0
        self.value = 0

    def add(self, k):
        if self.in_call:
            self.overlaps += 1
        self.in_call = True
        self.value += k
        self.in_call = False
        return self.value

    def stats(self):
        return self.value, self.overlaps


if __name__ == "__main__":
    ray.init()

    actor = ThreadedActor.options(max_concurrency=N).remote(N)
    # Two rounds of N concurrent calls.
    assert ray.get([actor.meet.remote(i) for i in range(2 * N)]) == list(range(2 * N))
    count, threads = ray.get(actor.stats.remote())
    assert count == 2 * N and threads >= N, (count, threads)
    print(f"{2 * N} calls met at a barrier of {N} parties")

    # Many concurrent increments: the lock keeps the count exact.
    assert sum(ray.get([actor.add.remote(k) for k in range(100)])) == sum(range(100))
    count, _ = ray.get(actor.stats.remote())
    assert count == 2 * N + sum(range(100))
    print(f"counter after 100 concurrent adds: {count}")

    # The default actor runs one call at a time, in submission order.
    counter = Counter.remote()
    values = ray.get([counter.add.remote(k) for k in range(1, 11)])
    assert values == [sum(range(1, k + 1)) for k in range(1, 11)]
    assert ray.get(counter.stats.remote()) == (55, 0)
    print(f"sequential actor: {values}")
    print("threaded_actor: OK")
