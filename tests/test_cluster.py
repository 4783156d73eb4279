"""A real Ray cluster on this machine: ``rayreact.init(address=...)`` runs the program there.

The fixture starts ``ray start --head`` (a spare port, no dashboard, its own temp dir, a marker
resource only this cluster has) and always stops it, also when the test fails. It stops exactly
that cluster: the ``ray start --block`` process (which takes its Ray processes down with it on
SIGTERM) and then any of its processes still alive. ``ray stop --force`` would kill every Ray
on the machine, including the test session's own and other programs' instances.
"""

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time

import psutil
import pytest

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed"),
    pytest.mark.timeout(240),
]

MARKER = "rayreact_test_cluster"


def _free_port():
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def _cluster_processes(head, temp_dir):
    """The processes of the cluster started by ``head``: its descendants, and anything else
    started with the cluster's own temp dir on its command line."""
    procs = {}
    try:
        for p in psutil.Process(head.pid).children(recursive=True):
            procs[p.pid] = p
    except psutil.NoSuchProcess:
        pass
    for p in psutil.process_iter(["pid", "cmdline"]):
        if any(temp_dir in part for part in (p.info.get("cmdline") or [])):
            procs[p.info["pid"]] = p
    procs.pop(os.getpid(), None)
    return list(procs.values())


@pytest.fixture
def ray_cluster():
    """Start a one-node Ray cluster; yield its address; stop it whatever happens."""
    ray_bin = os.path.join(os.path.dirname(sys.executable), "ray")
    port = _free_port()
    temp_dir = tempfile.mkdtemp(prefix="rrc", dir="/tmp")  # short: Ray's socket paths
    log_path = os.path.join(temp_dir, "ray_start.log")
    log = open(log_path, "w")
    # No token authentication (Ray 2.60 turns it on when ~/.ray/auth_token exists); the
    # program connects with the same setting.
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled")
    env.pop("RAY_ADDRESS", None)
    head = subprocess.Popen(
        [ray_bin, "start", "--head", f"--port={port}", "--include-dashboard=false", "--block",
         f"--temp-dir={temp_dir}", "--num-cpus=2", f"--resources={json.dumps({MARKER: 1})}",
         "--disable-usage-stats"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    seen = []
    try:
        address = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and head.poll() is None:
            with open(log_path) as f:
                m = re.search(r"--address='([^']+)'", f.read())
            if m:
                address = m.group(1)
                break
            time.sleep(0.25)
        with open(log_path) as f:
            assert address, "ray start did not come up:\n" + f.read()[-3000:]
        seen = _cluster_processes(head, temp_dir)
        yield address
    finally:
        seen += _cluster_processes(head, temp_dir)
        if head.poll() is None:
            head.send_signal(signal.SIGTERM)  # --block: Ray stops the processes it started
            try:
                head.wait(timeout=60)
            except subprocess.TimeoutExpired:
                head.kill()
                head.wait(timeout=10)
        seen += _cluster_processes(head, temp_dir)
        for p in seen:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(seen, timeout=10)
        log.close()
        shutil.rmtree(temp_dir, ignore_errors=True)


PROGRAM = textwrap.dedent("""
    import json, sys, warnings
    import rayreact as ray
    from rayreact.exceptions import RayFallbackWarning

    @ray.remote
    def where(x):
        return x * x, ray.get_runtime_context().get_node_id()

    @ray.remote
    class Counter:
        def __init__(self):
            self.n = 0
        def inc(self):
            self.n += 1
            return self.n

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ray.init(address=sys.argv[1], log_to_driver=False)
    squares = ray.get([where.remote(i) for i in range(4)])
    c = Counter.remote()
    ray.get(c.inc.remote())
    out = {
        "warnings": [str(w.message) for w in caught if w.category is RayFallbackWarning],
        "squares": [s for s, _ in squares],
        "task_nodes": sorted({n for _, n in squares}),
        "alive_nodes": [n["NodeID"] for n in ray.nodes() if n["Alive"]],
        "marker": ray.cluster_resources().get(sys.argv[2]),
        "counter": ray.get(c.inc.remote()),
        "gcs": ray.get_runtime_context().gcs_address,
        "is_ref": isinstance(where.remote(1), ray.ObjectRef),
    }
    ray.shutdown()
    print("RESULT " + json.dumps(out))
""")


def test_program_runs_on_the_cluster(ray_cluster, tmp_path):
    script = tmp_path / "on_cluster.py"
    script.write_text(PROGRAM)
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAYREACT_BACKEND")}
    env["RAY_AUTH_MODE"] = "disabled"
    r = subprocess.run([sys.executable, str(script), ray_cluster, MARKER], capture_output=True,
                       text=True, timeout=180, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    line = next(x for x in r.stdout.splitlines() if x.startswith("RESULT "))
    out = json.loads(line[len("RESULT "):])
    assert out["squares"] == [0, 1, 4, 9]
    assert out["counter"] == 2
    assert out["is_ref"]
    # The result came from that cluster: its marker resource, its GCS, its only node.
    assert out["marker"] == 1.0
    assert out["gcs"] == ray_cluster
    assert out["task_nodes"] == out["alive_nodes"] and len(out["alive_nodes"]) == 1
    assert len(out["warnings"]) == 1 and "address=" in out["warnings"][0]


def test_reactor_backend_refuses_a_cluster_address(ray_cluster):
    import rayreact
    from rayreact.exceptions import UnsupportedPatternError

    with pytest.raises(UnsupportedPatternError, match="cluster address"):
        rayreact.init(address=ray_cluster, backend="reactor")
    assert not rayreact.is_initialized()
