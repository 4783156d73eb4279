"""A three-stage actor pipeline (A -> B -> C) passing 100 KB arrays; iterations/s."""

from bench.workloads import Case, at_least, contenders, faster_than

PROGRAM = "bench/programs/pipeline.py"
NBYTES = 100 * 1000
ITERATIONS = {"full": 2000, "quick": 500, "smoke": 5}
NOTE = ("Pipeline row: ray.get(c.stage.remote(b.stage.remote(a.stage.remote(x)))) with 100 KB "
        "float64 arrays; segments/iter counts the shared-memory segments rayreact's processes "
        "created during the measurement (steady state: 0).")


def setup_params(mode):
    return {"nbytes": NBYTES}


def cases(mode):
    return [Case(key="pipeline/3x100KB",
                 title="3-stage actor pipeline, 100 KB arrays",
                 params={"iterations": ITERATIONS[mode]},
                 metric="iters_per_s", unit="iters/s", higher_is_better=True,
                 contenders=contenders(cg=True),
                 targets=(at_least("rayreact-dyn", 1.5, "dynamic mode (compiled)"),
                          faster_than("ray", "Ray"), faster_than("ray-cg", "Ray CG")),
                 fingerprint=("checksum",))]
