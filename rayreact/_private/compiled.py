"""Compiled execution of a frozen reactor graph: the driver's side and the actors' side.

Once the tracer has frozen a loop body (or ``rayreact.dag`` built one), every connection gets a
preallocated slot and every actor of the graph a trigger queue (see ``slots``). One tag (one
loop iteration of the graph) then runs like this::

    driver: submission i matches node i (the guard)    actor of node i
      args -> in-slot(i); push (g, tag, i); notify -->   pop; read in-slot(i) and the out-slots
      refs of node i's outputs  <-- notify ----------   of its upstream nodes; run the method;
      (ray.get reads out-slot(i))                        write out-slot(i); mark done; notify
                                                         the driver and downstream actors

No message is pickled, no lock taken, no object-table traffic crosses processes: a reaction
whose input is another reaction's output reads it straight from that reaction's out-slot (the
ref never travels through the driver). An exception in a reaction travels downstream as a value,
exactly as on the dynamic path.

Ordering. An actor runs its reactions in the order the driver submitted them. Compiled
triggers arrive on the trigger queue, dynamic calls on the inbox; so once an actor has a
queue, the driver announces each dynamic call to it with a ``(0, 0, 0)`` entry pushed right
after the call was written to the inbox, and the actor runs driver calls only when their entry
comes up. Calls from other callers are ordered against the driver's by logical tag, on the
dynamic path (``determinism``): a program that passes actor handles runs no compiled graph.

Buffer reuse. Slots have two buffers (tag parity). Before tag ``t`` writes the buffers of tag
``t - 2``, the driver waits until every reaction of tag ``t - 2`` is done (in a synchronous
loop it always is) and copies out any output of tag ``t - 2`` the program still holds a ref to
but never read.
"""

import itertools
import logging
import os
import pickle
import traceback

import numpy as np

from rayreact import exceptions as exc
from rayreact._private import serialization as ser
from rayreact._private.channel import _fence
from rayreact._private.refs import ObjectRef
from rayreact._private.runtime import CONTAINS_REFS, pid_alive
from rayreact._private.slots import Slot, TriggerQueue
from rayreact._private.slots import c_paths as _compiled

python_runs = 0  # reactions this process ran in Python (``run``), for the tests

log = logging.getLogger("rayreact.compiled")
_loads = pickle.loads

INSTALL = "__rayreact_install__"
# Bytes: a call whose argument is larger takes the dynamic path. A slot costs a copy in and a
# copy out; the dynamic path writes a large value once, into a recycled segment the callee
# maps (serialization._SegmentPool), and keeps no second tag's copy mapped.
LARGE_ARGUMENT = 1 << 20


class _Upstream:
    """Argument marker: output ``k`` of node ``j`` of the same graph and tag."""

    __slots__ = ("j", "k")

    def __init__(self, j, k):
        self.j, self.k = j, k

    def __reduce__(self):
        return (_Upstream, (self.j, self.k))


class _Inline:
    """Argument marker: frame ``k`` of the in-slot record (a ready ref the driver held)."""

    __slots__ = ("k",)

    def __init__(self, k):
        self.k = k

    def __reduce__(self):
        return (_Inline, (self.k,))


V, X = "v", "x"  # argument sources: a value the driver computed; a ref from outside the graph


class Node:
    """One reaction of a compiled graph, driver side.

    ``argspec``: one source per positional argument, then ``(name, source)`` per keyword; a
    source is ``V``, ``X`` or ``("n", j, k)`` (output ``k`` of node ``j``).
    """

    def __init__(self, index, proc, pid, method, num_returns, argspec, kwnames):
        self.index = index
        self.proc = proc
        self.pid = pid
        self.method = method
        self.num_returns = num_returns
        self.argspec = argspec
        self.kwnames = kwnames
        self.in_slot = None
        self.out_slot = None  # the driver's reading end
        # nodes of the same tag whose outputs it reads (connections)
        self.ups = tuple(sorted({s[1] for s in itertools.chain(argspec, (s for _, s in kwnames))
                                 if type(s) is tuple}))
        self.key_base = 0  # output_key(graph, index, 0), set by the CompiledGraph
        # an argument is not a plain value (it becomes a marker: see CompiledGraph._marker)
        self.markers = any(s is not V for s in itertools.chain(argspec, (s for _, s in kwnames)))


