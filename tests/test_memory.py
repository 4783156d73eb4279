"""A long training-like loop does not grow /dev/shm use or the object table."""

import numpy as np

import rayreact
from helpers import session_files


def shm_bytes(session):
    import os

    return sum(os.path.getsize(p) for p in session_files(session))


def test_ten_thousand_iterations_keep_shm_flat(rr):
    session = rayreact._private.api._node.session
    rt = rayreact._private.api._rt

    @rr.remote
    class Worker:
        def step(self, w, k):
            return w * k, np.full(8, k)

    @rr.remote
    def task(x):
        return x + 1

    workers = [Worker.remote() for _ in range(2)]
    big = np.ones(100_000)  # 800 KB: travels through its own segment

    def iteration(i):
        w = rr.put(big if i % 100 == 0 else i)
        refs = [wk.step.remote(w, i) for wk in workers]
        out = rr.get(refs)
        assert out[0][1][0] == i
        if i % 50 == 0:
            rr.get(task.remote(i))

    for i in range(200):  # warm-up: rings touched, workers started
        iteration(i)
    files, used, entries = len(session_files(session)), shm_bytes(session), len(rt.table)
    for i in range(200, 10_200):
        iteration(i)
    # (Fewer is fine: a pooled segment, reused for a value that was then shared, is unlinked.)
    assert len(session_files(session)) <= files
    assert shm_bytes(session) <= used
    assert len(rt.table) <= entries + 2


def test_refs_carried_by_calls_are_freed_once_the_calls_ran(rr):
    # Refs nested in a call's arguments, and pending refs passed as arguments, are exports
    # of the owner until the callee has run the call: then they are freed, in the owner's
    # table and in the callee's (a loop passing refs must not keep every object alive).
    rt = rayreact._private.api._rt

    @rr.remote
    class Learner:
        def update(self, batch_refs):
            return sum(rr.get(batch_refs))

        def add(self, x):
            return x

        def table_size(self):
            return len(rayreact._private.api._rt.table)

    @rr.remote
    def sample(i):
        return i

    learner = Learner.remote()
    base = len(rt.table)
    for i in range(200):
        assert rr.get(learner.update.remote([rr.put(i), sample.remote(i)])) == 2 * i
        learner.add.remote(sample.remote(i))  # both refs dropped at once
    rr.get(learner.add.remote(0))
    assert len(rt.table) <= base + 2
    assert rr.get(learner.table_size.remote()) <= 2


def test_a_large_put_after_a_restart_while_a_value_of_the_last_session_was_held():
    # The segment of a value held across shutdown() goes to the segment pool when the value
    # is dropped, though shutdown unlinked it with its session: a later put must not reuse it.
    import gc

    from rayreact._private import serialization as ser

    rayreact.init(num_cpus=1)
    try:
        held = rayreact.get(rayreact.put(np.ones(1 << 20)))  # 8 MiB: a segment of its own
        rayreact.shutdown()
        rayreact.init(num_cpus=1)
        del held
        gc.collect()
        assert not ser._pool.maps  # its mapping was dropped, not kept for a segment gone
        assert rayreact.get(rayreact.put(np.full(1 << 20, 2.0)))[0] == 2.0
    finally:
        rayreact.shutdown()
