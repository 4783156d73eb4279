import rayreact as ray

# Parallel environment simulation: the paper's Gym / Atari workload.
#
# NUM_ENVS ``RolloutWorker`` actors each own one gymnasium environment. Every round the
# driver asks every worker for exactly one environment step and waits for all of them:
#
#     results = ray.get([w.step.remote(t) for w in workers])
#
# A worker picks a random action from its own seeded RNG, steps its env, resets it when an
# episode ends, and returns the observation tuple. Throughput = env steps / second.
#
# Runs unchanged under real Ray: replace the first line with ``import ray``.
#
#     python examples/gym_rollouts.py                       # CartPole-v1, 15 workers
#     python examples/gym_rollouts.py --env ALE/Pong-v5 --steps 200

import argparse
import time
import zlib

import gymnasium as gym
import numpy as np


@ray.remote
class RolloutWorker:
    """Owns one environment; one env step per call."""

    def __init__(self, env_id, seed):
        if env_id.startswith("ALE/"):
            import ale_py

            gym.register_envs(ale_py)
        self.env = gym.make(env_id)
        self.env.action_space.seed(seed)
        self.rng = np.random.default_rng(seed)
        self.num_actions = int(self.env.action_space.n)
        self.obs, _ = self.env.reset(seed=seed)
        self.episode_return = 0.0
        self.episodes = 0

    def step(self, t):
        action = int(self.rng.integers(self.num_actions))
        obs, reward, terminated, truncated, _ = self.env.step(action)
        self.episode_return += float(reward)
        if terminated or truncated:
            self.episodes += 1
            self.episode_return = 0.0
            obs, _ = self.env.reset()
        self.obs = obs
        return obs, float(reward), bool(terminated), bool(truncated)


def run(num_envs=15, steps=1000, env_id="CartPole-v1", seed=0):
    """Run ``steps`` synchronous rounds over ``num_envs`` workers; returns a result dict.

    Needs ``ray.init()`` to have been called. Actor start-up (and the first round, which
    waits for it) is timed separately from the steady-state rounds.
    """
    t0 = time.perf_counter()
    workers = [RolloutWorker.remote(env_id, seed + i) for i in range(num_envs)]
    # Round 0 (untimed, like the paper): waits for every actor to be up.
    ray.get([w.step.remote(0) for w in workers])
    setup_s = time.perf_counter() - t0

    total_reward = 0.0
    episodes = 0
    checksum = 0
    t1 = time.perf_counter()
    for t in range(1, steps + 1):
        results = ray.get([w.step.remote(t) for w in workers])
        for obs, reward, terminated, truncated in results:
            total_reward += reward
            episodes += terminated or truncated
    elapsed = time.perf_counter() - t1

    # Fingerprint of the final observations: equal across runtimes for equal seeds.
    for obs, _, _, _ in results:
        checksum = zlib.crc32(np.ascontiguousarray(obs).tobytes(), checksum)
    del workers
    env_steps = steps * num_envs
    return {
        "env_id": env_id,
        "num_envs": num_envs,
        "rounds": steps,
        "env_steps": env_steps,
        "seconds": elapsed,
        "steps_per_s": env_steps / elapsed if elapsed > 0 else float("inf"),
        "setup_s": setup_s,
        "total_reward": total_reward,
        "episodes": int(episodes),
        "checksum": "%08x" % checksum,
    }


def main():
    parser = argparse.ArgumentParser(description="Parallel environment simulation (the paper's Gym / Atari workload).")
    parser.add_argument("--num-envs", type=int, default=15)
    parser.add_argument("--steps", type=int, default=1000, help="synchronous rounds")
    parser.add_argument("--env", default="CartPole-v1", help="CartPole-v1 or ALE/Pong-v5")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    ray.init()
    try:
        r = run(args.num_envs, args.steps, args.env, args.seed)
    finally:
        ray.shutdown()
    print(f"{r['env_id']}: {r['num_envs']} workers x {r['rounds']} rounds = "
          f"{r['env_steps']} env steps in {r['seconds']:.2f} s "
          f"(actor start-up {r['setup_s']:.2f} s)")
    print(f"episodes finished: {r['episodes']}, total reward: {r['total_reward']:.1f}, "
          f"final-obs checksum: {r['checksum']}")
    print(f"throughput: {r['steps_per_s']:.0f} steps/s")


if __name__ == "__main__":
    main()
