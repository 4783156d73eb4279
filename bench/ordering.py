"""What ordering several callers by logical tag costs: rayreact with and without it.

Four tasks each make N synchronous calls to one shared ``Counter`` actor, and the driver
then reads it; once directly from the driver's tasks, once inside a task of its own (calls
from several processes within one driver call). Runs ``deterministic=True`` (the default:
the counter sees the calls in serial-run order) and ``deterministic=False`` (arrival order,
as Ray), alternating, and prints the median seconds of each and their ratio.

    python bench/ordering.py [--calls 500] [--reps 5]
"""

import argparse
import statistics
import subprocess
import sys

PROGRAM = r"""
import sys, time
import rayreact as ray

@ray.remote
class Counter:
    def __init__(self):
        self.n = 0
    def incr(self):
        self.n += 1
        return self.n

@ray.remote
def worker(c, n):
    for _ in range(n):
        ray.get(c.incr.remote())

@ray.remote
def main(n):
    c = Counter.remote()
    ray.get([worker.remote(c, n) for _ in range(4)])
    return ray.get(c.incr.remote())

n = int(sys.argv[2])
ray.init(num_cpus=2, deterministic=sys.argv[1] == "1")
c = Counter.remote()
ray.get(c.incr.remote())
t = time.perf_counter()
ray.get([worker.remote(c, n) for _ in range(4)])
flat = time.perf_counter() - t
t = time.perf_counter()
ray.get(main.remote(n))
print(flat, time.perf_counter() - t)
ray.shutdown()
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500, help="calls per task")
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    times = {True: [], False: []}
    for _ in range(args.reps):
        for det in (True, False):
            out = subprocess.run([sys.executable, "-c", PROGRAM, "1" if det else "0",
                                  str(args.calls)], capture_output=True, text=True, check=True)
            times[det].append([float(x) for x in out.stdout.split()])
    for i, label in enumerate(("tasks of the driver", "tasks of one task")):
        on = statistics.median(t[i] for t in times[True])
        off = statistics.median(t[i] for t in times[False])
        print(f"4 x {args.calls} sync calls, {label}: ordered {on:.3f} s, arrival order "
              f"{off:.3f} s ({on / off:.2f}x)")


if __name__ == "__main__":
    main()
