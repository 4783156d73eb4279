"""A/B of two source trees of rayreact on the bench's simulation program, run alternately.

This VM's speed drifts 2-3x within minutes, so two versions are compared only in pairs run
back to back: each pair runs tree A then tree B (each in a fresh interpreter, with the tree
first on ``sys.path``), and the ratio of every pair is reported with the medians::

    git worktree add /tmp/base HEAD~1          # (build its C module: python setup.py build_ext --inplace)
    python bench/ab.py /tmp/base . --pairs 5   # CartPole-v1, 15 actors

Prints steps/s per run, each pair's B/A ratio and the median ratio.
"""

import argparse
import os
import statistics
import subprocess
import sys

_RUN = r"""
import sys, time
import rayreact as ray
from bench.loader import load_program
ray.init()
env, rounds = sys.argv[1], int(sys.argv[2])
sim = load_program("bench/programs/simulation.py", "rayreact")
st = sim.setup([env], 15)
sim.measure(st, env, max(rounds // 3, 20))  # warm-up: the loop freezes and compiles
t0 = time.perf_counter()
sim.measure(st, env, rounds)
print(rounds * 15 / (time.perf_counter() - t0))
"""


def run(tree, env, rounds):
    tree = os.path.abspath(tree)
    p = subprocess.run([sys.executable, "-c", _RUN, env, str(rounds)], cwd=tree,
                       env=dict(os.environ, PYTHONPATH=tree), capture_output=True, text=True,
                       timeout=600)
    if p.returncode:
        raise SystemExit(f"{tree}: exit {p.returncode}\n{p.stderr[-2000:]}")
    return float(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", help="tree A (the base)")
    ap.add_argument("b", help="tree B (the change)")
    ap.add_argument("--env", default="CartPole-v1")
    ap.add_argument("--rounds", type=int, default=1500)
    ap.add_argument("--pairs", type=int, default=5)
    args = ap.parse_args()
    ratios, ra, rb = [], [], []
    for i in range(args.pairs):
        a = run(args.a, args.env, args.rounds)
        b = run(args.b, args.env, args.rounds)
        ra.append(a)
        rb.append(b)
        ratios.append(b / a)
        print(f"pair {i + 1}: A {a:,.0f}  B {b:,.0f} steps/s  B/A {b / a:.2f}", flush=True)
    print(f"median: A {statistics.median(ra):,.0f}  B {statistics.median(rb):,.0f} steps/s  "
          f"B/A {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
