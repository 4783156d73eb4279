"""Deterministic scheduling: logical time for ``wait`` and for actors with several callers.

The driver's submissions are numbered in order (the counter part of each ``ObjectRef`` id it
owns), which is the logical time of a call. In deterministic mode (the default) ``wait``
returns the ``num_returns`` refs that come first in that order (refs borrowed from other
processes come after, in list order), once they are ready, instead of the first ones to
finish; ``ActorPool.get_next_unordered`` and ``map_unordered`` follow from it. Calls that
reach one actor from several callers run in the order of their logical tags (below). So a
program run twice with the same seeds makes the same calls with the same arguments in the
same order, whatever the timing. Constructs outside that subset still run, with one warning
each.
"""

import heapq
import logging
import os
import time
import warnings

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
# Tags. While ordering is on, every call the driver makes has the tag ``(n,)``, n its
# submission counter, and the k-th call a reaction makes (k = 1, 2, ...) has the reaction's
# tag extended by k. Tags compare as tuples, which is the order a serial run, executing every
# call inline when it is made, would make the calls in. A call's order field is
# ``(tag, procs, hint, other)``: ``procs[j]`` is the process that ran the reaction ``tag[:j]``
# (the driver's program is ``()``), and ``hint`` is the caller's *watermark* for its own calls:
# its calls with an index below it have *complete subtrees* (they, and every call they caused,
# transitively, have returned). ``other`` is the same watermark over the caller's calls to
# *other* targets only: the calls it made to this actor before are all in this actor's inbox
# ahead of this one (one process writes them in order), so the actor itself knows whether
# those are complete. Without it, a caller that makes many asynchronous calls to one shared
# actor would make the actor ask it for a watermark once per call.
#
# Completion (Dijkstra-Scholten termination detection). Each process keeps a record of every
# reaction it ran whose subtree is not complete: the indices of its calls whose subtrees are
# not. A reaction's subtree is complete once it has returned and all of those are; its
# process then tells the reaction's caller: on the reaction's RESULT if it is complete by
# then (the usual case: it waited for what it called), else in a DONE message later. So the
# news travels up the tree of calls, one message per reaction at most, to the driver.
#
# Order. An actor other processes may call (*shared*) runs its deferred calls in tag order;
# it runs the call with the smallest tag once, at every level j, the watermark it knows for
# ``tag[:j]`` reaches ``tag[j]``: every call that comes before it in logical time, and could
# still cause a call to this actor, has finished. It learns watermarks from the hints on the
# calls it receives and, when one falls short, asks the process that ran that reaction
# (WATERMARK_REQ), which answers (WATERMARK) once its watermark gets there. A call
# written to the actor's inbox before its subtree was reported complete is in the inbox
# before any watermark that counts it, so nothing that comes earlier is missed.

INF = 1 << 126  # a watermark past every index: the reaction's subtree is complete


class _Record:
    """A reaction run in this process whose subtree is not complete yet."""

    __slots__ = ("tag", "caller", "first", "procs", "made", "pending", "heap", "by_target",
                 "ended", "reported", "waiters")

    def __init__(self, tag, caller, first, procs):
        self.tag = tag  # its logical tag
        self.caller = caller  # the process to tell when its subtree is complete
        self.first = first  # its call's id (its RESULT carries the news when it can)
        self.procs = procs  # the ``procs`` of the order of the calls it makes
        self.made = 0  # calls made so far
        self.pending = set()  # indices of its calls whose subtrees are not complete
        self.heap = []  # the same, as a heap (lazily pruned)
        self.by_target = {}  # target actor proc (None: a task) -> the same, as a heap
        self.ended = False  # the reaction has returned
        self.reported = False  # its RESULT told the caller
        self.waiters = []  # (index, proc): actors waiting for watermark >= index

    def add(self, k, target=None):
        p = self.pending
        p.add(k)
        h = self.by_target.get(target)
        if h is None:
            h = self.by_target[target] = []
        for heap in (self.heap, h):
            while heap and heap[0] not in p:  # completed calls: the record may live long
                heapq.heappop(heap)
            heapq.heappush(heap, k)

    def watermark(self, next_index):
        """Its calls with an index below the returned one have complete subtrees."""
        p, h = self.pending, self.heap
        while h and h[0] not in p:
            heapq.heappop(h)
        return h[0] if h else next_index

    def other_watermark(self, target, next_index):
        """Its calls to targets other than ``target`` with an index below the returned one
        have complete subtrees."""
        p = self.pending
        w = next_index
        for t in list(self.by_target):
            h = self.by_target[t]
            while h and h[0] not in p:
                heapq.heappop(h)
            if not h:
                del self.by_target[t]
            elif t != target and h[0] < w:
                w = h[0]
        return w


