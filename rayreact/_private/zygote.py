"""The zygote: one pre-imported process per session that forks every worker.

``python -m rayreact._private.zygote SESSION DRIVER_PID`` is started by the driver at ``init``
as a fresh interpreter. It imports the worker's modules and the third-party packages the driver
had imported by then (``RAYREACT_PRELOAD``: numpy, gymnasium, torch...), freezes them out of the
garbage collector, and then only forks: each request on its channel (``rr_<session>_zygote``,
a shared-memory ring any process of the session may write to) becomes a worker process.

Why fork from a template instead of starting a fresh interpreter per actor: the workers then
share the template's memory pages (the imported modules' code and data) instead of each holding
its own copy. With 15 actors on 2 cores every step switches processes, and a step runs on
whatever the last process left in the caches: a token ring of forked processes steps CartPole
2-3x faster than one of freshly started ones (``bench/floor.py``). Actors also start in
milliseconds instead of re-importing torch each.

What a worker sees is what a fresh interpreter would: the zygote runs no user code (the
user's functions and classes arrive by value, as before), each child gets the requester's
current environment variables, ``sys.path`` and working directory, NumPy's global random state is reseeded from
the OS (Python's ``random`` reseeds itself after a fork), and SIGCHLD is back to its default.
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
    starts in the requester's current directory, with environment ``env``."""
    return pickle.dumps((proc, kind, driver_pid, env, os.getcwd()), protocol=5)


_NOT_PRELOADED = ("rayreact", "ray", "pytest", "_pytest", "pip", "setuptools")


def preload_list():
    """The third-party modules imported in this process, in import order (what the zygote
    imports): installed packages only, never the program's own modules."""
    names = []
    for name, mod in list(sys.modules.items()):
        path = getattr(mod, "__file__", None) or ""
        top = name.partition(".")[0]
        if ("site-packages" in path or "dist-packages" in path) and \
                top not in _NOT_PRELOADED:
            names.append(name)
    return names


def main():
    session, driver_pid = sys.argv[1], int(sys.argv[2])
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # the program saw them already, when it imported
        for name in json.loads(os.environ.get(ENV_PRELOAD, "[]")):
            try:
                importlib.import_module(name)
            except BaseException:  # noqa: BLE001 - a module that fails here is imported later
                pass
    if threading.active_count() > 1:
        # A preloaded package started a thread: forking now could leave a child holding a lock
        # that thread held. Exit; workers then start as fresh interpreters.
        os._exit(0)
    gc.collect()
    gc.freeze()  # the preloaded objects stay out of every GC pass: their pages stay shared
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the workers
    ch = Channel(session, CHANNEL)
    while True:
        data = ch.recv_nowait()
        if data is None:
            if not ch.wait(_IDLE_CHECK) and not pid_alive(driver_pid):
                os._exit(0)
            continue
        proc, kind, worker_driver, env, cwd = pickle.loads(data)
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
        sys.argv = [worker.__file__, session, f"{proc:x}", kind, str(driver_pid)]
        worker.main()
    finally:
        os._exit(1)


if __name__ == "__main__":
    main()
