"""Helpers shared by the unit tests."""

import subprocess
import sys
import textwrap

import psutil


def session_files(session):
    from rayreact._private import shm

    return shm.session_files(session)


def session_processes(session):
    """pids of the session's live processes: workers started fresh, the zygote and its forks
    (which keep the zygote's command line)."""
    from rayreact._private.api import _WORKER_MODULES

    out = []
    for p in psutil.process_iter(["pid", "cmdline", "status"]):
        cmd = p.info.get("cmdline") or []
        if any(m in cmd for m in _WORKER_MODULES) and session in cmd \
                and p.info["status"] != psutil.STATUS_ZOMBIE:
            out.append(p.info["pid"])
    return out


def wait_until(cond, timeout=20.0):
    """Poll ``cond`` until true or ``timeout`` seconds pass (an upper bound, not a sleep)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def run_script(code, *args, timeout=120, **kw):
    """Run ``code`` in a fresh interpreter; returns CompletedProcess."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args],
                          capture_output=True, text=True, timeout=timeout, **kw)