class Completion:
    """This process's reactions whose subtrees are not complete, and the watermarks.

    In the driver it also decides when ordering starts (``active``): the first time an actor
    handle leaves the driver, the driver gets a handle it did not create, or a named actor
    is created or looked up. Before that, only the driver can call any actor, so arrival
    order is submission order. Every process keeps ``shared``: the actors it knows other
    processes may call; only calls to those carry a hint, and only they wait.
    """

    def __init__(self, rt, driver):
        self.rt = rt
        self.driver = driver
        self.active = False
        self.shared = set()
        self.passed = 0  # actor handles pickled (or unpickled) in this process so far
        self.open = {}  # tag -> _Record
        self.stack = []  # the reactions running in this process, innermost last (or None)
        self.program = None  # the driver's program: the reaction whose calls are the roots
        if driver:
            self.program = self.open[()] = _Record((), None, None, (rt.proc,))

    @property
    def current(self):
        return self.stack[-1] if self.stack else None

    def share(self, proc, named=False):
        """Actor ``proc`` may be called by other processes from now on (``named``: any
        process may look it up by its name).

        In the driver, its compiled graphs leave compiled mode (compiled reactions carry no
        tag): those of this actor only, since only the holders of an actor's handle can call
        it (the driver also takes out the actors it gives a handle or a ref: see
        ``Runtime._send_call``); all of them for a named actor, which any reaction may look
        up and call without the driver knowing."""
        self.passed += 1
        if proc in self.shared and not named:
            return
        self.shared.add(proc)
        if self.driver and self.rt.deterministic:
            if not self.active:
                self.active = True
                log.debug("ordering calls by logical tag from now on: actor %08x is shared",
                          proc)
            tracer = self.rt.tracer
            if named and tracer is not None:
                tracer.stop_compiling("a named actor: any process may call it, and calls "
                                      "from several callers are ordered on the dynamic path")
            elif tracer is not None:
                tracer.exclude(proc, "its handle was passed to another process: calls from "
                                     "several callers are ordered on the dynamic path")

    # -- the orders of calls ---------------------------------------------------------------
    def open_root(self, n, target=None):
        """The driver's call with counter ``n`` (a root) to ``target`` (an ActorHandle, None:
        a task) is made (or held, for later)."""
        if n not in self.program.pending:
            self.program.add(n, target._proc if target is not None else None)

    def root_order(self, target, n):
        self.open_root(n, target)  # (already open unless ordering started during this call)
        if target is None or target._proc not in self.shared:
            return ((n,), self.program.procs, None, None)
        return ((n,), self.program.procs, self.watermark(self.program),
                self.program.other_watermark(target._proc, n + 1))

    def child_order(self, target):
        """The order of a call the running reaction makes now."""
        rec = self.stack[-1]
        rec.made += 1
        k = rec.made
        proc = target._proc if target is not None else None
        rec.add(k, proc)
        if proc is None or proc not in self.shared:
            return (rec.tag + (k,), rec.procs, None, None)
        return (rec.tag + (k,), rec.procs, rec.watermark(None), rec.other_watermark(proc, k + 1))

    def watermark(self, rec):
        w = rec.watermark(None)
        if w is not None:
            return w
        if rec is self.program:  # nothing open: the next root's counter (counters only grow)
            return self.rt.new_id() & _LOW64
        return rec.made + 1

    # -- reactions ---------------------------------------------------------------------------
    def begin(self, ctrl):
        """Enter the reaction of CALL ``ctrl`` (a task worker may run tasks inside a task
        blocked in get: the records stack)."""
        order = ctrl[7]
        if order is None:
            self.stack.append(None)
            return
        rec = _Record(order[0], ctrl[1], ctrl[2], order[1] + (self.rt.proc,))
        self.open[rec.tag] = rec
        self.stack.append(rec)

    def result_tag(self, first):
        """The tag to put on the RESULT of call ``first`` (its subtree is complete with it),
        or None."""
        rec = self.current
        if rec is not None and rec.first == first and not rec.pending:
            rec.reported = True
            return rec.tag
        return None

    def end(self):
        rec = self.stack.pop()
        if rec is None:
            return
        rec.ended = True
        if not rec.pending:
            self._complete(rec)

    def _complete(self, rec):
        del self.open[rec.tag]
        if not rec.reported:
            self.rt.send_done(rec.caller, rec.tag)
        for _k, proc in rec.waiters:
            self.rt.send_watermark(proc, rec.tag, INF)

    def child_done(self, tag):
        """The call with ``tag``, made here, has a complete subtree (or will never run)."""
        rec = self.open.get(tag[:-1])
        if rec is None or tag[-1] not in rec.pending:
            return
        rec.pending.discard(tag[-1])
        if rec.ended and not rec.pending:
            self._complete(rec)
        elif rec.waiters:
            self._answer(rec)

    def request(self, parent, k, proc):
        """Actor ``proc`` waits until the calls of reaction ``parent`` below index ``k`` have
        complete subtrees."""
        rec = self.open.get(parent)
        if rec is None:  # complete, all of it
            self.rt.send_watermark(proc, parent, INF)
            return
        rec.waiters.append((k, proc))
        self._answer(rec)

    def _answer(self, rec):
        w = self.watermark(rec)
        keep = []
        for k, proc in rec.waiters:
            if k <= w:
                self.rt.send_watermark(proc, rec.tag, w)
            else:
                keep.append((k, proc))
        rec.waiters = keep

    def may_run_on_top(self, tag):
        """Whether a task with ``tag`` may run inside the reactions running here (a task
        worker blocked in get): only if it cannot wait for any of them, that is, each is an
        ancestor of it or comes after it in logical time."""
        return all(r is None or tag[:len(r.tag)] == r.tag or tag < r.tag for r in self.stack)


