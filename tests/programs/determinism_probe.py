"""A program whose every reactor logs the calls it receives, for tests/test_determinism.py.

It mixes what a Ray program does to be fast and what makes runs differ on Ray: an
asynchronous parameter server driven by ``ray.wait`` (apply whichever gradient is "ready"),
``ActorPool.map_unordered``, a ``ray.wait`` loop over tasks, and a loop of rounds the tracer
freezes and compiles. Prints one JSON document: each reactor's log, the final weights, and
the order the driver saw results in.

    python determinism_probe.py NUM_CPUS COMPILED(0|1)
"""

import json
import sys

import numpy as np

import rayreact as ray


@ray.remote
class ParameterServer:
    def __init__(self):
        self.w = np.zeros(4)
        self.log = []

    def apply(self, grad, worker):
        self.log.append(["apply", worker, grad.tolist()])
        self.w = self.w - 0.1 * grad + 0.01 * self.w * len(self.log)
        return self.w

    def get_log(self):
        return self.log


@ray.remote
class GradWorker:
    def __init__(self, i):
        self.i = i
        self.rng = np.random.default_rng(i)
        self.log = []

    def grad(self, w):
        self.log.append(["grad", np.round(w, 12).tolist()])
        return w * 0.5 + self.rng.normal(size=4)

    def step(self, t):
        self.log.append(["step", t])
        return float(self.rng.normal()) + t

    def get_log(self):
        return self.log


@ray.remote
def square(x):
    return x * x


def main():
    num_cpus, compiled = int(sys.argv[1]), sys.argv[2] == "1"
    ray.init(num_cpus=num_cpus, compiled=compiled)
    ps = ParameterServer.remote()
    workers = [GradWorker.remote(i) for i in range(4)]
    seen = []

    # 1. Asynchronous parameter server: whichever gradient wait() calls ready is applied.
    w = ray.put(np.ones(4))
    pending = {wk.grad.remote(w): i for i, wk in enumerate(workers)}
    for _ in range(12):
        ready, _ = ray.wait(list(pending), num_returns=1)
        i = pending.pop(ready[0])
        seen.append(["ps", i])
        w = ps.apply.remote(ready[0], i)
        pending[workers[i].grad.remote(w)] = i
    ray.get(list(pending))

    # 2. ActorPool.map_unordered: results in "completion" order.
    pool = ray.util.ActorPool(workers)
    seen.append(["pool", list(pool.map_unordered(lambda a, t: a.step.remote(t), range(8)))])

    # 3. A wait loop over tasks.
    refs = [square.remote(i) for i in range(6)]
    while refs:
        ready, refs = ray.wait(refs, num_returns=2 if len(refs) > 1 else 1)
        seen.append(["tasks", ray.get(ready)])

    # 4. Rounds the tracer freezes and compiles.
    for t in range(6):
        seen.append(["round", ray.get([wk.step.remote(100 + t) for wk in workers])])

    logs = {"ps": ray.get(ps.get_log.remote()),
            "workers": ray.get([wk.get_log.remote() for wk in workers])}
    print(json.dumps({"logs": logs, "seen": seen, "w": np.round(ray.get(w), 12).tolist()}))
    ray.shutdown()


if __name__ == "__main__":
    main()
