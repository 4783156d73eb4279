"""3. Synchronised parallel Q-learning: 16 rollout actors x 100 steps, a replay-buffer actor,
the learner in the driver; replay batch B = 500 / 1000 / 2000; time per round.

The paper's shape (its public code: Blackjack-v1, a 3-32-2 Q-network, one gradient step per
round), in bench/programs/qlearning.py; examples/sync_q_learning.py is a longer CartPole DQN.
"""

from bench.workloads import Case, at_least, contenders, faster_than

PROGRAM = "bench/programs/qlearning.py"
BATCHES = {"full": (500, 1000, 2000), "quick": (500, 1000, 2000), "smoke": (500,)}
ROUNDS = {"full": 10, "quick": 2, "smoke": 1}
NOTE = ("Q-learning rows: the paper's program (Blackjack-v1, 3-32-2 Q-network, epsilon 0.1, "
        "one gradient step per round on a replay batch of B); no compiled-graph form (the "
        "round gathers in the driver, then calls the replay actor, then learns) and no peer.")


def setup_params(mode):
    return {"num_actors": 2 if mode == "smoke" else 16, "steps_per_round": 100}


def cases(mode):
    n = setup_params(mode)["num_actors"]
    return [Case(key="qlearning/B%d" % b,
                 title="sync Q-learning, %d actors x 100 steps, B=%d" % (n, b),
                 params={"batch_size": b, "rounds": ROUNDS[mode]},
                 metric="s_per_round", unit="s/round", higher_is_better=False,
                 contenders=contenders(),
                 targets=(at_least("serial", 1.6, "serial"), faster_than("ray", "Ray")),
                 fingerprint=("reward_sum", "loss"),
                 charts=(("qlearning_B", b),))
            for b in BATCHES[mode]]
