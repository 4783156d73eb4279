import rayreact as ray

# Micro-benchmark: one synchronous actor call at a time, ``ray.get(a.f.remote(x))``.
# Loaded by bench/run.py with the import line swapped, like the examples.

import argparse
import time


@ray.remote
class Echo:
    def f(self, x):
        return x


def run(calls=2000, warmup=100):
    a = Echo.remote()
    for i in range(warmup):
        ray.get(a.f.remote(i))
    t0 = time.perf_counter()
    for i in range(calls):
        ray.get(a.f.remote(i))
    elapsed = time.perf_counter() - t0
    del a
    return {"calls": calls, "seconds": elapsed, "us_per_call": elapsed / calls * 1e6}


def main():
    parser = argparse.ArgumentParser(description="Sync actor-call round trip.")
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    ray.init()
    try:
        r = run(args.calls)
    finally:
        ray.shutdown()
    print(f"{r['calls']} sync actor calls: {r['us_per_call']:.1f} us per call")


if __name__ == "__main__":
    main()
