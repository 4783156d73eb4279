"""What this machine allows any one-process-per-actor runtime, measured without rayreact.

    python bench/floor.py                    # CartPole-v1, 15 processes
    python bench/floor.py --env ALE/Pong-v5 --rounds 200
    python bench/floor.py --env policy --actors 10    # the multi-agent rows' torch policy

Four numbers, side by side in one run:

* serial: N environments stepped round-robin in one process (the bench's "serial" contender).
* ring: N processes, each owning one environment, passing K tokens around a ring of POSIX
  semaphores (K = cores): each process waits for a token, steps once, passes it on. No driver,
  no data, no pickling: what a step costs when every step waits for one wake-up (a wake-up, a
  context switch, a cold cache), as in a chain of calls. Once with processes started fresh ("spawn"), once forked from a
  process that has imported the environment's packages ("fork", as rayreact's zygote does):
  forked processes share those pages, and so the caches.
* star: the bench's shape itself, still without a runtime: each round a driver wakes the N
  processes (one semaphore each) and waits until each has stepped once; on 2 cores the woken
  processes share both cores while the driver sleeps, so this floor is higher than the ring's.
  Star / serial is what rayreact's simulation rows could reach if its own work per call cost
  nothing.
* shared memory: bytes/s of filling a *new* /dev/shm segment (the kernel allocates and zeroes
  every page) against copying into one already mapped (what a reused arena pays).
"""

import argparse
import mmap
import multiprocessing as mp
import os
import time

import numpy as np


class _Policy:
    """``--env policy``: the multi-agent rows' per-agent work, one forward pass of a
    Linear(31, 64)-ReLU-Linear(64, 5)-softmax policy on one observation row (torch, batch 1),
    as ``bench/programs/multiagent.py``'s PolicyActor.act."""

    def __init__(self, seed):
        import torch

        torch.set_num_threads(1)
        torch.manual_seed(seed)
        self.torch = torch
        self.net = torch.nn.Sequential(torch.nn.Linear(31, 64), torch.nn.ReLU(),
                                       torch.nn.Linear(64, 5), torch.nn.Softmax(dim=-1))
        self.net.eval()
        self.obs = np.random.default_rng(seed).random((10, 31), dtype=np.float32)

    def step(self):
        torch = self.torch
        with torch.no_grad():
            probs = self.net(torch.tensor(self.obs[0]).unsqueeze(0))
        return int(torch.argmax(probs, dim=-1).item())


def _make_env(env_id, seed):
    if env_id == "policy":
        return _Policy(seed)
    import gymnasium as gym

    if env_id.startswith("ALE/"):
        import ale_py

        gym.register_envs(ale_py)
    env = gym.make(env_id)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    return env


def _step(env):
    if isinstance(env, _Policy):
        env.step()
        return
    _, _, terminated, truncated, _ = env.step(env.action_space.sample())
    if terminated or truncated:
        env.reset()


def serial(env_id, n, rounds):
    envs = [_make_env(env_id, i) for i in range(n)]
    for e in envs:
        _step(e)
    t0 = time.perf_counter()
    for _ in range(rounds):
        for e in envs:
            _step(e)
    return n * rounds / (time.perf_counter() - t0)


def _ring_member(i, sems, k, env_id, rounds, ready):
    env = _make_env(env_id, i)
    _step(env)
    ready.release()
    me, nxt = sems[i], sems[(i + k) % len(sems)]
    for _ in range(rounds):
        me.acquire()
        _step(env)
        nxt.release()


def _start_all(ctx, target, args_list, ready):
    """One process per argument tuple, returned once each has released ``ready``."""
    procs = [ctx.Process(target=target, args=a) for a in args_list]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    return procs


def ring(env_id, n, rounds, k, start):
    ctx = mp.get_context(start)
    sems = [ctx.Semaphore(0) for _ in range(n)]
    ready = ctx.Semaphore(0)
    procs = _start_all(ctx, _ring_member,
                       [(i, sems, k, env_id, rounds, ready) for i in range(n)], ready)
    t0 = time.perf_counter()
    for c in range(k):
        sems[c].release()
    for p in procs:
        p.join()
    return n * rounds / (time.perf_counter() - t0)


def _star_member(i, go, done, env_id, rounds):
    env = _make_env(env_id, i)
    _step(env)
    done.release()
    for _ in range(rounds):
        go.acquire()
        _step(env)
        done.release()


def star(env_id, n, rounds, start):
    """The bench's shape without a runtime: each round the driver wakes all ``n`` processes
    (one semaphore each) and waits until each has stepped once."""
    ctx = mp.get_context(start)
    gos = [ctx.Semaphore(0) for _ in range(n)]
    done = ctx.Semaphore(0)
    procs = _start_all(ctx, _star_member,
                       [(i, gos[i], done, env_id, rounds) for i in range(n)], done)
    t0 = time.perf_counter()
    for _ in range(rounds):
        for g in gos:
            g.release()
        for _ in range(n):
            done.acquire()
    rate = n * rounds / (time.perf_counter() - t0)
    for p in procs:
        p.join()
    return rate


def shm_rates(size=256 << 20):
    src = np.ones(size // 8)
    name = f"/dev/shm/rr_floor_{os.getpid()}"
    fd = os.open(name, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    try:
        os.ftruncate(fd, size)
        mm = mmap.mmap(fd, size)
    finally:
        os.close(fd)
        os.unlink(name)
    dst = np.frombuffer(mm, dtype=np.float64)
    t0 = time.perf_counter()
    dst[:] = src  # first touch: every page allocated and zeroed
    fresh = size / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    dst[:] = src  # the same pages again
    reused = size / (time.perf_counter() - t0)
    del dst
    mm.close()
    return fresh, reused


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="CartPole-v1")
    ap.add_argument("--actors", type=int, default=15)
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--tokens", type=int, default=len(os.sched_getaffinity(0)))
    a = ap.parse_args()
    s = serial(a.env, a.actors, a.rounds)
    rings = {start: ring(a.env, a.actors, a.rounds, a.tokens, start) for start in ("spawn", "fork")}
    stars = {start: star(a.env, a.actors, a.rounds, start) for start in ("spawn", "fork")}
    fresh, reused = shm_rates()
    print(f"{a.env}, {a.actors} environments, {a.rounds} rounds, {os.cpu_count()} cores")
    print(f"serial (one process):                {s:10,.0f} steps/s")
    for start, r in rings.items():
        print(f"ring of {start:5} processes, {a.tokens} tokens: {r:10,.0f} steps/s  "
              f"({r / s:.2f}x serial)")
    for start, r in stars.items():
        print(f"star of {start:5} processes (driver):  {r:10,.0f} steps/s  ({r / s:.2f}x serial)")
    print(f"new /dev/shm pages:                  {fresh / 1e9:10.2f} GB/s")
    print(f"copy into mapped pages:              {reused / 1e9:10.2f} GB/s")


if __name__ == "__main__":
    main()
