"""6. Ray's own microbenchmarks (``ray microbenchmark``), by their names: single client tasks
sync/async, 1:1 actor calls sync/async, 1:n and n:n actor calls async, single client get/put
calls, put gigabytes, wait on 1k refs. "1:1 actor calls sync" also runs as Ray's "compiled
single-actor DAG calls".
"""

from bench.workloads import Case, contenders, faster_than

PROGRAM = "bench/programs/raymicro.py"
# name -> (iterations in full / quick / smoke, unit)
NAMES = {
    "single client tasks sync": ((1000, 100, 3), "calls/s"),
    "single client tasks async": ((5, 1, 1), "calls/s"),
    "1:1 actor calls sync": ((2000, 300, 3), "calls/s"),
    "1:1 actor calls async": ((5, 1, 1), "calls/s"),
    "1:n actor calls async": ((5, 1, 1), "calls/s"),
    "n:n actor calls async": ((3, 1, 1), "calls/s"),
    "single client get calls": ((5000, 1000, 3), "calls/s"),
    "single client put calls": ((5000, 1000, 3), "calls/s"),
    "single client put gigabytes": ((3, 1, 1), "GB/s"),
    "single client wait 1k refs": ((3, 1, 1), "/s"),
}
MODE_INDEX = {"full": 0, "quick": 1, "smoke": 2}
NOTE = ("Ray microbenchmark rows: Ray's names and loop bodies (ray/_private/ray_perf.py); "
        "batches of 1,000 calls (100 in --smoke); 1:n and n:n use cpu_count // 2 actors as "
        "Ray does; put gigabytes puts an 800 MiB array (200 MiB in --quick, 8 MiB in "
        "--smoke); serial is not run.")


def setup_params(mode):
    return {"full": {"batch": 1000, "put_mib": 800}, "quick": {"batch": 1000, "put_mib": 200},
            "smoke": {"batch": 100, "put_mib": 8}}[mode]


def cases(mode):
    out = []
    for name, (iters, unit) in NAMES.items():
        cg = name == "1:1 actor calls sync"
        targets = [faster_than("ray", "Ray")]
        if cg:
            targets.append(faster_than("ray-cg", "Ray CG"))
        out.append(Case(key="raymicro/" + name.replace(" ", "_").replace(":", "to"),
                        title=name, params={"name": name, "iters": iters[MODE_INDEX[mode]]},
                        metric="per_s", unit=unit, higher_is_better=True,
                        contenders=contenders(cg=cg, serial=False), targets=tuple(targets)))
    return out
