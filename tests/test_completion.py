"""determinism.Completion and CallOrder: when a call's subtree is complete, and which call an
actor runs next (unit tests on fake runtimes; tests/test_determinism.py runs real programs)."""

from types import SimpleNamespace

import pytest

from rayreact._private import determinism
from rayreact._private.determinism import INF, CallOrder, Completion

DRIVER, P, X = 1, 2, 3  # process ids


class FakeRuntime:
    deterministic = True
    tracer = None

    def __init__(self, proc):
        self.proc = proc
        self.sent = []
        self.counter = 100
        self.completion = SimpleNamespace(open={})  # an actor's own incomplete reactions

    def new_id(self):
        self.counter += 1
        return self.counter

    def send_done(self, proc, tag):
        self.sent.append(("done", proc, tag))

    def send_watermark(self, proc, parent, w):
        self.sent.append(("wm", proc, parent, w))

    def ask_watermark(self, proc, parent, k):
        self.sent.append(("ask", proc, parent, k))


class Target:
    def __init__(self, proc):
        self._proc = proc


def call(tag, caller, first=7, procs=(DRIVER,), hint=None, other=0):
    return ((0, caller, first, 1, "m", None, None, (tag, procs, hint, other)), [])


def arrive(order, *items):
    """Deliver CALLs to ``order`` as the actor's runtime does; returns the deferred calls
    (call id -> item). The items' ids are their positions."""
    calls = {}
    for i, (ctrl, frames) in enumerate(items):
        ctrl = ctrl[:2] + (i,) + ctrl[3:]
        calls[i] = (ctrl, frames)
        order.arrived(ctrl, calls)
    return calls


def test_ordering_starts_when_the_driver_shares_an_actor():
    c = Completion(FakeRuntime(DRIVER), driver=True)
    assert not c.active
    c.share(X)
    assert c.active and X in c.shared


def test_no_ordering_when_not_deterministic():
    rt = FakeRuntime(DRIVER)
    rt.deterministic = False
    c = Completion(rt, driver=True)
    c.share(X)
    assert not c.active


def test_the_driver_watermark_is_its_first_open_root():
    c = Completion(FakeRuntime(DRIVER), driver=True)
    c.share(X)
    assert c.root_order(Target(X), 5) == ((5,), (DRIVER,), 5, 6)
    assert c.root_order(Target(X), 6)[2] == 5  # root 5 still open
    assert c.root_order(Target(9), 7)[2] is None  # not shared: no hint, no waiting
    c.child_done((5,))
    assert c.watermark(c.program) == 6
    c.child_done((6,))
    c.child_done((7,))
    assert c.watermark(c.program) > 7  # nothing open


def test_a_reaction_that_waited_for_its_calls_reports_on_its_result():
    rt = FakeRuntime(P)
    c = Completion(rt, driver=False)
    c.begin(call((5,), DRIVER, first=42)[0])
    order = c.child_order(Target(X))
    assert order[0] == (5, 1) and order[1] == (DRIVER, P)
    c.child_done((5, 1))  # its RESULT came back, subtree complete
    assert c.result_tag(42) == (5,)
    c.end()
    assert rt.sent == []  # the RESULT carried the news
    assert (5,) not in c.open


def test_a_reaction_whose_call_is_still_running_reports_later():
    rt = FakeRuntime(P)
    c = Completion(rt, driver=False)
    c.begin(call((5,), DRIVER, first=42)[0])
    c.child_order(None)  # a task, not waited for
    assert c.result_tag(42) is None
    c.end()
    assert rt.sent == []
    c.child_done((5, 1))
    assert rt.sent == [("done", DRIVER, (5,))]


def test_a_watermark_request_is_answered_when_the_earlier_calls_are_complete():
    rt = FakeRuntime(P)
    c = Completion(rt, driver=False)
    c.begin(call((5,), DRIVER)[0])
    for _ in range(3):
        c.child_order(None)
    c.request((5,), 3, X)
    assert rt.sent == []
    c.child_done((5, 2))
    assert rt.sent == []  # call 1 still open
    c.child_done((5, 1))
    assert rt.sent == [("wm", X, (5,), 3)]
    c.child_done((5, 3))
    c.end()
    c.request((5,), 9, X)  # complete, all of it
    assert rt.sent[-1] == ("wm", X, (5,), INF)


@pytest.mark.parametrize("stack,task,ok", [
    ([(5,)], (5, 1), True),  # its own call
    ([(5,)], (4,), True),  # an earlier root
    ([(5,)], (6,), False),  # a later root could wait for it
    ([(5,), (5, 1)], (5, 2), False),  # a later sibling of the one on top
    ([(5,), (5, 1)], (5, 1, 1), True),
])
def test_which_tasks_a_blocked_worker_may_run_on_top(stack, task, ok):
    c = Completion(FakeRuntime(P), driver=False)
    for tag in stack:
        c.begin(call(tag, DRIVER)[0])
    assert c.may_run_on_top(task) is ok


def test_an_unshared_actor_runs_calls_in_arrival_order():
    o = CallOrder(FakeRuntime(X), "A")
    calls = arrive(o, call((9,), DRIVER), call((5,), DRIVER))
    assert o.pick(calls, lambda ctrl: True) == 0


