import ray

# The paper's micro-benchmarks (its public benchmark code: "Number of Actors", "Object Size").
#
# Each round the driver passes one float64 array (10 MiB, or the size swept) by value to each
# of N Client actors; each sleeps 0.5 s and returns a copy; the driver keeps the first copy as
# the next round's array:
#
#     results = ray.get([c.task.remote(params) for c in clients[:n]])
#     params = results[0].copy()
#
# Overhead = round time - 0.5 s: what the runtime adds to moving the arrays both ways.
# One set of MAX_ACTORS clients serves every case (a case with fewer actors uses the first).

import time

import numpy as np


@ray.remote
class Client:
    def task(self, params, sleep_s):
        time.sleep(sleep_s)
        return params.copy()


def setup(max_actors):
    clients = [Client.remote() for _ in range(max_actors)]
    ray.get([c.task.remote(np.ones(8), 0.0) for c in clients])  # waits for every actor
    return {"clients": clients}


def teardown(state):
    # Explicitly: a handle kept alive elsewhere (e.g. by a torn-down compiled graph) would
    # otherwise keep the actor running through the next workloads.
    for actor in state["clients"]:
        ray.kill(actor)
    state.clear()


def _result(rounds, overheads, nbytes):
    mean = sum(overheads) / len(overheads)
    return {"rounds": rounds, "overhead_ms": mean * 1e3,
            "overhead_max_ms": max(overheads) * 1e3, "nbytes": nbytes}


def measure(state, actors, nbytes, rounds, sleep_s=0.5):
    clients = state["clients"][:actors]
    params = np.ones(nbytes // 8)
    overheads = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        results = ray.get([c.task.remote(params, sleep_s) for c in clients])
        overheads.append(time.perf_counter() - t0 - sleep_s)
        params = results[0].copy()
        del results
    return _result(rounds, overheads, nbytes)


def cg_measure(state, actors, nbytes, rounds, sleep_s=0.5):
    """The same rounds through a Ray Compiled Graph (one graph per actor count and size,
    living for the turn: bench/cgraph.py)."""
    from ray.dag import InputNode, MultiOutputNode

    from bench.cgraph import compiled

    clients = state["clients"][:actors]
    params = np.ones(nbytes // 8)

    def build():
        with InputNode() as inp:
            return MultiOutputNode([c.task.bind(inp, sleep_s) for c in clients])

    graph = compiled(state, (actors, nbytes, sleep_s), build, warm=[(params,)])
    overheads = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        results = ray.get(graph.execute(params))
        overheads.append(time.perf_counter() - t0 - sleep_s)
        params = results[0].copy()
        del results
    return _result(rounds, overheads, nbytes)
