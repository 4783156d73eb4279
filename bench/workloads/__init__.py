"""Workload families: the paper's shapes and Ray's microbenchmarks.

Each family module defines, once: the Ray program it runs (``PROGRAM``, a file whose
``setup``/``measure``/``teardown`` functions are run on every program contender, and whose
``cg_measure`` is the Ray Compiled Graphs form), ``setup_params(mode)`` (one set of actors per
contender serves every case of the family), ``cases(mode)`` (the rows of the table), and for
the families that have one, the peer (``peer_setup``/``peer_measure``/``peer_teardown``).
Modes: "full", "quick" (same shapes, fewer points and rounds) and "smoke" (tiny shapes, a few
iterations: checks that everything runs, says nothing about speed).
"""

import importlib
from dataclasses import dataclass, field

FAMILIES = ("simulation", "qlearning", "multiagent", "pipeline", "micro", "raymicro")

MIB = 1024 * 1024


@dataclass(frozen=True)
class Target:
    """A goal for the best rayreact mode in one row.

    ``vs`` set: best rayreact speed / ``vs`` speed must be >= ``value`` (> when ``strict``).
    ``vs`` None: best rayreact's own median must be below ``value`` (lower-is-better metrics).
    """

    text: str
    vs: str | None
    value: float
    strict: bool = False


def faster_than(vs, label):
    return Target("faster than %s" % label, vs, 1.0, strict=True)


def at_least(vs, ratio, label):
    return Target(("≥ %s" % label) if ratio == 1 else ("≥ %gx %s" % (ratio, label)), vs, ratio)


@dataclass
class Case:
    key: str  # family/name, unique: what --only matches
    title: str
    params: dict  # keyword arguments of measure()
    metric: str  # key of measure()'s result
    unit: str
    higher_is_better: bool
    contenders: tuple  # the contenders this row applies to
    targets: tuple = ()
    fingerprint: tuple = ()  # result keys that must agree across program contenders
    charts: tuple = ()  # (chart name, x value) pairs
    mem_bytes: int = 0  # rough peak memory of one measurement; skipped if the machine lacks it
    reps: int | None = None  # repetitions and warm-ups of this row, if not the suite's
    warmup: int | None = None
    note: str = ""
    family: str = field(default="", init=False)


PROGRAM_CONTENDERS = ("rayreact", "rayreact-dyn", "ray", "serial")


def contenders(cg=False, serial=True, peer=False):
    out = ["rayreact", "rayreact-dyn", "ray"]
    if cg:
        out.append("ray-cg")
    if serial:
        out.append("serial")
    if peer:
        out.append("peer")
    return tuple(out)


def load(name):
    """The family module ``bench.workloads.<name>``; its cases know their family."""
    if name not in FAMILIES:
        raise ValueError("unknown workload family %r (choose from %s)"
                         % (name, ", ".join(FAMILIES)))
    return importlib.import_module("bench.workloads." + name)


def cases(name, mode):
    out = load(name).cases(mode)
    for c in out:
        c.family = name
    return out
