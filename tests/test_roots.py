"""determinism.Roots: the driver's record of open roots, their credit, and the watermark."""

from rayreact._private import determinism


class FakeRuntime:
    deterministic = True
    tracer = None

    def __init__(self):
        self.sent = []
        self.counter = 100

    def new_id(self):
        self.counter += 1
        return self.counter

    def send_watermark(self, proc, w):
        self.sent.append((proc, w))


def roots():
    r = determinism.Roots(FakeRuntime())
    r.share(7)
    return r


def test_a_root_is_complete_only_when_all_its_credit_is_back():
    r = roots()
    r.open_root(5)
    r.open_root(6)
    assert r.watermark() == 5
    # Root 5's reaction made two calls: it kept 1/4, each child got 1/2 and 1/4 ...
    r.done(5, 2)  # the reaction returned (1/4)
    r.done(5, 1)  # first child (1/2)
    assert r.watermark() == 5
    r.done(5, 2)  # second child (1/4): all credit back
    assert r.watermark() == 6
    r.done(6, 0)
    assert r.watermark() > 6  # nothing open: every root so far is complete


def test_a_root_that_ended_abnormally_closes_whatever_is_outstanding():
    r = roots()
    r.open_root(3)
    r.done(3, 4)
    r.done(3, None)
    assert 3 not in r.open


def test_a_waiting_actor_is_answered_once_the_watermark_covers_its_root():
    r = roots()
    for n in (1, 2, 3):
        r.open_root(n)
    r.request(7, 3)
    assert r.rt.sent == []
    r.done(1, 0)
    assert r.rt.sent == []
    r.done(2, 0)
    assert r.rt.sent == [(7, 3)]
    r.request(8, 2)  # already covered: answered at once
    assert r.rt.sent[-1] == (8, 3)


def test_ordering_starts_only_when_an_actor_is_shared():
    r = determinism.Roots(FakeRuntime())
    assert not r.active
    r.share(9)
    assert r.active and 9 in r.shared


def test_no_ordering_when_not_deterministic():
    rt = FakeRuntime()
    rt.deterministic = False
    r = determinism.Roots(rt)
    r.share(9)
    assert not r.active
