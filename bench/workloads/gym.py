"""1. Gym simulation: 15 actors x {CartPole-v1, Pendulum-v1, Blackjack-v1}, one step per call.

Peer: gymnasium's AsyncVectorEnv (one subprocess per env, the same envs and random actions).
"""

from bench.workloads import Case, at_least, contenders, faster_than

PROGRAM = "bench/programs/simulation.py"
ENV_IDS = ("CartPole-v1", "Pendulum-v1", "Blackjack-v1")
ROUNDS = {"full": 1000, "quick": 50, "smoke": 3}
NOTE = ("Gym rows: the peer is gymnasium's AsyncVectorEnv (one subprocess per env, one "
        "batched step per round), stepping the same envs with random actions.")


def setup_params(mode):
    return {"env_ids": ENV_IDS, "num_envs": 3 if mode == "smoke" else 15}


def cases(mode):
    n = setup_params(mode)["num_envs"]
    return [Case(key="gym/" + env_id,
                 title="%s, %d actors, 1 step per call" % (env_id, n),
                 params={"env_id": env_id, "rounds": ROUNDS[mode]},
                 metric="steps_per_s", unit="steps/s", higher_is_better=True,
                 contenders=contenders(cg=True, peer=True),
                 targets=(at_least("serial", 1, "serial"), faster_than("ray", "Ray"),
                          faster_than("ray-cg", "Ray CG")),
                 fingerprint=("total_reward", "episodes", "checksum"))
            for env_id in ENV_IDS]


def peer_setup(env_ids, num_envs, seed=0):
    import functools

    import gymnasium as gym

    vecs = {}
    for k, env_id in enumerate(env_ids):
        vec = gym.vector.AsyncVectorEnv([functools.partial(gym.make, env_id)] * num_envs)
        vec.reset(seed=seed + 1000 * k)
        vec.action_space.seed(seed + 1000 * k)
        vecs[env_id] = vec
    return vecs


def peer_measure(vecs, env_id, rounds):
    import time

    vec = vecs[env_id]
    total_reward = 0.0
    t0 = time.perf_counter()
    for _ in range(rounds):
        _, rewards, _, _, _ = vec.step(vec.action_space.sample())
        total_reward += float(rewards.sum())
    elapsed = time.perf_counter() - t0
    steps = rounds * vec.num_envs
    return {"env_steps": steps, "seconds": elapsed, "steps_per_s": steps / elapsed,
            "total_reward": total_reward}


def peer_teardown(vecs):
    for vec in vecs.values():
        vec.close()
    vecs.clear()
