"""Compiled graphs held across the measurements of one turn (used by the programs' ``cg_measure``).

A Ray compiled graph's actors spin while the graph exists, which would starve every other
contender on a small machine, and each compile leaves object-store memory behind. So a graph is
compiled at most once per turn (a contender's run through the rows of a family in one
repetition), kept in the program's state while its rows run, and torn down when the turn ends
(``release``, sent by the harness) or when a row needs a different graph.
"""

import os
import re

import psutil

_RAY_SEMAPHORE = re.compile(r"sem\.(?:hdr|obj)(\d+)-")


def compiled(state, signature, build, warm=()):
    """The compiled graph for ``signature``, compiling ``build()`` (a DAG) if needed.

    ``warm``: argument tuples executed once, untimed, right after compiling (the first
    executions set the channels up)."""
    import ray

    current = state.get("_cg")
    if current is not None and current[0] == signature:
        return current[1]
    release(state)
    graph = build().experimental_compile()
    state["_cg"] = (signature, graph)
    for args in warm:
        ray.get(graph.execute(*args))
    return graph


def release(state):
    current = state.pop("_cg", None)
    if current is not None:
        current[1].teardown()


def remove_stale_semaphores(shm_dir="/dev/shm"):
    """Unlink the named semaphores Ray's compiled-graph channels leave in ``shm_dir``
    (``sem.hdr<pid>-*``, ``sem.obj<pid>-*``; Ray 2.60 does not unlink them at teardown) whose
    process is gone. Returns how many were removed."""
    removed = 0
    for name in os.listdir(shm_dir):
        m = _RAY_SEMAPHORE.match(name)
        if m and not psutil.pid_exists(int(m.group(1))):
            try:
                os.unlink(os.path.join(shm_dir, name))
                removed += 1
            except FileNotFoundError:
                pass
    return removed
