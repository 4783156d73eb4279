"""Starting worker processes: one per actor, and the task pool's workers.

A worker is a fresh interpreter (``python -m rayreact._private.worker``), never a fork and never
a re-import of the user's ``__main__`` (Ray scripts often have unguarded top-level code; the
user's functions and classes arrive by value through cloudpickle instead). The creator makes the
worker's inbox *before* starting it, so calls can be queued at once: actor creation does not
wait for the process to boot. Workers run in their own session (Ctrl-C in the terminal reaches
only the driver, which then shuts everything down) and exit by themselves when the driver dies.
"""

import json
import os
import random
import subprocess
import sys

from rayreact._private.channel import Channel
from rayreact._private.runtime import inbox_name

ENV_SYS_PATH = "RAYREACT_SYS_PATH"
ENV_NAMESPACE = "RAYREACT_NAMESPACE"
ENV_NUM_CPUS = "RAYREACT_NUM_CPUS"


def new_proc_id(session) -> int:
    while True:
        proc = random.getrandbits(32) | 1
        if not os.path.exists(f"/dev/shm/rr_{session}_{inbox_name(proc)}"):
            return proc


def spawn_worker(rt, kind, namespace, num_cpus):
    """Create an inbox and start a worker process of ``kind`` ("actor" or "task").

    Returns:
        (proc id: int, subprocess.Popen)
    """
    proc = new_proc_id(rt.session)
    ch = Channel(rt.session, inbox_name(proc), create=True)
    env = dict(os.environ)
    env[ENV_SYS_PATH] = json.dumps([p for p in sys.path if p])
    env[ENV_NAMESPACE] = namespace or ""
    env[ENV_NUM_CPUS] = str(num_cpus)
    env["PYTHONUNBUFFERED"] = "1"  # prints from remote code reach the terminal before shutdown
    env.setdefault("OMP_NUM_THREADS", "1")  # many workers on few cores: no thread oversubscription
    cmd = [sys.executable, "-m", "rayreact._private.worker", rt.session, f"{proc:x}", kind,
           str(rt.driver_pid)]
    p = subprocess.Popen(cmd, env=env, start_new_session=True, stdin=subprocess.DEVNULL)
    ch.set_pid(p.pid)
    rt._peers[proc] = ch
    return proc, p
