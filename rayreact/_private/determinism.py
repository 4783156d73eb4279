"""Deterministic scheduling: the ready set of ``wait`` by logical time, and the warnings.

The driver's submissions are numbered in order (the counter part of each ``ObjectRef`` id it
owns), which is the logical time of a call. In deterministic mode (the default) ``wait``
returns the ``num_returns`` refs that come first in that order (refs borrowed from other
processes come after, in list order), once they are ready, instead of the first ones to
finish; ``ActorPool.get_next_unordered`` and ``map_unordered`` follow from it. So a program
run twice with the same seeds makes the same calls with the same arguments in the same order,
whatever the timing. Constructs outside that subset still run, with one warning each.
"""

import heapq
import logging
import os
import time
import warnings
from fractions import Fraction

from rayreact.exceptions import NondeterminismWarning
from rayreact._private.refs import owner_of

log = logging.getLogger("rayreact.determinism")
_LOW64 = (1 << 64) - 1
# Seconds ``wait`` keeps to logical order after enough later refs are ready (see
# Runtime.wait): long enough for any balanced workload, short enough not to stall a program
# that needs first-finished order to make progress.
GRACE = float(os.environ.get("RAYREACT_WAIT_GRACE", "2.0"))
_warned = set()


def warn_once(key, message, stacklevel=4, where=None):
    """Warn once per process and ``key`` (a construct) that the program is nondeterministic.
    ``stacklevel`` counts from this function to the user's line; ``where`` (a text) replaces
    the line in a worker, where no user line is the cause."""
    if key in _warned:
        return
    _warned.add(key)
    text = (f"rayreact: {message} Pass deterministic=False to rayreact.init() to silence "
            "this, or filter NondeterminismWarning.")
    if where is not None:
        warnings.warn_explicit(text, NondeterminismWarning, where, 0)
    else:
        warnings.warn(text, NondeterminismWarning, stacklevel=stacklevel)


def logical_order(refs, me):
    """Indices of ``refs`` sorted by logical time: this process's own refs by submission
    order, then borrowed refs in list order."""
    def key(i):
        oid = refs[i]._id
        return (0, oid & _LOW64) if owner_of(oid) == me else (1, i)

    return sorted(range(len(refs)), key=key)


# -- several callers of one actor: calls ordered by logical tag ---------------------------------
#
# Every call the driver makes while ordering is on is a *root*, whose tag is ``(n,)`` with n
# its submission counter; the k-th call a reaction makes gets its tag extended by k. Tags
# compare as tuples, which is the order a serial run (every call executed inline, when it is
# made) would make the calls in. An actor that other processes may call (*shared*) runs its
# calls in tag order: it runs a call with root r once every root before r is *complete*, that
# is, it and every call it caused, transitively, have returned. The driver learns that by
# credit recovery (Mattern's termination detection): a root starts with credit 1; a reaction
# with credit 2**-e that makes a call gives it half of its credit (both now hold 2**-(e+1));
# when a reaction returns, its remaining credit goes back to the driver (on its RESULT if the
# driver called it, else in a DONE message). A root whose returned credit sums to 1 is
# complete: nothing it caused can still reach any actor. The driver's *watermark* w says
# "every root before w is complete"; it goes with every call to a shared actor, and a shared
# actor that needs a later one asks for it (WATERMARK_REQ) and is answered when it holds.


