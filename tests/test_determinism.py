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
import subprocess
import sys
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
