import ray

# A three-stage pipeline passing 100 KB arrays (issue 3's compiled-graph shape):
#
#     out = ray.get(c.stage.remote(b.stage.remote(a.stage.remote(x))))
#
# Each Stage adds its own constant to the array it gets and returns the new array, so a stage
# reads its input and writes a fresh 100 KB output. The driver only passes the refs along: in
# rayreact's compiled mode B reads A's output and C reads B's straight from their slots.

import os
import sys
import time

import numpy as np


@ray.remote
class Stage:
    def __init__(self, k):
        self.k = float(k)

    def stage(self, x):
        return x + self.k

    def segments_created(self):
        """rayreact only: shared-memory segments this process has created so far."""
        shm = sys.modules.get("rayreact._private.shm")
        return getattr(shm, "created", 0)


def setup(nbytes):
    stages = [Stage.remote(k) for k in (1, 2, 3)]
    x = np.zeros(nbytes // 8)
    a, b, c = stages
    ray.get(c.stage.remote(b.stage.remote(a.stage.remote(x))))  # waits for every actor
    return {"stages": stages, "x": x}


def teardown(state):
    for actor in state["stages"]:
        ray.kill(actor)
    state.clear()


def _created(state):
    """Segments created by the driver and the stages so far (0 on runtimes without them)."""
    shm = sys.modules.get("rayreact._private.shm")
    return getattr(shm, "created", 0) + sum(
        ray.get([s.segments_created.remote() for s in state["stages"]]))


def _result(iterations, elapsed, checksum, created):
    return {"iterations": iterations, "seconds": elapsed, "iters_per_s": iterations / elapsed,
            "checksum": checksum, "segments_per_iter": created / iterations}


def measure(state, iterations):
    a, b, c = state["stages"]
    x = state["x"]
    before = _created(state)
    total = 0.0
    t0 = time.perf_counter()
    for i in range(iterations):
        out = ray.get(c.stage.remote(b.stage.remote(a.stage.remote(x))))
        total += float(out[i % len(out)])
    elapsed = time.perf_counter() - t0
    return _result(iterations, elapsed, round(total, 3), _created(state) - before)


def cg_measure(state, iterations):
    """The same pipeline through a Ray Compiled Graph (bench/cgraph.py)."""
    from ray.dag import InputNode

    from bench.cgraph import compiled

    a, b, c = state["stages"]
    x = state["x"]

    def build():
        with InputNode() as inp:
            return c.stage.bind(b.stage.bind(a.stage.bind(inp)))

    graph = compiled(state, len(x), build, warm=[(x,)])
    total = 0.0
    t0 = time.perf_counter()
    for i in range(iterations):
        out = ray.get(graph.execute(x))
        total += float(out[i % len(out)])
    elapsed = time.perf_counter() - t0
    return _result(iterations, elapsed, round(total, 3), 0)
