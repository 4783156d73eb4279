"""The zygote: one pre-imported process per session that forks every worker.

``python -m rayreact._private.zygote SESSION DRIVER_PID`` is started by the driver at ``init``
as a fresh interpreter. It imports the worker's modules and the third-party packages the driver
had imported by then (``RAYREACT_PRELOAD``: numpy, gymnasium, torch...), freezes them out of the
garbage collector, and then only forks: each request on its channel (``rr_<session>_zygote``,
a shared-memory ring any process of the session may write to) becomes a worker process. A
request names the packages its sender has imported; those the zygote lacks (a program that
calls ``init`` first and imports torch with its actor classes later) it imports before
forking, once, instead of every actor importing them after.

Why fork from a template instead of starting a fresh interpreter per actor: the workers then
share the template's memory pages (the imported modules' code and data) instead of each holding
its own copy. With 15 actors on 2 cores every step switches processes, and a step runs on
whatever the last process left in the caches: a token ring of forked processes steps CartPole
2-3x faster than one of freshly started ones (``bench/floor.py``). Actors also start in
milliseconds instead of re-importing torch each.

What a worker sees is what a fresh interpreter would: the zygote runs no user code (the
user's functions and classes arrive by value, as before), each child gets the requester's
current environment variables, ``sys.path`` and working directory, NumPy's and torch's global random
states are reseeded from the OS (Python's ``random`` reseeds itself after a fork), and SIGCHLD is back to its default.
If the zygote is gone or disabled (``RAYREACT_ZYGOTE=0``), workers start as fresh interpreters.
"""

import contextlib
import gc
import importlib
import io
import json
import os
import pickle
import signal
import sys
import threading
import warnings

from rayreact._private import worker  # noqa: F401 - the workers' modules, imported once here
from rayreact._private.channel import Channel
from rayreact._private.runtime import inbox_name, pid_alive

CHANNEL = "zygote"
ENV_PRELOAD = "RAYREACT_PRELOAD"
_IDLE_CHECK = 1.0  # seconds between checks that the driver is alive


def request(session, proc, kind, driver_pid, env):
    """The record asking the zygote of ``session`` to fork worker ``proc`` (bytes): the worker
    starts in the requester's current directory, with environment ``env``, and the zygote
    first imports the packages the requester has imported since (``preload_list``)."""
    return pickle.dumps((proc, kind, driver_pid, env, os.getcwd(), preload_list()), protocol=5)


_NOT_PRELOADED = ("rayreact", "ray", "pytest", "_pytest", "pip", "setuptools")


_scanned = [0, []]  # len(sys.modules) at the last scan, and its result


def preload_list():
    """The third-party modules imported in this process, in import order (what the zygote
    imports): installed packages only, never the program's own modules."""
    if len(sys.modules) == _scanned[0]:  # modules are rarely removed: nothing new
        return _scanned[1]
    names = []
    for name, mod in list(sys.modules.items()):
        path = getattr(mod, "__file__", None) or ""
        top = name.partition(".")[0]
        if ("site-packages" in path or "dist-packages" in path) and \
                top not in _NOT_PRELOADED:
            names.append(name)
    _scanned[:] = [len(sys.modules), names]
    return names


def _preload(names, done):
    """Import the modules of ``names`` not in ``done`` (adding them); False if one of them
    started a thread, after which this process must not fork."""
    new = [n for n in names if n not in done]
    if new:
        done.update(new)
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")  # the program saw them already, when it imported
            for name in new:
                try:
                    importlib.import_module(name)
                except BaseException:  # noqa: BLE001 - a module that fails here is imported later
                    pass
        if threading.active_count() > 1:
            # Forking now could leave a child holding a lock that thread held.
            return False
        gc.collect()
        gc.freeze()  # the preloaded objects stay out of every GC pass: their pages stay shared
    return True


def main():
    session, driver_pid = sys.argv[1], int(sys.argv[2])
    preloaded = set()
    if not _preload(json.loads(os.environ.get(ENV_PRELOAD, "[]")), preloaded):
        os._exit(0)  # a preloaded package started a thread: workers start as fresh interpreters
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the workers
    ch = Channel(session, CHANNEL)
    while True:
        data = ch.recv_nowait()
        if data is None:
            if not ch.wait(_IDLE_CHECK) and not pid_alive(driver_pid):
                os._exit(0)
            continue
        proc, kind, worker_driver, env, cwd, names = pickle.loads(data)
        # Packages the program imported after init (say torch, with the class of the actor
        # to start): imported here once, not in every actor, and shared as the rest.
        if not _preload(names, preloaded):
            os._exit(0)  # the requester sees this process gone and starts a fresh interpreter
        pid = os.fork()
        if pid == 0:
            _child(ch, session, proc, kind, worker_driver, env, cwd)
        try:
            inbox = Channel(session, inbox_name(proc))
        except FileNotFoundError:  # the requester gave up and cleaned up
            os.kill(pid, signal.SIGKILL)
            continue
        inbox.set_pid(pid)  # the requester waits for this
        inbox.close()


def _child(ch, session, proc, kind, driver_pid, env, cwd):
    try:
        ch.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.environ.clear()
        os.environ.update(env)
        try:
            os.chdir(cwd)
        except OSError:  # the directory is gone: stay where the zygote is
            pass
        np = sys.modules.get("numpy")
        if np is not None:
            np.random.seed()  # fresh entropy, as a fresh interpreter would have
        torch = sys.modules.get("torch")
        if torch is not None:
            torch.seed()  # likewise torch's default generator (unseeded sampling, inits)
        sys.argv = [worker.__file__, session, f"{proc:x}", kind, str(driver_pid)]
        worker.main()
    finally:
        os._exit(1)


if __name__ == "__main__":
    main()
