import ray

# Parallel environment simulation: the paper's Gym and Atari workloads.
#
# NUM_ENVS ``RolloutWorker`` actors; each owns one environment of every id it was given
# (e.g. CartPole-v1, Pendulum-v1 and Blackjack-v1), so one set of actors serves every case
# of a workload family. Each round the driver asks every worker for one step of one env and
# waits for all of them, as the paper's Ray programs do:
#
#     results = ray.get([w.step.remote(env_id, t) for w in workers])
#
# A worker takes a random action from its env's seeded action space, steps, resets when the
# episode ends and returns the observation tuple (for Atari: the 210x160x3 RGB frame).

import time
import zlib

import gymnasium as gym
import numpy as np


@ray.remote
class RolloutWorker:
    """One environment per env id; one env step per call."""

    def __init__(self, env_ids, seed):
        if any(e.startswith("ALE/") for e in env_ids):
            import ale_py

            gym.register_envs(ale_py)
        self.envs = {}
        for k, env_id in enumerate(env_ids):
            env = gym.make(env_id)
            env.action_space.seed(seed + 1000 * k)
            env.reset(seed=seed + 1000 * k)
            self.envs[env_id] = env

    def step(self, env_id, t):
        env = self.envs[env_id]
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
        return obs, float(reward), bool(terminated), bool(truncated)


def setup(env_ids, num_envs, seed=0):
    workers = [RolloutWorker.remote(list(env_ids), seed + i) for i in range(num_envs)]
    for env_id in env_ids:  # waits for every actor to be up
        ray.get([w.step.remote(env_id, 0) for w in workers])
    return {"workers": workers, "env_ids": list(env_ids)}


def teardown(state):
    # Explicitly: a handle kept alive elsewhere (e.g. by a torn-down compiled graph) would
    # otherwise keep the actor running through the next workloads.
    for actor in state["workers"]:
        ray.kill(actor)
    state.clear()


def _result(env_id, rounds, num_envs, elapsed, total_reward, episodes, last):
    checksum = 0
    for obs, _, _, _ in last:
        checksum = zlib.crc32(np.ascontiguousarray(obs).tobytes(), checksum)
    return {
        "env_id": env_id,
        "env_steps": rounds * num_envs,
        "seconds": elapsed,
        "steps_per_s": rounds * num_envs / elapsed,
        "total_reward": round(total_reward, 6),
        "episodes": episodes,
        "checksum": "%08x" % checksum,
    }


def measure(state, env_id, rounds):
    """``rounds`` synchronous rounds of one step on every worker."""
    workers = state["workers"]
    total_reward = 0.0
    episodes = 0
    t0 = time.perf_counter()
    for t in range(rounds):
        results = ray.get([w.step.remote(env_id, t) for w in workers])
        for _, reward, terminated, truncated in results:
            total_reward += reward
            episodes += terminated or truncated
    elapsed = time.perf_counter() - t0
    return _result(env_id, rounds, len(workers), elapsed, total_reward, episodes, results)


def cg_measure(state, env_id, rounds):
    """The same rounds through a Ray Compiled Graph: one ``execute(env_id, t)`` per round.
    One graph serves every env id; it lives for the turn (bench/cgraph.py)."""
    from ray.dag import InputNode, MultiOutputNode

    from bench.cgraph import compiled

    workers = state["workers"]

    def build():
        with InputNode() as inp:
            return MultiOutputNode([w.step.bind(inp[0], inp[1]) for w in workers])

    graph = compiled(state, "all", build, warm=[(e, 0) for e in state["env_ids"]])
    total_reward = 0.0
    episodes = 0
    t0 = time.perf_counter()
    for t in range(rounds):
        results = ray.get(graph.execute(env_id, t))
        for _, reward, terminated, truncated in results:
            total_reward += reward
            episodes += terminated or truncated
    elapsed = time.perf_counter() - t0
    return _result(env_id, rounds, len(workers), elapsed, total_reward, episodes, results)
