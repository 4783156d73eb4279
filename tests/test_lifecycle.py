"""Shutdown, interpreter exit, Ctrl-C, SIGTERM and a killed driver leave nothing behind."""

import os
import signal
import subprocess
import sys

import psutil
import pytest

import rayreact
from helpers import run_script, session_files, session_processes, wait_until

SCRIPT = """
import sys, numpy as np
import rayreact as ray
ray.init(num_cpus=2)
print(ray.get_runtime_context().get_node_id()[-8:], flush=True)

@ray.remote
class A:
    def big(self):
        return np.ones(1_000_000)

@ray.remote
def f(x):
    return x

actors = [A.remote() for _ in range(3)]
ray.get([a.big.remote() for a in actors])
keep = ray.put(np.ones(1_000_000))
print(ray.get(f.remote(1)), flush=True)
"""


def session_of(first_line):
    return first_line.strip()


def test_shutdown_ends_processes_and_unlinks_segments():
    rayreact.init(num_cpus=2)
    session = rayreact._private.api._node.session

    @rayreact.remote
    class A:
        def ping(self):
            return os.getpid()

    a = A.remote()
    big = rayreact.put(bytes(1 << 20))
    assert rayreact.get(a.ping.remote()) != os.getpid()
    assert session_processes(session) and session_files(session)
    rayreact.shutdown()
    assert session_processes(session) == []
    assert session_files(session) == []
    del big


def test_interpreter_exit_cleans_up():
    r = run_script(SCRIPT)
    assert r.returncode == 0, r.stderr
    session = session_of(r.stdout.splitlines()[0])
    assert wait_until(lambda: not session_processes(session))
    assert session_files(session) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_clean_up(sig):
    code = SCRIPT + "\nimport time\nprint('ready', flush=True)\ntime.sleep(60)\n"
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    session = p.stdout.readline().strip()
    assert p.stdout.readline().strip() == "1"
    assert p.stdout.readline().strip() == "ready"
    assert session_processes(session)
    p.send_signal(sig)
    assert p.wait(30) != 0
    assert wait_until(lambda: not session_processes(session))
    assert session_files(session) == []


def test_killed_driver_workers_exit_and_clean_up():
    code = SCRIPT + "\nimport time\nprint('ready', flush=True)\ntime.sleep(60)\n"
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    session = p.stdout.readline().strip()
    p.stdout.readline()
    assert p.stdout.readline().strip() == "ready"
    p.kill()  # SIGKILL: no atexit in the driver; the workers notice and clean up
    p.wait()
    assert wait_until(lambda: not session_processes(session), timeout=30)
    assert wait_until(lambda: session_files(session) == [], timeout=30)


def test_killed_driver_workers_busy_in_user_code_exit_too():
    # A worker running user code (a busy loop, a long sleep) never reaches its idle wait:
    # it must still notice the driver's death and exit, not spin on as an orphan.
    code = """
import time
import rayreact as ray
ray.init(num_cpus=2)
print(ray.get_runtime_context().get_node_id()[-8:], flush=True)

@ray.remote
class Busy:
    def spin(self):
        print("running", flush=True)
        while True:
            pass

@ray.remote
def sleep_long():
    print("running", flush=True)
    time.sleep(1000)

busy = Busy.remote()
refs = [busy.spin.remote(), sleep_long.remote(), sleep_long.remote()]
time.sleep(60)
"""
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    session = p.stdout.readline().strip()
    for _ in range(3):  # the three calls run (each prints once it has started)
        assert p.stdout.readline().strip().endswith(" running")  # ("(Busy pid=N) running")
    p.kill()
    p.wait()
    assert wait_until(lambda: not session_processes(session), timeout=30)
    assert wait_until(lambda: session_files(session) == [], timeout=30)


def test_no_tcp_sockets_are_opened(rr):
    @rr.remote
    class A:
        def f(self, x):
            return x

    a = A.remote()
    assert rr.get(a.f.remote(1)) == 1
    procs = [psutil.Process()] + psutil.Process().children(recursive=True)
    for p in procs:
        conns = [c for c in p.net_connections(kind="inet")]
        assert conns == [], (p.pid, conns)


def test_a_ref_of_an_earlier_session_is_a_clear_error_and_loses_nothing():
    # Was a KeyError from the object table. Ray: ValueError, "owner is unknown".
    rayreact.init(num_cpus=1)
    old = rayreact.put(1)
    rayreact.shutdown()
    rayreact.init(num_cpus=1)
    try:
        with pytest.raises(ValueError, match="owner is unknown"):
            rayreact.get(old)
        with pytest.raises(ValueError, match="owner is unknown"):
            rayreact.wait([old], timeout=0)
        assert rayreact.get(rayreact.put(2)) == 2  # the runtime is still usable
    finally:
        rayreact.shutdown()


def test_a_ref_awaited_with_a_timeout_that_expires_prints_nothing_when_it_completes():
    # asyncio.wait_for cancels the ref's future at the timeout; the thread that completes
    # it later must not fail with InvalidStateError (it printed a traceback in the actor).
    r = run_script("""
        import asyncio, time, rayreact as ray
        ray.init(num_cpus=1)
        @ray.remote
        def slow():
            time.sleep(0.5)
            return 1
        @ray.remote
        class A:
            async def go(self):
                ref = slow.remote()
                try:
                    await asyncio.wait_for(ref, 0.05)
                except asyncio.TimeoutError:
                    pass
                return await ref
        print(ray.get(A.remote().go.remote()))
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1"
    assert "InvalidStateError" not in r.stderr, r.stderr
