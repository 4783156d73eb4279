"""5. The paper's micro-benchmarks: N actors each sleep 0.5 s and return a copy of the array
passed to them; overhead = round time - 0.5 s. Actors sweep: 2/4/8/16 actors, 10 MiB.
Object-size sweep: 10/100/200 MiB at 16 actors. The paper went to 500 MB on a bigger host; here
16 copies each way of 300 MiB already exhaust 24 GiB (Ray's memory monitor killed its actors,
at 22.7 of 23.5 GB used; rayreact peaked at ~10 GB above its idle use).
"""

from bench.workloads import MIB, Case, Target, contenders, faster_than

PROGRAM = "bench/programs/micro.py"
LF_OVERHEAD_MS = {2: 4.9, 4: 5.2, 8: 5.2, 16: 7.1}  # paper.md, Lingua Franca, 10 MiB
ACTORS = {"full": (2, 4, 8, 16), "quick": (2, 16), "smoke": (2, 3)}
SIZES_MIB = {"full": (100, 200), "quick": (100,), "smoke": (4,)}
ROUNDS = {"full": 3, "quick": 1, "smoke": 1}
CG_MAX_MIB = 10  # each compiled graph leaves its channels (input and output per actor)
                 # in the object store: 100 MiB graphs soon fill it
NOTE = ("Micro rows: overhead per round in ms (round time - 0.5 s sleep), lower is better; "
        "serial is not run (it would sleep 0.5 s per actor); LF = Lingua Franca's overhead in "
        "the paper (32-core host).")


def setup_params(mode):
    return {"max_actors": 3 if mode == "smoke" else 16}


def _case(mode, actors, mib, charts, sleep_s, reps=None, warmup=None):
    targets = [faster_than("ray", "Ray")]
    cg = mib <= CG_MAX_MIB
    if cg:
        targets.append(faster_than("ray-cg", "Ray CG"))
    if mib == 10 and actors in LF_OVERHEAD_MS:
        targets.append(Target("< LF's %.1f ms" % LF_OVERHEAD_MS[actors], None,
                              LF_OVERHEAD_MS[actors]))
    return Case(key="micro/%dx%dMiB" % (actors, mib),
                title="%d actors, %d MiB each way, %g s sleep: overhead" % (actors, mib, sleep_s),
                params={"actors": actors, "nbytes": mib * MIB, "rounds": ROUNDS[mode],
                        "sleep_s": sleep_s},
                metric="overhead_ms", unit="ms/round", higher_is_better=False,
                contenders=contenders(cg=cg, serial=False), targets=tuple(targets),
                charts=charts, mem_bytes=4 * actors * mib * MIB, reps=reps, warmup=warmup)


def cases(mode):
    sleep_s = 0.05 if mode == "smoke" else 0.5
    size = 1 if mode == "smoke" else 10
    out = []
    for n in ACTORS[mode]:
        charts = [("actors", n)]
        if n == max(ACTORS[mode]):
            charts.append(("objsize", size))
        out.append(_case(mode, n, size, tuple(charts), sleep_s))
    n = max(ACTORS[mode])
    for mib in SIZES_MIB[mode]:
        # --quick: one measurement of the big sizes, in the last pass (everything warm)
        once = {"reps": 1, "warmup": 0} if mode == "quick" else {}
        out.append(_case(mode, n, mib, (("objsize", mib),), sleep_s, **once))
    return out
