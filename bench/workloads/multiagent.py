"""4. Multi-agent inference: 4 and 10 policy actors on a joint observation; steps/s."""

from bench.workloads import Case, at_least, contenders, faster_than

PROGRAM = "bench/programs/multiagent.py"
AGENTS = {"full": (4, 10), "quick": (4, 10), "smoke": (2, 3)}
STEPS = {"full": 300, "quick": 50, "smoke": 3}
NOTE = ("Multi-agent rows: GridJunction (a numpy stand-in for ma-gym's TrafficJunction, as in "
        "examples/multi_agent_inference.py); one torch policy actor per agent.")


def setup_params(mode):
    return {"max_agents": max(AGENTS[mode])}


def cases(mode):
    return [Case(key="multiagent/%d" % n,
                 title="multi-agent inference, %d policy actors" % n,
                 params={"agents": n, "steps": STEPS[mode]},
                 metric="steps_per_s", unit="steps/s", higher_is_better=True,
                 contenders=contenders(cg=True),
                 targets=(at_least("serial", 1, "serial"), faster_than("ray", "Ray"),
                          faster_than("ray-cg", "Ray CG")),
                 fingerprint=("total_reward", "action_counts"))
            for n in AGENTS[mode]]