class CompiledGraph:
    """The driver's handle on one compiled graph: guard, trigger, read outputs, tear down."""

    _ids = itertools.count(1)

    def __init__(self, rt, nodes, capacities, label):
        self.rt = rt
        self.gid = next(self._ids)
        self.nodes = nodes
        for n in nodes:
            n.key_base = output_key(self.gid, n.index, 0)
        self.label = label
        self.tag = 0  # the current (last started) tag
        self.triggered = {}  # tag -> [node index, ...] triggered in that tag
        self.outputs = {}  # tag -> [oid, ...] result refs made in that tag
        self.pins = {}  # tag -> [ObjectRef] refs whose frames an in-slot names
        self.current = None  # ret ids of the nodes of the current tag (for upstream guards)
        self.broken = False
        self.early = None
        prefix = f"rr_{rt.session}_g{self.gid:x}_"
        for n in nodes:
            n.in_slot = Slot(f"{prefix}i{n.index}", capacities[n.index][0], create=True)
            n.in_slot.set_writer(os.getpid())
            if n.num_returns:
                n.out_slot = Slot(f"{prefix}o{n.index}", capacities[n.index][1], create=True)
                n.out_slot.set_writer(n.pid)
        self._install(prefix)
        log.debug("compiled graph %d (%s): %d reactions on %d actors", self.gid, label,
                  len(nodes), len({n.proc for n in nodes}))

    # -- set-up --------------------------------------------------------------------------------
    def _install(self, prefix):
        """Send each actor its part of the graph (a dynamic call, so it is ordered with the
        driver's other calls to it)."""
        rt = self.rt
        consumers = {n.index: set() for n in self.nodes}
        for n in self.nodes:
            for src in itertools.chain(n.argspec, (s for _, s in n.kwnames)):
                if type(src) is tuple:
                    consumers[src[1]].add(n.proc)
        by_proc = {}
        for n in self.nodes:
            ups = {}
            for src in itertools.chain(n.argspec, (s for _, s in n.kwnames)):
                if type(src) is tuple:
                    ups[src[1]] = self.nodes[src[1]].out_slot.name
            by_proc.setdefault(n.proc, []).append(
                (n.index, n.method, n.num_returns, n.in_slot.name,
                 n.out_slot.name if n.out_slot else None, ups,
                 sorted(consumers[n.index] - {n.proc})))
        for proc, specs in by_proc.items():
            q = rt.trigger_queues.get(proc)
            if q is None:
                q = rt.trigger_queues[proc] = TriggerQueue(
                    f"rr_{rt.session}_q{proc:08x}", create=True)
                qname = q.name
            else:
                qname = None
            rt.send_control_call(proc, INSTALL, (self.gid, qname, rt.proc, specs),
                                 announce=qname is None)

    # -- the guard -----------------------------------------------------------------------------
    def matches(self, pos, target, method, args, kwargs, num_returns):
        """Does this submission have node ``pos``'s shape? (cheap: identity and type checks)"""
        n = self.nodes[pos]
        if target is None or target._proc != n.proc or method != n.method or \
                num_returns != n.num_returns or len(args) != len(n.argspec):
            return False
        if kwargs or n.kwnames:
            if tuple(sorted(kwargs)) != tuple(k for k, _ in n.kwnames):
                return False
            vals = list(args) + [kwargs[k] for k, _ in n.kwnames]
            specs = list(n.argspec) + [s for _, s in n.kwnames]
        else:
            vals, specs = args, n.argspec
        current = self.current
        for a, s in zip(vals, specs):
            if s is V:
                if type(a) is ObjectRef or type(a) is np.ndarray and a.nbytes > LARGE_ARGUMENT:
                    return False
            elif type(a) is not ObjectRef:
                return False
            elif s is X:
                if not self.rt.ready(a._id):
                    return False
                e = self.rt.table.get(a._id)
                if e is not None and e.frame is not None and e.frame.nbytes > LARGE_ARGUMENT:
                    return False
            elif current is None or a._id != current[s[1]][s[2]]:
                return False
        return True

    # -- one tag ---------------------------------------------------------------------------
    def begin_tag(self):
        """Start a new tag: make sure the buffers of tag - 2 are free. False if the graph
        cannot run any more (an actor died)."""
        if self.broken:
            return False
        t = self.tag + 1
        old = t - 2
        if old in self.triggered:
            if not self._wait_done(old):
                self.broken = True
                return False
            for oid in self.outputs.pop(old, ()):
                e = self.rt.table.get(oid)
                if e is not None and e.frame is None and e.slot is not None:
                    self.rt.materialize(oid, e)
            del self.triggered[old]
            self.pins.pop(old, None)
        if t == 1:
            log.debug("graph %d (%s): first used", self.gid, self.label)
        self.tag = t
        self.triggered[t] = []
        self.outputs[t] = []
        self.current = [None] * len(self.nodes)
        self.early = None  # the node of this tag woken as soon as it was triggered, last
        return True

    def _wait_done(self, tag):
        rt = self.rt
        for i in self.triggered[tag]:
            n = self.nodes[i]
            slot = n.in_slot
            while slot.done() < tag:
                if not rt.wait_for(lambda: slot.done() >= tag, n.pid):
                    log.debug("graph %d abandoned: the actor of %s died", self.gid, n.method)
                    return False
        return True

    def trigger(self, pos, args, kwargs, traced=False):
        """Run node ``pos`` for the current tag with these arguments; return its result refs,
        or None if the call cannot take the compiled path (then nothing was done).

        ``traced`` (a graph the tracer froze): also None for a call that gives the actor an
        actor handle, or a ref while calls are ordered by logical tag (``Runtime._send_call``
        then takes the actor out of compiled mode)."""
        rt = self.rt
        n = self.nodes[pos]
        t = self.tag
        frames = [None]
        pins = None
        comp = rt.completion
        if traced and n.markers and comp.active:
            return None
        passed = comp.passed
        if n.markers:
            args = list(args)
            for i, s in enumerate(n.argspec):
                if s is not V:
                    args[i], pins = self._marker(args[i], s, frames, pins)
            if n.kwnames:
                kwargs = dict(kwargs)
                for k, s in n.kwnames:
                    if s is not V:
                        kwargs[k], pins = self._marker(kwargs[k], s, frames, pins)
        # The common call (arguments one plain pickle) is stored as it is, and in C its
        # trigger pushed with it; the general case as frames (out-of-band buffers,
        # cloudpickle, _Inline values).
        argf = ser.serialize_args(args, kwargs) if len(frames) == 1 else None
        if traced and comp.passed != passed:  # an actor handle in the arguments
            return None
        # In C (_compiled.fire): the record written, the trigger pushed and the actor woken
        # if the wake-up rule below lets it be (fired: 0 or None, not done; 1, not woken; 2,
        # woken).
        fired = None
        if type(argf) is bytes and _compiled is not None and not n.ups and \
                n.out_slot is not None and not n.in_slot._owned[t & 1]:
            ch, e = rt.peer(n.proc), self.early
            fired = _compiled.fire(
                n.in_slot._mv, n.in_slot.capacity, t, argf, rt.trigger_queues[n.proc].w,
                self.gid, pos, ch._hdr, ch._doorbell.handle,
                None if e is None else e.out_slot._mv, 0 if e is None else e.out_slot.capacity)
        if not fired and (type(argf) is not bytes or not n.in_slot.write_plain(t, argf)):
            if type(argf) is not ser.Frame:
                argf = ser.serialize((args, kwargs))
            if argf.refs:  # refs nested in a value: their borrowing needs the dynamic path
                return None
            frames[0] = argf
            n.in_slot.write(t, frames)
        if pins:
            self.pins.setdefault(t, []).extend(pins)
        key = n.key_base | (t & 0xFFFFF)  # output_key(self.gid, pos, t)
        if n.num_returns == 1:  # (the common call, without the loops)
            oid = rt.new_id()
            refs = [ObjectRef(oid)]
            ret_ids = [oid]
            e = rt.table[oid]
            e.slot = (n.out_slot, t, 0, key)
            e.watch = n.pid
        else:
            ret_ids = [rt.new_id() for _ in range(n.num_returns)]
            refs = [ObjectRef(i) for i in ret_ids]
            for k, oid in enumerate(ret_ids):
                e = rt.table[oid]
                e.slot = (n.out_slot, t, k, key)
                e.watch = n.pid
        self.current[pos] = ret_ids
        self.outputs[t].extend(ret_ids)
        self.triggered[t].append(pos)
        # Waking every actor as it is triggered lets each preempt the driver, which then
        # submits the rest of the round one preemption at a time; waking them all at the end
        # of the round (or at the driver's next wait) leaves the other core idle while the
        # driver submits. So one actor at a time is woken at once: this one, if the one woken
        # so before in this tag has finished (its output is written), while the rest wait
        # for the end of the round. (CartPole, 15 actors: 1.20x and 1.11x the steps/s of
        # waking all at the end, medians of 6 and 4 alternating pairs of bench/ab.py.)
        last = pos == len(self.nodes) - 1
        if n.ups:
            # A reaction with connections is woken by the writers of its inputs (their
            # reactions notify consumers), unless all are written already: woken early, it
            # would only wait, polling, for a core the upstream reactions need. (The fence
            # orders the push before the look at the slots, against the writer's store and
            # its look at the consumer's sleeping flag: one of the two wakes it.)
            rt.push_trigger(n.proc, self.gid, t, pos, wake=None)
            _fence()
            if all(self.nodes[j].out_slot.ready(t) for j in n.ups):
                rt.unwoken.append(rt.peer(n.proc))
        elif fired:  # (in C, the same rule as below)
            if fired == 2:
                self.early = n
            else:
                rt.unwoken.append(rt.peer(n.proc))
        else:
            rt.push_trigger(n.proc, self.gid, t, pos, wake=None)
            e = self.early
            if n.out_slot is not None and (e is None or e.out_slot.ready(t)):
                rt.peer(n.proc).notify()
                self.early = n
            else:
                rt.unwoken.append(rt.peer(n.proc))
        if last:
            rt.wake_triggered()
        return refs

    def _marker(self, ref, spec, frames, pins):
        if spec is X:
            e = self.rt.table.get(ref._id)
            if e is None or e.frame is None:
                self.rt._await(ref._id, None)
                e = self.rt.table[ref._id]
            frames.append(e.frame)
            pins = pins or []
            pins.append(ref)
            return _Inline(len(frames) - 1), pins
        return _Upstream(spec[1], spec[2]), pins

    def teardown(self):
        """Unlink the graph's slots (the actors drop theirs when they exit)."""
        for n in self.nodes:
            n.in_slot.close(unlink=True)
            if n.out_slot is not None:
                n.out_slot.close(unlink=True)


