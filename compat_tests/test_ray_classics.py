"""Ray's classic programs, unmodified, on real Ray and on rayreact.

Every program in ``examples/ray_classics/`` is a plain Ray program (``import ray``) that
checks its own results (asserts) and prints only what is deterministic under Ray. Each test
runs one program as a subprocess:

* under real Ray: ``python script.py``;
* under rayreact: ``python -m rayreact script.py``;

and, with ``--backend=both`` (the default), requires the same exit code and the same stdout
from both. With ``--backend=ray`` or ``--backend=rayreact`` only that side runs, and the
program must exit with 0 after printing its final ``<name>: OK`` line.

These tests do not use the ``ray`` fixture: the programs start and stop their own runtime.
Lines that Ray's log monitor forwards to the driver's stdout about its own processes (such
as ``(raylet) WARNING: 8 PYTHON worker processes have been started...``, whose presence
depends on timing) are not program output and are dropped before comparing.
"""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CLASSICS = ROOT / "examples" / "ray_classics"
PROGRAMS = sorted(p.name for p in CLASSICS.glob("*.py") if not p.name.startswith("_"))
RUN_TIMEOUT_S = 300

# Programs that fail on rayreact because of a known rayreact bug: name -> (reason, strict).
# They are xfails whenever rayreact runs. A bug that always shows is a strict xfail (once it is
# fixed, XPASS fails the run: remove the entry); an intermittent one cannot be strict.
RAYREACT_BUGS = {}

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Ray's log monitor prefixes forwarded lines with "(<source>) " or "(<name> pid=N) ".
_RAY_SYSTEM_LINE = re.compile(r"^\((raylet|gcs_server|autoscaler|monitor)[^)]*\) ")


def _program_stdout(text):
    lines = []
    for line in text.splitlines():
        if _RAY_SYSTEM_LINE.match(_ANSI.sub("", line)):
            continue
        lines.append(line)
    return "\n".join(lines) + ("\n" if lines else "")


def _env(backend):
    env = dict(os.environ)
    env["RAY_IGNORE_UNHANDLED_ERRORS"] = "1"
    # Each program starts its own local runtime: under Ray, ray.init() would otherwise
    # attach to a cluster someone started with `ray start` on this machine.
    env.pop("RAY_ADDRESS", None)
    if backend == "ray":
        env["RAY_ADDRESS"] = "local"
    return env


def _run(backend, program):
    script = str(CLASSICS / program)
    if backend == "ray":
        cmd = [sys.executable, script]
    else:
        cmd = [sys.executable, "-m", "rayreact", script]
    proc = subprocess.Popen(
        cmd,
        cwd=str(ROOT),
        env=_env(backend),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a timeout kills the program's whole process group
    )
    try:
        out, err = proc.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
        err += f"\n[test] killed after {RUN_TIMEOUT_S} s"
        return -signal.SIGKILL, _program_stdout(out), err
    return proc.returncode, _program_stdout(out), err


def _report(backend, rc, out, err):
    return (
        f"----- {backend}: exit code {rc} -----\n"
        f"--- stdout ---\n{out}"
        f"--- stderr (last 40 lines) ---\n" + "\n".join(err.splitlines()[-40:]) + "\n"
    )


def _backends(config):
    choice = config.getoption("backend")
    return ["ray", "rayreact"] if choice == "both" else [choice]


def pytest_generate_tests(metafunc):
    if "program" not in metafunc.fixturenames:
        return
    runs_rayreact = "rayreact" in _backends(metafunc.config)
    params = []
    for name in PROGRAMS:
        marks = [pytest.mark.timeout(2 * RUN_TIMEOUT_S + 60)]
        if runs_rayreact and name in RAYREACT_BUGS:
            reason, strict = RAYREACT_BUGS[name]
            marks.append(pytest.mark.xfail(strict=strict, reason=reason))
        params.append(pytest.param(name, id=name[:-3], marks=marks))
    metafunc.parametrize("program", params)


def test_programs_found():
    assert len(PROGRAMS) >= 15, PROGRAMS


def test_ray_classic(program, request):
    backends = _backends(request.config)
    if "ray" in backends:
        pytest.importorskip("ray")
    ok_line = f"{program[:-3]}: OK"
    results = {backend: _run(backend, program) for backend in backends}
    report = "".join(_report(b, *results[b]) for b in backends)

    for backend, (rc, out, _) in results.items():
        assert rc == 0, f"{program} failed on {backend}\n{report}"
        assert out.rstrip("\n").endswith(ok_line), f"{program} did not finish on {backend}\n{report}"
    if len(backends) == 2:
        (rc_ray, out_ray, _), (rc_rr, out_rr, _) = results["ray"], results["rayreact"]
        assert (rc_rr, out_rr) == (rc_ray, out_ray), f"{program}: outputs differ\n{report}"
