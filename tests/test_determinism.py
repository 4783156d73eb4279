"""Deterministic scheduling: a program run again with the same seeds makes the same calls.

``tests/programs/determinism_probe.py`` has every reactor log the calls it receives, with their
arguments, in order; it uses the constructs whose results follow timing on Ray (an
asynchronous parameter server driven by ``ray.wait``, ``ActorPool.map_unordered``, a ``wait``
loop over tasks) and rounds the tracer compiles. It runs with 1, 2 and 4 task workers, in
compiled and dynamic mode, with random delays injected before every reaction
(``RAYREACT_TEST_DELAY``, a test-only switch): every run must print the same logs.
"""

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

PROBE = Path(__file__).parent / "programs" / "determinism_probe.py"


def run_probe(num_cpus, compiled, delay):
    env = dict(os.environ, RAYREACT_TEST_DELAY=str(delay))
    r = subprocess.run([sys.executable, str(PROBE), str(num_cpus), "1" if compiled else "0"],
                       capture_output=True, text=True, timeout=240, env=env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def reference():
    return run_probe(1, False, 0)


@pytest.mark.parametrize("num_cpus,compiled", [(1, True), (2, False), (2, True), (4, True)])
def test_same_calls_in_the_same_order_whatever_the_timing(reference, num_cpus, compiled):
    out = run_probe(num_cpus, compiled, 0.004)
    assert out["logs"] == reference["logs"]
    assert out["seen"] == reference["seen"]
    assert out["w"] == reference["w"]


def test_the_probe_would_see_a_timing_dependent_order():
    # The check above is only meaningful if the probe's order can differ: with Ray's
    # first-finished wait (deterministic=False) the workers' delays must show up.
    code = f"""
import os, runpy, sys
import rayreact
_init = rayreact.init
rayreact.init = lambda **kw: _init(deterministic=False, **kw)
sys.argv = [{str(PROBE)!r}, "2", "0"]
runpy.run_path(sys.argv[0], run_name="__main__")
"""
    env = dict(os.environ, RAYREACT_TEST_DELAY="0.004")
    outs = set()
    for _ in range(4):
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=240, env=env)
        assert r.returncode == 0, r.stderr
        outs.add(json.dumps(json.loads(r.stdout.strip().splitlines()[-1])["seen"]))
        if len(outs) > 1:
            break
    assert len(outs) > 1


# -- several callers of one actor ---------------------------------------------------------------
MULTI = Path(__file__).parent / "programs" / "multicaller_probe.py"


def run_multi(num_cpus, delay, deterministic=True):
    env = dict(os.environ, RAYREACT_TEST_DELAY=str(delay))
    r = subprocess.run([sys.executable, str(MULTI), str(num_cpus), "1" if deterministic else "0"],
                       capture_output=True, text=True, timeout=240, env=env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1]), r.stderr


def serial_order():
    """The order the probe's calls reach the logger when every call runs inline."""
    log = [["driver", 0]]
    for i in range(4):
        log += [["task", i, j] for j in range(3)] + [["task-no-wait", i]]
    for i in range(3):
        log += [["actor", i, j] for j in range(2)]
    log.append(["driver", 1])
    for _ in range(3):
        log += [["actor", i, 0] for i in range(3)]
    for i in range(2):  # spawner i's subtasks
        for k in range(3):
            log += [["task", 10 * i + k, j] for j in range(2)] + [["task-no-wait", 10 * i + k]]
    for i in range(2):  # fan_out: the actor's tasks come before its own later call
        for k in range(2):
            log += [["task", 100 * i + k, 0], ["task-no-wait", 100 * i + k]]
        log.append(["fan-out", i])
    return log + [["driver", 2]]


@pytest.mark.parametrize("num_cpus", [1, 2, 4])
def test_calls_from_several_callers_arrive_in_logical_time_order(num_cpus):
    # Tasks and actors the driver called, and the driver itself, call one actor, with random
    # delays before every reaction: the actor still sees the calls in tag order, which is
    # the order of a serial run.
    log, err = run_multi(num_cpus, 0.004)
    assert log == serial_order()
    assert "NondeterminismWarning" not in err


def test_the_multi_caller_probe_would_see_arrival_order():
    # Meaningful only if arrival order differs: with deterministic=False it must.
    logs = set()
    for _ in range(4):
        log, _err = run_multi(2, 0.004, deterministic=False)
        logs.add(json.dumps(log))
        if len(logs) > 1 or log != serial_order():
            break
    assert len(logs) > 1 or json.loads(logs.pop()) != serial_order()


POLLING = """
import rayreact as ray

@ray.remote
class Flag:
    def __init__(self):
        self.value = False
    def set(self):
        self.value = True
    def get(self):
        return self.value

@ray.remote
def wait_for(flag):
    # An earlier caller that needs a later caller's call to run first: in logical time that
    # call comes after all of this task's, so only arrival order lets the program go on.
    n = 0
    while not ray.get(flag.get.remote()):
        n += 1
    return n

ray.init(num_cpus=2)
flag = Flag.remote()
ref = wait_for.remote(flag)
flag.set.remote()
print("polled", ray.get(ref) >= 0)
"""


def run_script(tmp_path, text, delay=0.0):
    """Run the program ``text`` in a fresh interpreter (with reaction delays of up to
    ``delay`` seconds); its completed process (it must exit with status 0)."""
    script = tmp_path / "program.py"
    script.write_text(text)
    env = dict(os.environ, RAYREACT_TEST_DELAY=str(delay))
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                       timeout=240, env=env)
    assert r.returncode == 0, r.stderr
    return r