def test_a_shared_actor_runs_the_first_call_in_logical_time_once_it_is_covered():
    rt = FakeRuntime(X)
    o = CallOrder(rt, "A")
    calls = arrive(o, call((9,), DRIVER, hint=5), call((5, 2), P, procs=(DRIVER, P), hint=2))
    assert o.ordered
    # (5, 2) comes first: roots before 5 are complete (hint 5), and P's call 1 is (hint 2).
    assert o.pick(calls, lambda ctrl: True) == 1
    calls.pop(1)
    # (9,) needs every root before 9 complete: ask the driver.
    assert o.pick(calls, lambda ctrl: True) is None
    assert rt.sent == [("ask", DRIVER, (), 9)]
    o.update((), 9)
    assert o.pick(calls, lambda ctrl: True) == 0


def test_a_call_held_too_long_sends_the_actor_back_to_arrival_order(monkeypatch):
    monkeypatch.setattr(determinism, "GRACE", 0.0)
    o = CallOrder(FakeRuntime(X), "A")
    calls = arrive(o, call((9,), DRIVER, hint=5))
    assert o.pick(calls, lambda ctrl: True) is None  # starts waiting
    with pytest.warns(determinism.NondeterminismWarning, match="arrival order"):
        assert o.pick(calls, lambda ctrl: True) == 0
    assert o.given_up


def test_the_other_watermark_leaves_out_calls_to_the_same_actor():
    c = Completion(FakeRuntime(DRIVER), driver=True)
    c.share(X)
    c.root_order(Target(X), 5)
    assert c.root_order(Target(X), 6)[2:] == (5, 7)  # root 5 is open, but it went to X
    c.open_root(7)  # a task
    assert c.root_order(Target(X), 8)[2:] == (5, 7)  # the task is open: not past 7
    c.child_done((7,))
    assert c.root_order(Target(X), 9)[2:] == (5, 10)


def _pending_calls_from_p(n):
    """Calls (5, 1..n) that P made to X back to back (none had returned: hint 1), with
    nothing else open (other = k + 1); roots before 5 are complete."""
    rt = FakeRuntime(X)
    o = CallOrder(rt, "A")
    calls = arrive(o, *[call((5, k), P, procs=(DRIVER, P), hint=1, other=k + 1)
                        for k in range(1, n + 1)])
    o.update((), 6)
    return rt, o, calls


def test_a_callers_next_call_runs_once_its_earlier_calls_to_this_actor_are_complete_here():
    rt, o, calls = _pending_calls_from_p(3)
    for i in range(3):
        assert o.pick(calls, lambda ctrl: True) == i
        calls.pop(i)  # it ran here, and its subtree is complete
    assert rt.sent == []  # no watermark asked for, once per call


def test_but_not_while_one_of_them_has_an_incomplete_subtree_here():
    rt, o, calls = _pending_calls_from_p(2)
    assert o.pick(calls, lambda ctrl: True) == 0
    calls.pop(0)
    rt.completion.open[(5, 1)] = object()  # (5, 1) made a call that has not returned
    assert o.pick(calls, lambda ctrl: True) is None
    assert rt.sent == [("ask", P, (5,), 2)]


def test_nor_while_a_call_to_another_target_is_open():
    rt = FakeRuntime(X)
    o = CallOrder(rt, "A")
    # P's call 1 went elsewhere and is open (other = 1); call 2 came here.
    calls = arrive(o, call((5, 2), P, procs=(DRIVER, P), hint=1, other=1))
    o.update((), 6)
    assert o.pick(calls, lambda ctrl: True) is None
    assert rt.sent == [("ask", P, (5,), 2)]


def test_calls_deferred_before_ordering_started_are_ordered_too():
    rt = FakeRuntime(X)
    o = CallOrder(rt, "A")
    calls = arrive(o, call((9,), DRIVER), call((5,), DRIVER, hint=5))  # the second shares X
    o.update((), 10)
    assert o.pick(calls, lambda ctrl: True) == 1  # (5,) before (9,), though it came later
    calls.pop(1)
    assert o.pick(calls, lambda ctrl: True) == 0


def test_a_call_that_may_not_run_yet_is_passed_over_and_kept():
    rt = FakeRuntime(X)
    o = CallOrder(rt, "passed-over")
    calls = arrive(o, call((5,), DRIVER, hint=5), call((6,), DRIVER, hint=5))
    o.update((), 7)
    assert o.pick(calls, lambda ctrl: ctrl[7][0] != (5,)) == 1
    calls.pop(1)
    with pytest.warns(determinism.NondeterminismWarning, match="arrival order"):
        assert o.pick(calls, lambda ctrl: True) == 0  # (6,) ran first: said so


def test_a_long_loop_of_completed_calls_keeps_the_records_heaps_small():
    # The driver's program record lives for the whole run; calls to actors nobody else
    # calls never ask for a watermark, so nothing else prunes its heaps.
    c = Completion(FakeRuntime(DRIVER), driver=True)
    c.share(X)
    for n in range(1, 10_001):
        c.open_root(n, Target(9))  # an unshared actor
        c.child_done((n,))
    rec = c.program
    assert len(rec.heap) <= 2 and sum(len(h) for h in rec.by_target.values()) <= 2
