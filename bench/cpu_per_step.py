"""CPU per step of the bench's simulation and multi-agent shapes, all processes counted.

    python bench/cpu_per_step.py                         # the checkout's rayreact
    PYTHONPATH=/path/to/other/tree python bench/cpu_per_step.py   # another tree, same loop

Wall-clock rates on this shared 2-core VM drift by 2x from minute to minute; the CPU time the
session's processes spend per step (driver + actors, user + system, from psutil) drifts much
less, so it is what to compare when changing the runtime: run two trees alternately, a few
times each, and compare medians. Prints the median of 3 measurements per shape.
"""

import argparse
import os
import statistics
import sys
import time

import psutil

sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # after PYTHONPATH

import rayreact as ray  # noqa: E402
from bench.loader import load_program  # noqa: E402


def _cpu(me):
    t = sum(me.cpu_times()[:2])
    for p in me.children(recursive=True):
        try:
            t += sum(p.cpu_times()[:2])
        except psutil.Error:
            pass
    return t


def _measure(me, fn, calls):
    out = []
    for _ in range(3):
        c0, t0 = _cpu(me), time.perf_counter()
        fn()
        out.append(((_cpu(me) - c0) / calls * 1e6, calls / (time.perf_counter() - t0)))
    return statistics.median(o[0] for o in out), statistics.median(o[1] for o in out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dynamic", action="store_true", help="rayreact.init(compiled=False)")
    a = ap.parse_args()
    ray.init(num_cpus=2, compiled=not a.dynamic)
    me = psutil.Process()
    rows = {}
    sim = load_program("bench/programs/simulation.py", "rayreact")
    st = sim.setup(["CartPole-v1"], 15)
    sim.measure(st, "CartPole-v1", 200)
    rows["CartPole-v1, 15 actors"] = _measure(
        me, lambda: sim.measure(st, "CartPole-v1", 600), 600 * 15)
    sim.teardown(st)
    ma = load_program("bench/programs/multiagent.py", "rayreact")
    st = ma.setup(10)
    ma.measure(st, 10, 100)
    rows["multi-agent, 10 policy actors"] = _measure(me, lambda: ma.measure(st, 10, 300), 3000)
    ma.teardown(st)
    ray.shutdown()
    print(f"rayreact from {os.path.dirname(os.path.dirname(ray.__file__))}"
          f"{' (dynamic mode)' if a.dynamic else ''}")
    for name, (cpu, rate) in rows.items():
        print(f"  {name:32} {cpu:6.0f} us CPU per call   {rate:8,.0f} calls/s")


if __name__ == "__main__":
    main()
