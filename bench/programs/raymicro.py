import ray

# Ray's own microbenchmarks (``ray microbenchmark``, ray/_private/ray_perf.py in Ray 2.60),
# the cases a Ray user compares first, with the same names and the same loop bodies.
# Each ``measure(name, iters)`` runs one body ``iters`` times and reports operations/second
# (a body of 1,000 calls counts 1,000 operations, as Ray's ``timeit`` multiplier does).

import os
import time

import numpy as np


@ray.remote(num_cpus=0)
class Actor:
    def small_value(self):
        return b"ok"

    def small_value_arg(self, x):
        return b"ok"


@ray.remote(num_cpus=0)
class Client:
    def __init__(self, servers):
        self.servers = servers if isinstance(servers, list) else [servers]

    def small_value_batch(self, n):
        results = []
        for s in self.servers:
            results.extend([s.small_value.remote() for _ in range(n)])
        ray.get(results)


@ray.remote
def small_value():
    return b"ok"


@ray.remote
def work(actors, n):
    ray.get([actors[i % len(actors)].small_value.remote() for i in range(n)])


N_CPU = max(1, (os.cpu_count() or 2) // 2)  # Ray's choice of n for the 1:n and n:n cases


def setup(batch=1000, put_mib=800):
    state = {
        "actor": Actor.remote(),
        "servers": [Actor.remote() for _ in range(N_CPU)],
        "nn_actors": [Actor.remote() for _ in range(N_CPU)],
        "value": ray.put(0),
        "arr": np.zeros(put_mib * 1024 * 1024 // 8, dtype=np.int64),
        "batch": batch,
    }
    state["client"] = Client.remote(state["servers"])
    ray.get([a.small_value.remote() for a in [state["actor"]] + state["servers"]
             + state["nn_actors"]])
    ray.get(small_value.remote())
    return state


def teardown(state):
    # Explicitly: a handle kept alive elsewhere (e.g. by a torn-down compiled graph) would
    # otherwise keep the actor running through the next workloads.
    for actor in [state["actor"], state["client"]] + state["servers"] + state["nn_actors"]:
        ray.kill(actor)
    state.clear()


def _bodies(state):
    """name -> (body, operations per body)."""
    b = state["batch"]
    a = state["actor"]
    arr = state["arr"]
    value = state["value"]

    def tasks_sync():
        ray.get(small_value.remote())

    def tasks_async():
        ray.get([small_value.remote() for _ in range(b)])

    def actor_sync():
        ray.get(a.small_value.remote())

    def actor_async():
        ray.get([a.small_value.remote() for _ in range(b)])

    def one_to_n():
        ray.get(state["client"].small_value_batch.remote(b))

    def n_to_n():
        ray.get([work.remote(state["nn_actors"], b) for _ in range(4)])

    def get_calls():
        ray.get(value)

    def put_calls():
        ray.put(0)

    def put_gigabytes():
        ray.put(arr)

    def wait_1k():
        not_ready = [small_value.remote() for _ in range(1000)]
        for _ in range(1000):
            _, not_ready = ray.wait(not_ready)

    return {
        "single client tasks sync": (tasks_sync, 1),
        "single client tasks async": (tasks_async, b),
        "1:1 actor calls sync": (actor_sync, 1),
        "1:1 actor calls async": (actor_async, b),
        "1:n actor calls async": (one_to_n, b * N_CPU),
        "n:n actor calls async": (n_to_n, 4 * b),
        "single client get calls": (get_calls, 1),
        "single client put calls": (put_calls, 1),
        "single client put gigabytes": (put_gigabytes, arr.nbytes / 1e9),
        "single client wait 1k refs": (wait_1k, 1),
    }


def measure(state, name, iters):
    body, ops = _bodies(state)[name]
    t0 = time.perf_counter()
    for _ in range(iters):
        body()
    elapsed = time.perf_counter() - t0
    return {"name": name, "iters": iters, "seconds": elapsed, "per_s": ops * iters / elapsed}


def cg_measure(state, name, iters):
    """Ray's compiled-graph counterpart of "1:1 actor calls sync": "compiled single-actor
    DAG calls" (ray/_private/ray_experimental_perf.py)."""
    if name != "1:1 actor calls sync":
        raise ValueError("no compiled-graph form for %r" % name)
    from ray.dag import InputNode

    from bench.cgraph import compiled

    def build():
        with InputNode() as inp:
            return state["actor"].small_value_arg.bind(inp)

    graph = compiled(state, "1:1", build, warm=[(b"x",)])
    t0 = time.perf_counter()
    for _ in range(iters):
        ray.get(graph.execute(b"x"))
    elapsed = time.perf_counter() - t0
    return {"name": name, "iters": iters, "seconds": elapsed, "per_s": iters / elapsed}
