"""Starting worker processes: one per actor, and the task pool's workers.

A worker is forked by the session's zygote (``zygote.py``: a pre-imported template process
that never runs user code), or, without one, started as a fresh interpreter (``python -m
rayreact._private.worker``). Never a fork of the driver and never a re-import of the user's
``__main__`` (Ray scripts often have unguarded top-level code; the user's functions and classes
arrive by value through cloudpickle instead). The creator makes the worker's inbox *before*
starting it, so calls can be queued at once: actor creation does not wait for the process to
boot. Workers run in their own session (Ctrl-C in the terminal reaches only the driver, which
then shuts everything down) and exit by themselves when the driver dies.
"""

import json
import os
import random
import socket
import subprocess
import sys
import time

from rayreact._private import output
from rayreact._private.channel import Channel, ChannelClosed
from rayreact._private.runtime import inbox_name, pid_alive

ENV_SYS_PATH = "RAYREACT_SYS_PATH"
ENV_NAMESPACE = "RAYREACT_NAMESPACE"
ENV_NUM_CPUS = "RAYREACT_NUM_CPUS"
ENV_DRIVER = "RAYREACT_DRIVER_PROC"  # the driver's reactor id (hex)
ENV_NODE_IP = "RAYREACT_NODE_IP"  # the driver's node_ip(), so that every worker says the same


def new_proc_id(session) -> int:
    while True:
        proc = random.getrandbits(32) | 1
        if not os.path.exists(f"/dev/shm/rr_{session}_{inbox_name(proc)}"):
            return proc


_node_ip = []  # this process's node_ip(), once known


def node_ip(given=None):
    """This machine's IP address as Ray 2.60 names its node (``ray.util.get_node_ip_address``,
    ``ray.nodes()``'s ``NodeManagerAddress``, the ``node:<ip>`` resource): ``given`` (the
    driver's ``init(_node_ip_address=...)``), else the driver's (a worker's environment),
    else, as Ray, the source address of this machine's route to a public address (connecting
    a UDP socket sends nothing), else 127.0.0.1 (no route).

    Returns:
        str, an IPv4 address.
    """
    if given:
        _node_ip[:] = [given]
    if not _node_ip:
        ip = os.environ.get(ENV_NODE_IP)
        if not ip:
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.connect(("8.8.8.8", 53))  # Ray's default "perspective" address
                    ip = s.getsockname()[0]
            except OSError:
                ip = "127.0.0.1"
        _node_ip.append(ip)
    return _node_ip[0]


log_to_driver = True  # the driver's init(log_to_driver=...): workers' prints reach its terminal


def worker_env(namespace, num_cpus):
    """The environment of a new worker: this process's, plus what the worker needs to know."""
    env = dict(os.environ)
    env[ENV_SYS_PATH] = json.dumps([p for p in sys.path if p])
    env[ENV_NAMESPACE] = namespace or ""
    env[ENV_NUM_CPUS] = str(num_cpus)
    env[ENV_NODE_IP] = node_ip()
    env["PYTHONUNBUFFERED"] = "1"  # prints from remote code reach the terminal before shutdown
    if not log_to_driver:
        env[output.ENV_LOG_TO_DRIVER] = "0"
    env.setdefault("OMP_NUM_THREADS", "1")  # many workers on few cores: no thread oversubscription
    return env


def start_zygote(session, namespace, num_cpus):
    """Start the session's zygote (driver only); its Popen, or None if disabled."""
    from rayreact._private import zygote

    if os.environ.get("RAYREACT_ZYGOTE", "1") == "0":
        return None
    ch = Channel(session, zygote.CHANNEL, create=True, capacity=1 << 20)
    env = worker_env(namespace, num_cpus)
    env[zygote.ENV_PRELOAD] = json.dumps(zygote.preload_list())
    p = subprocess.Popen([sys.executable, "-m", "rayreact._private.zygote", session,
                          str(os.getpid())], env=env, start_new_session=True,
                         stdin=subprocess.DEVNULL)
    ch.set_pid(p.pid)
    ch.close()
    return p


def spawn_worker(rt, kind, namespace, num_cpus, proc=None):
    """Create an inbox and start a worker process of ``kind`` ("actor" or "task"); with
    ``proc``, take over the existing inbox of that reactor instead (an actor restart; raises
    FileNotFoundError if it is gone).

    Returns:
        (proc id: int, a process handle with ``pid`` and ``wait(timeout=None)``)
    """
    if proc is None:
        proc = new_proc_id(rt.session)
        ch = Channel(rt.session, inbox_name(proc), create=True)
    else:
        ch = Channel(rt.session, inbox_name(proc))
        ch.reset()
    env = worker_env(namespace, num_cpus)
    env[ENV_DRIVER] = f"{rt.driver_proc:x}"
    p = _fork_from_zygote(rt, proc, kind, ch, env)
    if p is None:
        cmd = [sys.executable, "-m", "rayreact._private.worker", rt.session, f"{proc:x}", kind,
               str(rt.driver_pid)]
        p = subprocess.Popen(cmd, env=env, start_new_session=True, stdin=subprocess.DEVNULL)
        ch.set_pid(p.pid)
    rt._peers[proc] = ch
    return proc, p


def forget_zygote(session):
    """Drop this process's channel to the zygote of ``session`` (which has ended)."""
    z = _zygotes.pop(session, None)
    if z:
        z.close()


_ZYGOTE_WAIT = 120.0  # seconds a fork may wait for the zygote (it may still be preloading)
_zygotes = {}  # session -> Channel to its zygote, or None (none: start fresh interpreters)


def _fork_from_zygote(rt, proc, kind, inbox, env):
    """Ask the session's zygote to fork the worker; its handle, or None if there is none."""
    from rayreact._private import zygote

    z = _zygotes.get(rt.session, False)
    if z is False:
        z = None
        if os.environ.get("RAYREACT_ZYGOTE", "1") != "0":
            try:
                z = Channel(rt.session, zygote.CHANNEL)
            except FileNotFoundError:
                pass
        _zygotes[rt.session] = z
    if z is None or not z.pid:
        return None
    data = zygote.request(rt.session, proc, kind, rt.driver_pid, env)
    alive = lambda: pid_alive(z.pid)  # noqa: E731
    try:
        z.send([data], len(data), alive)
    except ChannelClosed:
        return None
    # The zygote writes the child's pid into the inbox header right after forking (a few ms;
    # longer only while it is still importing the packages it preloads).
    deadline = time.monotonic() + _ZYGOTE_WAIT
    delay = 1e-4
    while not inbox.pid:
        if not alive():  # it exited (a package it preloaded started a thread): no more forks
            _zygotes[rt.session] = None
            return None
        if time.monotonic() > deadline:
            raise RuntimeError(
                "rayreact: the zygote process did not start the worker (set RAYREACT_ZYGOTE=0 "
                "to start workers as fresh interpreters instead)")
        time.sleep(delay)
        delay = min(2 * delay, 0.01)
    return Forked(inbox.pid)


class Forked:
    """Handle of a worker forked by the zygote (its parent, which reaps it)."""

    def __init__(self, pid):
        self.pid = pid

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while pid_alive(self.pid):
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("worker", timeout)
            time.sleep(0.01)
        return 0