class CallOrder:
    """An actor's choice of its next call: arrival order until a call says the actor is
    shared, then tag order, each call run once the watermarks cover it (see above).

    A call held for ``GRACE`` seconds without its watermarks moving means the program needs
    the calls in arrival order to make progress (a caller polling for what a later caller
    will do, say): the actor then goes back to arrival order for good, with a warning.
    """

    def __init__(self, rt, label):
        self.rt = rt
        self.label = label
        self.ordered = False
        self.given_up = False
        self.known = {(): 0}  # reaction tag -> watermark of its calls
        self.others = {}  # reaction tag -> watermark of its calls to other targets
        self.heap = []  # (tag, seq, call id) of the deferred calls, once ordered (lazily pruned)
        self._seq = 0
        self.asked = set()  # (reaction tag, index) already asked for
        self.held_since = None  # (time, known watermark, call id): the held call's wait
        self.last = None  # tag of the last call run

    def arrived(self, ctrl, calls):
        """CALL ``ctrl`` arrived and was deferred: ``calls`` (call id -> (ctrl, frames), in
        arrival order) holds it now."""
        order = ctrl[7]
        if self.given_up:
            return
        if not self.ordered:
            if order is None or order[2] is None:
                return
            self.ordered = True  # from now on by tag: every call deferred so far too
            self.heap = [(c[7][0] if c[7] is not None else (), i, cid)
                         for i, (cid, (c, _f)) in enumerate(calls.items())]
            heapq.heapify(self.heap)
            self._seq = len(self.heap)
        else:
            self._seq += 1
            heapq.heappush(self.heap, (order[0] if order is not None else (), self._seq,
                                       ctrl[2]))
        if order is not None:
            self.note(order)

    def note(self, order):
        """The hints of a CALL with ``order``."""
        hint = order[2]
        if hint is not None:
            self.ordered = True
            parent = order[0][:-1]
            self.update(parent, hint)
            if order[3] > self.others.get(parent, 0):
                self.others[parent] = order[3]

    def update(self, parent, w):
        known = self.known
        if w > known.get(parent, 0):
            known[parent] = w
            if not parent and len(known) + len(self.asked) > 256:  # forget complete roots
                for t in [t for t in known if t and t[0] < w]:
                    del known[t]
                    self.others.pop(t, None)
                self.asked = {(t, k) for t, k in self.asked if (t[0] if t else k) >= w}

    def _needs(self, order, skipped):
        """(reaction, index, proc) of the first watermark that does not cover the call
        (``skipped``: deferred calls earlier in logical time that may not run yet)."""
        tag, procs = order[0], order[1]
        known = self.known
        last = len(tag) - 1
        for j in range(len(tag)):
            parent = tag[:j]
            k = tag[j]
            if known.get(parent, 0) < k and not (
                    j == last and self.others.get(parent, 0) >= k
                    and self._own_calls_complete(parent, k, skipped)):
                return parent, k, procs[j]
        return None

    def _own_calls_complete(self, parent, k, skipped):
        """Are the calls reaction ``parent`` made to this actor with an index below ``k``
        complete? They all arrived before its call ``k``: none may still wait here (only
        ``skipped`` calls come before it), and none that ran here may have an incomplete
        subtree."""
        for tag, _seq, _cid in skipped:
            if tag[:-1] == parent and tag[-1] < k:
                return False
        n = len(parent)
        for t in self.rt.completion.open:
            if len(t) == n + 1 and t[-1] < k and t[:n] == parent:
                return False
        return True

    def pick(self, calls, allowed):
        """The id (a key of ``calls``: call id -> (ctrl, frames), in arrival order) of the
        deferred call to run now, or None. ``allowed(ctrl)``: may that call run yet."""
        if not self.ordered or self.given_up:
            return next((cid for cid, (ctrl, _f) in calls.items() if allowed(ctrl)), None)
        # The first allowed call in logical time: the top of the heap, unless calls that
        # come before it may not run yet (``skipped``); entries of calls gone are dropped.
        h = self.heap
        skipped = []
        best = None
        while h:
            entry = h[0]
            item = calls.get(entry[2])
            if item is None:
                heapq.heappop(h)
            elif allowed(item[0]):
                best = entry
                break
            else:
                skipped.append(heapq.heappop(h))
        for entry in skipped:
            heapq.heappush(h, entry)
        if best is None:
            return None
        key, _seq, cid = best
        ctrl = calls[cid][0]
        need = None if not key else self._needs(ctrl[7], skipped)
        if need is None:
            if self.held_since is not None and cid == self.held_since[2]:
                self.held_since = None
            if key and self.last is not None and key < self.last:
                warn_once(("arrival", self.label),
                          f"actor {self.label} received a call after later ones in logical "
                          "time had run, so its calls ran in arrival order, which depends "
                          "on timing.", where=f"actor {self.label}")
            if key:
                self.last = key
            return cid
        parent, k, proc = need
        if (parent, k) not in self.asked:
            self.asked.add((parent, k))
            self.rt.ask_watermark(proc, parent, k)
        # The time the call has waited while what it waits for stood still (other calls,
        # earlier in logical time, may run meanwhile: a caller polling for what it does).
        now = time.monotonic()
        state = (self.known.get(parent, 0), cid)
        if self.held_since is None or self.held_since[1:] != state:
            self.held_since = (now,) + state
        elif now - self.held_since[0] > GRACE:
            self.given_up = True
            self.heap = []
            warn_once(("hold", self.label),
                      f"a call to actor {self.label} waited {GRACE} s for calls that come "
                      "before it in logical time (an earlier caller's work did not finish): "
                      "this actor runs its calls in arrival order from now on, so the "
                      "program's result may depend on timing.", where=f"actor {self.label}")
            return cid
        return None
