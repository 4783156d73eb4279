"""1-2. Environment simulation, the paper's Gym and Atari workloads: 15 actors, one env step
per call, every observation returned to the driver.

Gym rows: CartPole-v1, Pendulum-v1, Blackjack-v1; Atari rows: ALE/Pong-v5, ALE/MsPacman-v5,
ALE/SpaceInvaders-v5 (the 210x160x3 RGB frame returned). One set of 15 RolloutWorkers per
contender serves every row: each worker owns one env of each id (bench/programs/simulation.py).
Peers: gymnasium's AsyncVectorEnv for Gym, ale_py's AtariVectorEnv for Atari.
"""

from bench.workloads import Case, at_least, contenders, faster_than

PROGRAM = "bench/programs/simulation.py"
GYM = ("CartPole-v1", "Pendulum-v1", "Blackjack-v1")
ATARI = {"ALE/Pong-v5": "pong", "ALE/MsPacman-v5": "ms_pacman",
         "ALE/SpaceInvaders-v5": "space_invaders"}
ATARI_ROWS = {"full": tuple(ATARI), "quick": ("ALE/Pong-v5",), "smoke": tuple(ATARI)}
ROUNDS = {"full": (300, 100), "quick": (30, 10), "smoke": (3, 2)}  # (gym, atari)
NOTE = ("Simulation rows: the Gym peer is gymnasium's AsyncVectorEnv (one subprocess per env, "
        "one batched step per round), stepping the same envs with random actions. The Atari "
        "peer is ale_py's AtariVectorEnv (C++ threads, one batched step per round) set to v5's "
        "frames (210x160 RGB, frameskip 4, sticky actions 0.25, no max-pooling, frame stack or "
        "no-op starts, unclipped rewards); its reset and auto-reset differ from gymnasium's, "
        "and it returns one batched array instead of 15 tuples.")


def setup_params(mode):
    return {"env_ids": GYM + ATARI_ROWS[mode], "num_envs": 3 if mode == "smoke" else 15}


def cases(mode):
    n = setup_params(mode)["num_envs"]
    gym_rounds, atari_rounds = ROUNDS[mode]
    out = []
    for env_id in GYM + ATARI_ROWS[mode]:
        atari = env_id in ATARI
        serial = at_least("serial", 1.6, "serial") if atari else at_least("serial", 1, "serial")
        out.append(Case(
            key=("atari/" + env_id.split("/")[1]) if atari else ("gym/" + env_id),
            title="%s, %d actors, 1 step per call" % (env_id, n),
            params={"env_id": env_id, "rounds": atari_rounds if atari else gym_rounds},
            metric="steps_per_s", unit="steps/s", higher_is_better=True,
            contenders=contenders(cg=True, peer=True),
            targets=(serial, faster_than("ray", "Ray"), faster_than("ray-cg", "Ray CG"))
            + ((at_least("rayreact-dyn", 1.5, "dynamic mode (compiled)"),)
               if env_id == "CartPole-v1" else ()),
            fingerprint=("total_reward", "episodes", "checksum")))
    return out


def peer_setup(env_ids, num_envs, seed=0):
    import functools

    import gymnasium as gym

    vecs = {}
    for k, env_id in enumerate(env_ids):
        if env_id in ATARI:
            from ale_py.vector_env import AtariVectorEnv

            vec = AtariVectorEnv(ATARI[env_id], num_envs, img_height=210, img_width=160,
                                 grayscale=False, stack_num=1, frameskip=4, maxpool=False,
                                 noop_max=0, repeat_action_probability=0.25,
                                 reward_clipping=False, use_fire_reset=False)
        else:
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
