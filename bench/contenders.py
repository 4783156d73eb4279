"""The contenders, and the long-lived host processes that run them.

A contender is one way of running a workload. Most run the workload's Ray program (written
once, against the Ray API) with ``ray`` bound to a different runtime; "ray-cg" runs the same
actors through Ray's compiled-graph API; "peer" is what a user would pick instead of Ray for
that workload (a vectorised environment). Each *host* is one subprocess, started once per
bench run. Ray Compiled Graphs get a Ray instance of their own: graphs compiled and torn down
over and over (one per measurement) leave object-store memory behind, and Ray's ordinary
calls in the same instance then slow down by orders of magnitude (spilling).
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Contender:
    name: str
    label: str  # column header
    host: str
    kind: str  # "program" (the Ray program), "cgraph" (its compiled-graph form) or "peer"
    about: str


@dataclass(frozen=True)
class Host:
    binding: str | None  # how ``ray`` is bound in programs (bench/loader.py); None: no Ray API
    init: dict = field(default_factory=dict)  # keyword arguments of ray.init()
    env: dict = field(default_factory=dict)  # set before anything is imported


CONTENDERS = {c.name: c for c in [
    Contender("rayreact", "rayreact", "rayreact", "program",
              "rayreact, compiled mode: rayreact.init(compiled=True), the default"),
    Contender("rayreact-dyn", "rayreact dyn", "rayreact-dyn", "program",
              "rayreact, dynamic mode: rayreact.init(compiled=False), one message per call"),
    Contender("ray", "Ray", "ray", "program", "Ray, the same program"),
    Contender("ray-cg", "Ray CG", "ray-cg", "cgraph",
              "Ray Compiled Graphs: the same actors, InputNode/bind/experimental_compile"),
    Contender("serial", "serial", "serial", "program",
              "every .remote() call run inline in one process (bench/serial_ray.py)"),
    Contender("peer", "peer", "peer", "peer",
              "the non-Ray tool a user would pick: gymnasium AsyncVectorEnv (Gym), "
              "ale_py AtariVectorEnv (Atari)"),
]}

# The two rayreact modes: "best" is the better of the two in each row.
RAYREACT = ("rayreact", "rayreact-dyn")

# No dashboard (only background load on a small machine).
_RAY_INIT = {"include_dashboard": False, "log_to_driver": False, "logging_level": "WARNING"}

HOSTS = {
    "rayreact": Host("rayreact", {"compiled": True}),
    "rayreact-dyn": Host("rayreact", {"compiled": False}),
    "ray": Host("ray", _RAY_INIT),
    # Compiled graphs' actors spin: on 2 cores their reads need far more than the default
    # 10 s time-out.
    "ray-cg": Host("ray", _RAY_INIT, {"RAY_CGRAPH_get_timeout": "600"}),
    "serial": Host("serial"),
    "peer": Host(None),
}


def parse(spec):
    """``"rayreact,ray"`` -> ["rayreact", "ray"] (in the canonical order); None -> all."""
    if not spec:
        return list(CONTENDERS)
    names = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [n for n in names if n not in CONTENDERS]
    if unknown:
        raise ValueError("unknown contender(s) %s (choose from %s)"
                         % (", ".join(unknown), ", ".join(CONTENDERS)))
    return [n for n in CONTENDERS if n in names]