def last_json(r):
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_a_program_that_needs_arrival_order_still_finishes_with_a_warning(tmp_path):
    r = run_script(tmp_path, POLLING)
    assert "polled True" in r.stdout
    assert "NondeterminismWarning" in r.stderr and "arrival order" in r.stderr


RECURSION = """
import json
import rayreact as ray

@ray.remote
class Log:
    def __init__(self):
        self.seen = []
    def add(self, n):
        self.seen.append(n)
    def get(self):
        return self.seen

@ray.remote
def fib(n, log):
    log.add.remote(n)
    if n < 2:
        return n
    return sum(ray.get([fib.remote(n - 1, log), fib.remote(n - 2, log)]))

ray.init(num_cpus=2)
log = Log.remote()
print(json.dumps([ray.get(fib.remote(8, log)), ray.get(log.get.remote())]))
"""


def test_recursive_tasks_calling_one_actor_reach_it_in_serial_order(tmp_path):
    # Tasks blocked in get on their subtasks may not run a later sibling on top of their own
    # (it could wait for them through the log): the driver starts extra workers instead.
    def preorder(n):
        return [n] if n < 2 else [n] + preorder(n - 1) + preorder(n - 2)

    r = run_script(tmp_path, RECURSION, delay=0.002)
    value, seen = last_json(r)
    assert value == 21
    assert seen == preorder(8)
    assert "NondeterminismWarning" not in r.stderr


COMPILED_THEN_SHARED = """
import json
import rayreact as ray

@ray.remote
class W:
    def __init__(self):
        self.log = []
    def step(self, t):
        self.log.append(["step", t])
        return t
    def note(self, who):
        self.log.append(["note", who])
        return who
    def get(self):
        return self.log

@ray.remote
def poke(w, i):
    return ray.get(w.note.remote(i))

ray.init(num_cpus=2)
ws = [W.remote() for _ in range(3)]
for t in range(6):  # rounds the tracer compiles
    ray.get([w.step.remote(t) for w in ws])
refs = [poke.remote(ws[i % 3], i) for i in range(6)]  # handles leave the driver
for t in range(6, 9):
    ray.get([w.step.remote(t) for w in ws])
ray.get(refs)
print(json.dumps(ray.get([w.get.remote() for w in ws])))
"""


def test_actors_compiled_then_shared_keep_logical_time_order(tmp_path):
    logs = last_json(run_script(tmp_path, COMPILED_THEN_SHARED, delay=0.003))
    for i, log in enumerate(logs):
        assert log == ([["step", t] for t in range(6)] + [["note", i], ["note", i + 3]]
                       + [["step", t] for t in range(6, 9)])


MANY_ASYNC_CALLS = """
import json
import rayreact as ray

@ray.remote
class Log:
    def __init__(self):
        self.seen = []
    def add(self, x):
        self.seen.append(x)
        return x
    def get(self):
        return self.seen

@ray.remote
def burst(log, i, n):
    # every call is made before any returns: the log must not need to ask this task for a
    # watermark per call (it knows the earlier ones, which it ran itself, are complete)
    return len(ray.get([log.add.remote([i, k]) for k in range(n)]))

ray.init(num_cpus=2)
log = Log.remote()
log.add.remote(["driver", 0])
print(json.dumps([ray.get([burst.remote(log, i, 300) for i in range(4)]),
                  ray.get(log.get.remote())]))
"""


def test_many_asynchronous_calls_from_several_tasks_keep_serial_order(tmp_path):
    # Bursts of asynchronous calls from tasks running at once: the log sees them task by
    # task (serial order). Each call after the first is covered by the log's own knowledge
    # (the caller's earlier calls ran there) and the caller's ``other`` watermark, so no
    # watermark is asked for per call (test_completion.py pins that down).
    r = run_script(tmp_path, MANY_ASYNC_CALLS, delay=0.0)
    sums, seen = last_json(r)
    assert sums == [300] * 4
    assert seen == [["driver", 0]] + [[i, k] for i in range(4) for k in range(300)]
    assert "NondeterminismWarning" not in r.stderr


def test_once_a_wait_gave_up_on_logical_order_later_waits_take_the_first_finished(
        rr, monkeypatch):
    # A straggler held one wait for GRACE: the program is timing-dependent from then on, and
    # later waits return the first refs to finish (as Ray's), instead of stalling each time.
    from rayreact._private import determinism

    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(60)
    port = srv.getsockname()[1]

    @rr.remote
    def blocked(port):
        import socket as _socket

        with _socket.create_connection(("127.0.0.1", port)) as conn:
            return conn.recv(1)

    @rr.remote
    def quick():
        return "quick"

    monkeypatch.setattr(determinism, "GRACE", 0.0)
    first, q1 = blocked.remote(port), quick.remote()
    with pytest.warns(determinism.NondeterminismWarning, match="first refs to finish"):
        assert rr.wait([first, q1], num_returns=1) == ([q1], [first])
    conn, _ = srv.accept()
    conn.sendall(b"x")  # the first straggler ends: its worker is free again
    conn.close()
    monkeypatch.setattr(determinism, "GRACE", 3600.0)
    second, q2 = blocked.remote(port), quick.remote()
    result = []
    t = threading.Thread(target=lambda: result.append(rr.wait([second, q2], num_returns=1)),
                         daemon=True)
    t.start()
    t.join(60)
    assert result == [([q2], [second])]
    conn, _ = srv.accept()
    conn.sendall(b"x")
    conn.close()
    assert rr.get(second) == b"x"
    srv.close()
