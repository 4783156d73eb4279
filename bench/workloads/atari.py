"""2. Atari simulation: 15 actors x {ALE/Pong-v5, ALE/MsPacman-v5, ALE/SpaceInvaders-v5}.

Each call returns the 210x160x3 RGB frame to the driver, as the paper's programs do.
Peer: ale_py's AtariVectorEnv (a C++ thread pool), set to v5's frames as far as it can be.
"""

from bench.workloads import Case, at_least, contenders, faster_than
from bench.workloads.gym import peer_measure, peer_teardown  # noqa: F401 (the same loop)

PROGRAM = "bench/programs/simulation.py"
GAMES = {"ALE/Pong-v5": "pong", "ALE/MsPacman-v5": "ms_pacman",
         "ALE/SpaceInvaders-v5": "space_invaders"}
ROUNDS = {"full": 300, "quick": 20, "smoke": 2}
NOTE = ("Atari rows: the peer is ale_py's AtariVectorEnv (C++ threads, one batched step per "
        "round) set to v5's frames (210x160 RGB, frameskip 4, sticky actions 0.25, no "
        "max-pooling, no frame stack, no no-op starts, unclipped rewards); its reset and "
        "auto-reset differ from gymnasium's, and it returns one batched array instead of 15 "
        "tuples.")


def setup_params(mode):
    return {"env_ids": tuple(GAMES), "num_envs": 3 if mode == "smoke" else 15}


def cases(mode):
    n = setup_params(mode)["num_envs"]
    return [Case(key="atari/" + env_id.split("/")[1],
                 title="%s, %d actors, 1 step per call" % (env_id, n),
                 params={"env_id": env_id, "rounds": ROUNDS[mode]},
                 metric="steps_per_s", unit="steps/s", higher_is_better=True,
                 contenders=contenders(cg=True, peer=True),
                 targets=(at_least("serial", 1.6, "serial"), faster_than("ray", "Ray"),
                          faster_than("ray-cg", "Ray CG")),
                 fingerprint=("total_reward", "episodes", "checksum"))
            for env_id in GAMES]


def peer_setup(env_ids, num_envs, seed=0):
    from ale_py.vector_env import AtariVectorEnv

    vecs = {}
    for k, env_id in enumerate(env_ids):
        vec = AtariVectorEnv(GAMES[env_id], num_envs, img_height=210, img_width=160,
                             grayscale=False, stack_num=1, frameskip=4, maxpool=False,
                             noop_max=0, repeat_action_probability=0.25,
                             reward_clipping=False, use_fire_reset=False)
        vec.reset(seed=seed + 1000 * k)
        vec.action_space.seed(seed + 1000 * k)
        vecs[env_id] = vec
    return vecs