class Roots:
    """The driver's open roots, their returned credit, and the watermark (driver only).

    Ordering starts (``active``) the first time an actor handle leaves the driver, or the
    driver gets a handle it did not create: before that, only the driver can call any actor,
    so arrival order is submission order. ``shared`` holds the actors other processes may
    call; calls to any other actor need no waiting at all.
    """

    def __init__(self, rt):
        self.rt = rt
        self.active = False
        self.shared = set()
        self.open = {}  # root counter -> credit returned so far (0 <= credit < 1)
        self._heap = []  # open root counters (lazily pruned)
        self.waiters = []  # (root, proc): shared actors waiting for watermark >= root

    def share(self, proc):
        """Actor ``proc`` may be called by other processes from now on."""
        if proc in self.shared or not self.rt.deterministic:
            return
        self.shared.add(proc)
        if not self.active:
            self.active = True
            log.debug("ordering calls by logical tag from now on: actor %08x is shared", proc)
            if self.rt.tracer is not None:
                self.rt.tracer.stop_compiling(
                    "an actor handle was passed to another process: calls from several "
                    "callers are ordered on the dynamic path")

    def open_root(self, n):
        if n not in self.open:
            self.open[n] = 0
            heapq.heappush(self._heap, n)

    def done(self, root, e):
        """Credit ``2**-e`` of ``root`` came back (``e`` None: the root ended abnormally,
        e.g. its actor died: close it whatever is outstanding)."""
        c = self.open.get(root)
        if c is None:
            return
        if e is not None:
            c += Fraction(1, 1 << e) if e else 1
            if c < 1:
                self.open[root] = c
                return
        del self.open[root]
        h = self._heap
        while h and h[0] not in self.open:  # keep the heap as small as what is open
            heapq.heappop(h)
        if self.waiters:
            self._answer()

    def watermark(self):
        """Every root before the returned counter is complete."""
        h = self._heap
        while h and h[0] not in self.open:
            heapq.heappop(h)
        return h[0] if h else self.rt.new_id() & _LOW64

    def request(self, proc, root):
        """Shared actor ``proc`` waits until every root before ``root`` is complete."""
        self.waiters.append((root, proc))
        self._answer()

    def _answer(self):
        w = self.watermark()
        keep = []
        for root, proc in self.waiters:
            if root <= w:
                self.rt.send_watermark(proc, w)
            else:
                keep.append((root, proc))
        self.waiters = keep


class CallOrder:
    """An actor's choice of its next call (actor side): arrival order until it learns it is
    shared, then tag order, each call run once the watermark covers its root.

    A call held for ``GRACE`` seconds without the watermark moving means the program needs
    the calls in arrival order to make progress (a caller polling for what a later caller
    will do, say): the actor then goes back to arrival order for good, with a warning.
    """

    def __init__(self, rt, label):
        self.rt = rt
        self.label = label
        self.ordered = False  # set by Runtime when a call says the actor is shared
        self.given_up = False
        self.asked = 0  # the root the last watermark request was for
        self.held_since = None  # (time, watermark, call id): when the held call began to wait
        self.last = None  # tag of the last call run

    def pick(self, calls, allowed):
        """Index in ``calls`` (deferred CALL records) of the call to run now, or None."""
        if not self.ordered or self.given_up:
            return next((i for i, (ctrl, _f) in enumerate(calls) if allowed(ctrl)), None)
        best, key = None, None
        for i, (ctrl, _f) in enumerate(calls):
            if not allowed(ctrl):
                continue
            order = ctrl[7]
            k = order[0] if order is not None else ()
            if best is None or k < key:
                best, key = i, k
        if best is None or not key or key[0] <= self.rt.watermark:
            if self.held_since is not None and calls[best][0][2] == self.held_since[2]:
                self.held_since = None
            if key and self.last is not None and key < self.last:
                warn_once(("arrival", self.label),
                          f"calls from several processes made within one driver call (tasks "
                          f"or actors called by a task or actor) reached actor {self.label} "
                          "in arrival order, which depends on timing.",
                          where=f"actor {self.label}")
            if key:
                self.last = key
            return best
        root = key[0]
        if root != self.asked:  # (a call with an earlier root may arrive after a later one)
            self.asked = root
            self.rt.ask_watermark(root)
        # The time the call has waited while the watermark stood still (other calls, from
        # earlier in logical time, may run meanwhile: a caller polling for what this call does).
        now = time.monotonic()
        first = calls[best][0][2]
        if self.held_since is None or self.held_since[1:] != (self.rt.watermark, first):
            self.held_since = (now, self.rt.watermark, first)
        elif now - self.held_since[0] > GRACE:
            self.given_up = True
            warn_once(("hold", self.label),
                      f"a call to actor {self.label} waited {GRACE} s for calls that come "
                      "before it in logical time (an earlier caller's work did not finish): "
                      "this actor runs its calls in arrival order from now on, so the "
                      "program's result may depend on timing.", where=f"actor {self.label}")
            return best
        return None