class ActorReactions:
    """The compiled reactions hosted by one actor process, and its trigger queue."""

    def __init__(self, rt, loop):
        self.rt = rt
        self.loop = loop  # the ActorLoop: runs dynamic calls, knows the instance
        self.queue = None
        self.driver = None
        self.graphs = {}  # gid -> {node index: _ActorNode}
        self._peers = {}

    def install(self, gid, queue_name, driver, specs):
        if queue_name is not None:
            self.queue = TriggerQueue(queue_name)
            self.driver = driver
        nodes = {}
        for index, method, num_returns, in_name, out_name, ups, consumers in specs:
            nodes[index] = _ActorNode(gid, index, method, num_returns, Slot(in_name),
                                      Slot(out_name) if out_name else None,
                                      {j: Slot(name) for j, name in ups.items()}, consumers)
        self.graphs[gid] = nodes

    def gates(self, caller):
        """Must a dynamic call from ``caller`` wait for its trigger-queue entry?"""
        return self.queue is not None and caller == self.driver

    def next_trigger(self):
        """The head trigger if it can run now: (0, None) for the driver's next dynamic call,
        (tag, node) for a reaction, or None."""
        q = self.queue
        if q is None:
            return None
        head = q.peek()
        if head is None:
            return None
        gid, tag, index = head
        if gid == 0:
            return _DRIVER_CALL
        nodes = self.graphs.get(gid)
        if nodes is None:  # its install call is still in the inbox
            return None
        node = nodes[index]
        for slot in node.upstream.values():
            if not slot.ready(tag) and pid_alive(slot.writer):
                return None  # (a dead writer's input becomes an ActorDiedError: see run)
        return tag, node

    def run(self, tag, node):
        """Run one reaction for ``tag``: read inputs, call, write outputs, notify.

        The common step (arguments that are one plain pickle, no connection; one result that
        pickles plainly) takes the fast path: no Frame objects, one copy in, one copy out.
        Everything else, and every error, takes the general one."""
        global python_runs
        python_runs += 1
        rt = self.rt
        if node.fn is None:
            node.fn = getattr(self.loop.instance, node.method)
            node.label = f"{self.loop.cls_name}.{node.method}"
        error = value = None
        data = None if node.upstream else node.in_slot.read_plain(tag)
        try:
            if data is not None:
                args, kwargs = _loads(data)
            else:
                frames, _ = node.in_slot.read(tag)
                args, kwargs = ser.deserialize(frames[0])
                args = [self._resolve(a, tag, node, frames) for a in args]
                if kwargs:
                    kwargs = {k: self._resolve(v, tag, node, frames) for k, v in kwargs.items()}
        except _UpstreamError as e:
            error = e.error
        except BaseException:  # noqa: BLE001 - deserialisation failed
            error = exc.RayTaskError(node.label, traceback.format_exc(), _current_exception(),
                                     actor_repr=self.loop.cls_name)
        if error is None:
            try:
                value = node.fn(*args, **kwargs)
            except BaseException as e:  # noqa: BLE001 - travels downstream as a value
                if isinstance(e, SystemExit):
                    raise
                error = rt.task_error(e, node.label, self.loop.cls_name)
        self.finish(tag, node, value, error)

    def finish(self, tag, node, value, error, res=None):
        """Write the outputs of a reaction that ran (``res``: ``value`` made plain already),
        mark it done and wake its consumers."""
        out = node.out_slot
        if out is not None:
            if error is None and res is None and node.num_returns == 1:
                res = ser.serialize_plain(value)
            if type(res) is not bytes or not out.write_plain(tag, res):
                self._write_general(tag, node, value if error is None else None, error,
                                    res if type(res) is ser.Frame else None)
        node.in_slot.set_done(tag)
        # Wake the consumers: downstream actors if they sleep, the driver only if it sleeps
        # waiting for this very output (or for anything): one wake per get, not per output.
        for proc in node.consumers:
            ch = self._peer(proc)
            if ch is not None:
                ch.notify()
        ch = self._peer(self.driver)
        if ch is not None:
            ch.notify_output(output_key(node.gid, node.index, tag))
        node.fast = self._fast_form(node)

    # -- the loop in C (_compiled.c) ------------------------------------------------------
    def loop_in_c(self, timeout):
        """Run reactions in C until Python must look (``_compiled.c``: run_reactions): None
        (look), False (idle for ``timeout`` seconds) or True (a reaction finished here)."""
        drv = self._peer(self.driver)
        if _compiled is None or self.queue is None or drv is None:
            return None
        rt = self.rt
        r = _compiled.run_reactions(self.queue.w, rt.inbox._hdr, rt.inbox._doorbell.handle,
                               self.graphs, drv._hdr, drv._doorbell.handle, rt, _loads,
                               ser.pickle_plain, self._resolve_args, timeout)
        if type(r) is not tuple:
            return r
        tag, node, value, error, res = r  # it ran; its output is for Python to write
        if type(error) is _UpstreamError:  # an input is an upstream reaction's error
            error, value, res = error.error, None, None
        elif error is not None:
            if res is None:  # loading the arguments failed
                error = exc.RayTaskError(node.label, "".join(traceback.format_exception(error)),
                                         error, actor_repr=self.loop.cls_name)
            elif isinstance(error, SystemExit):
                raise error
            else:
                try:
                    raise error  # (task_error reads the exception being handled)
                except BaseException as e:  # noqa: BLE001
                    error = self.rt.task_error(e, node.label, self.loop.cls_name)
            value = res = None
        self.finish(tag, node, value, error, res)
        return True

    def _fast_form(self, node):
        """What the C loop needs to run ``node`` (None: it leaves ``node`` to Python):
        reactions with one result, with their slots as mapped now, the channels of the
        actors that consume their output and the out-slots of those whose outputs they read."""
        out, inp = node.out_slot, node.in_slot
        if _compiled is None or node.num_returns != 1 or out is None or \
                out._owned[0] or out._owned[1]:
            return None
        consumers = []
        for proc in node.consumers:
            ch = self._peer(proc)
            if ch is not None:
                consumers.append((ch._hdr, ch._doorbell.handle))
        return (inp._mv, inp.capacity, out._mv, out.capacity, node.fn,
                output_key(node.gid, node.index, 0), tuple(consumers),
                tuple(s._mv for s in node.upstream.values()))

    def _resolve_args(self, tag, node, args, kwargs):
        """(args, kwargs) of a reaction run in C, its connections' values in place of their
        markers (``_resolve``; a plain record has no ``_Inline`` ones). Raises _UpstreamError."""
        args = [self._resolve(a, tag, node, None) for a in args]
        if kwargs:
            kwargs = {k: self._resolve(v, tag, node, None) for k, v in kwargs.items()}
        return args, kwargs

    def _write_general(self, tag, node, value, error, frame=None):
        """Write the outputs of ``node`` the general way (``frame``: the one result, already
        serialised)."""
        rt = self.rt
        if frame is not None:
            out, errs = [frame], (False,)
        else:
            if error is None:
                values, is_err = rt.split_returns(value, node.num_returns, node.label)
            else:
                values, is_err = [error], True
            out, errs = rt.result_frames(values, is_err, node.num_returns)
        mask = sum(1 << i for i, err in enumerate(errs) if err)
        if any(f.refs for f in out):  # the driver imports them when it reads the value
            for f in out:
                if f.refs:
                    rt._export(f.refs)
            out.append(ser.serialize([tuple(f.refs) for f in out]))
            mask |= CONTAINS_REFS
        node.out_slot.write(tag, out, mask)

    def _peer(self, proc):
        ch = self._peers.get(proc)
        if ch is None:
            try:
                ch = self._peers[proc] = self.rt.peer(proc)
            except FileNotFoundError:
                return None
        return ch

    def _resolve(self, a, tag, node, frames):
        t = type(a)
        if t is _Inline:
            return ser.deserialize(frames[a.k])
        if t is _Upstream:
            slot = node.upstream[a.j]
            if not slot.ready(tag):  # its writer died (see next_trigger)
                raise _UpstreamError(exc.ActorDiedError(
                    None, f"The actor (pid {slot.writer}) computing this call's argument died "
                    "before finishing it."))
            up, mask = slot.read(tag)
            v = ser.deserialize(up[a.k])
            if mask >> a.k & 1:
                raise _UpstreamError(v)
            return v
        return a


class _ActorNode:
    __slots__ = ("gid", "index", "method", "num_returns", "in_slot", "out_slot", "upstream",
                 "consumers", "fn", "label", "fast")

    def __init__(self, gid, index, method, num_returns, in_slot, out_slot, upstream,
                 consumers):
        self.gid = gid
        self.index = index
        self.method = method
        self.num_returns = num_returns
        self.in_slot = in_slot
        self.out_slot = out_slot
        self.upstream = upstream
        self.consumers = consumers
        self.fn = None  # the bound method, looked up on first use
        self.label = None
        self.fast = None  # what the C loop needs to run it (ActorReactions._fast_form)


def output_key(gid, index, tag):
    """The key a driver waiting for one compiled output publishes (Channel.set_awaited)."""
    return (gid << 40) | ((index + 1) << 20) | (tag & 0xFFFFF)


_DRIVER_CALL = (0, None)  # next_trigger: the driver's next dynamic call is due


class _UpstreamError(Exception):
    def __init__(self, error):
        self.error = error


def _current_exception():
    import sys

    return sys.exc_info()[1]

