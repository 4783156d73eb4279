"""The actors' compiled reactions in C (rayreact/_private/_compiled.c) and in Python.

The C loop is an optional build: the same programs must give the same results with it and
without it (``RAYREACT_C=0``), and where a C compiler exists it must be built and used.
"""

import importlib
import json
import os
import shutil

import pytest

import rayreact

from helpers import run_script

def _c_module():
    try:  # (whatever RAYREACT_C says for this process)
        return importlib.import_module("rayreact._private._compiled")
    except ImportError:
        return None


built = pytest.mark.skipif(_c_module() is None, reason="the C module is not built here")

# One actor driven in a loop: plain results, errors, a large (out-of-band) result, a result
# that outgrows its slot, keyword arguments; the loop's shape repeats, so it runs compiled.
PROGRAM = """
import json, sys
import numpy as np
import rayreact as ray

ray.init(num_cpus=1)

@ray.remote
class Worker:
    def __init__(self):
        self.n = 0

    def step(self, i, scale=1):
        self.n += 1
        if i % 7 == 3:
            raise ValueError(f"step {i}")
        if i % 11 == 5:
            return np.arange(20_000.0) * i  # 160 KB: out of band, not one plain pickle
        if i % 13 == 8:
            return list(range(i * 50))  # outgrows the slot
        return (i * scale, float(i) / 2, ray.get_runtime_context().get_task_id() is not None)

    def runs(self):
        from rayreact._private import compiled
        return self.n, compiled.python_runs

@ray.remote
class Plus:
    def add(self, x):
        if x % 5 == 2:
            raise KeyError(x)
        return x + 1

w = Worker.remote()
out = []
for i in range(60):
    try:
        v = ray.get(w.step.remote(i, scale=3))
        out.append(repr(v.sum()) if isinstance(v, np.ndarray) else repr(v))
    except ValueError as e:
        out.append(str(e).splitlines()[-1])
n, python_runs = ray.get(w.runs.remote())
# a chain: the first actor's output goes straight to the second (a connection), errors too
p1, p2 = Plus.remote(), Plus.remote()
for i in range(30):
    try:
        out.append(ray.get(p2.add.remote(p1.add.remote(i))))
    except KeyError as e:
        out.append(f"KeyError {e.args}")
print(json.dumps({"out": out, "n": n, "python_runs": python_runs}))
"""


def _run(c_loop):
    env = dict(os.environ, RAYREACT_C="1" if c_loop else "0")
    p = run_script(PROGRAM, env=env)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_the_c_loop_is_built_where_there_is_a_c_compiler():
    if not (shutil.which("cc") or shutil.which("gcc")):
        pytest.skip("no C compiler: rayreact runs its reactions in Python")
    assert _c_module() is not None, "setup.py did not build rayreact/_private/_compiled.c"


@built
def test_the_c_loop_and_the_python_loop_give_the_same_results():
    with_c, without_c = _run(True), _run(False)
    assert with_c["out"] == without_c["out"]
    assert with_c["n"] == without_c["n"] == 60
    assert "ValueError: step 3" in with_c["out"] and "True" in with_c["out"][0]
    # Python ran every reaction of the compiled loop without C; with C, only those C hands
    # back (the first of each node, errors, results that are not one plain pickle)
    assert with_c["python_runs"] < without_c["python_runs"] / 2


@built
def test_exit_actor_in_a_reaction_run_in_c_ends_the_actor(rr):
    ray = rr

    @ray.remote
    class Quitter:
        def step(self, i):
            if i == 6:
                ray.actor.exit_actor()
            return i

    q = Quitter.remote()
    assert [ray.get(q.step.remote(i)) for i in range(6)] == list(range(6))
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(q.step.remote(6))
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(q.step.remote(7))


def test_reactions_run_in_c_see_their_runtime_context(rr):
    ray = rr

    @ray.remote
    class Ctx:
        def step(self, i):
            c = ray.get_runtime_context()
            return c.get_task_name(), c.get_task_id()

    a = Ctx.remote()
    out = [ray.get(a.step.remote(i)) for i in range(8)]
    assert {name for name, _ in out} == {"Ctx.step"}
    assert len({tid for _, tid in out}) == 8  # one task id per call
    assert ray.get(a.step.remote(8))[0] == "Ctx.step"
    assert rayreact.is_initialized()
