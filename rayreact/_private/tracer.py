"""The tracer: turns the driver's calls into reactor graphs, and follows the frozen ones.

Every submission of the driver passes through ``Tracer.submit`` (from ``Runtime.submit``) and
every synchronisation point (``get``, ``wait``) through ``Tracer.sync``. The submissions
between two synchronisation points form a *round*. A round's *shape* is the sequence of
(target reactor, reaction, number of returns, argument sources), where an argument source is
a value the driver computed (``V``), the output ``k`` of the round's call ``j`` (``("n", j,
k)``: a connection), or another ref (``X``). Argument *values* are not part of the shape.

RL programs are loops, so shapes repeat. A shape seen ``FREEZE_AFTER`` times is frozen:
compiled (``compiled.CompiledGraph``) if every call targets a plain actor (one call at a time;
tasks, threaded and async actors stay dynamic). From then on, a round whose first call matches
a compiled shape runs on that graph, call by call, as long as each call matches the next node
(the guard); the first call that does not match, and every call after it in that round, takes
the dynamic path. Either way the program's results are the same. The loop body shown by
``rayreact.graph()`` is the shortest cycle of round shapes that repeats at the end of the
history: its rounds are the microsteps of one tag.
"""

import logging

from rayreact._private import compiled as comp
from rayreact._private.compiled import V, X, CompiledGraph, Node
from rayreact._private.graph import Connection, Reaction, Reactor, ReactorGraph
from rayreact._private.refs import ObjectRef

log = logging.getLogger("rayreact.tracer")

FREEZE_AFTER = 2  # a round shape seen this many times is frozen; later rounds run compiled
_HISTORY = 64  # round shapes kept to find the loop body
_MAX_PERIOD = 8  # longest loop body looked for, in rounds
_MAX_ROUND = 4096  # calls: a longer round is not a loop body (and is not kept in memory)
_MAX_SHAPES = 256  # distinct round shapes remembered (a program whose rounds never repeat)
_INTERNAL = ("__init__", "__ray_ready__", "__ray_terminate__", comp.INSTALL)
_VS = [tuple([V] * n) for n in range(16)]


class Tracer:
    """Records the driver's rounds, freezes repeating ones, and runs the compiled ones."""

    def __init__(self, rt):
        self.rt = rt
        self.round = []  # shape keys of the calls of the current round
        self.produced = {}  # oid -> (call index in round, output index)
        self.seen = {}  # round shape -> times seen
        self.examples = {}  # round shape -> [call keys] (for building graphs)
        self.graphs = {}  # round shape -> CompiledGraph, or None (frozen, not compiled)
        self.history = []
        self.successor = {}  # round shape -> the shape that followed it last time
        self.last = None
        self.active = None  # CompiledGraph the current round follows
        self.pos = 0
        self.actors = {}  # proc -> [display name, concurrency, pid, signatures]
        self._class_counts = {}
        self.loop_body = None  # ReactorGraph of the latest repeating loop body
        self._pending_key = None  # shape key of the call the dynamic path is making
        self.no_compile = None  # why nothing is compiled any more (see stop_compiling)
        self.excluded = {}  # actor proc -> why its calls stay dynamic (see exclude)

    # -- submissions ---------------------------------------------------------------------------
    def submit(self, target, method, args, kwargs, num_returns, fn_key, name):
        """Run the call on the compiled graph if it matches; returns its refs, or None (then
        the caller runs it on the dynamic path and reports its result ids to ``made``)."""
        if method in _INTERNAL:
            if method == "__init__" and target is not None:
                self._new_actor(target, name)
            self._pending_key = None  # a creation: this round has no fixed shape
            return None
        if name is not None:  # its own task name (options(name=...)): compiled reactions
            if self.active is not None:  # carry none, so the round goes on dynamically
                self.active = None
                self.rt.wake_triggered()
            self._pending_key = None  # (and is not frozen)
            return None
        cg = self.active
        if cg is None and not self.round and self.graphs:
            cg = self._choose(target, method, args, kwargs, num_returns)
        if cg is not None:
            pos = self.pos
            if pos < len(cg.nodes) and not cg.broken and cg.matches(
                    pos, target, method, args, kwargs, num_returns):
                refs = cg.trigger(pos, args, kwargs, traced=True)
                if refs is not None:
                    self.pos = pos + 1
                    i = len(self.round)
                    self.round.append(cg.keys[pos])
                    for k, r in enumerate(refs):
                        self.produced[r._id] = (i, k)
                    return refs
            log.debug("graph %d (%s): call %d (%s) deviates; the rest of this round runs "
                      "dynamically", cg.gid, cg.label, pos, method)
            self.active = None
            self.rt.wake_triggered()
        self._pending_key = self._key(target, method, args, kwargs, num_returns, fn_key)
        return None

    def made(self, ret_ids):
        """The dynamic path made the current call, with these result ids."""
        i = len(self.round)
        if i >= _MAX_ROUND:  # too long to be a loop body: stop recording until the next sync
            if i == _MAX_ROUND:
                self.round.append(None)
                self.produced.clear()
            return
        self.round.append(self._pending_key)
        for k, oid in enumerate(ret_ids):
            self.produced[oid] = (i, k)

    def _choose(self, target, method, args, kwargs, num_returns):
        """The compiled graph the round starting with this call follows, if any."""
        guess = self.graphs.get(self.successor.get(self.last))
        if guess is None or not guess.matches(0, target, method, args, kwargs, num_returns):
            guess = next((g for g in self.graphs.values() if g is not None and not g.broken
                          and g.matches(0, target, method, args, kwargs, num_returns)), None)
        if guess is None or not guess.begin_tag():
            return None
        self.active, self.pos = guess, 0
        return guess

    def _key(self, target, method, args, kwargs, num_returns, fn_key):
        produced = self.produced
        if any(type(a) is ObjectRef for a in args):
            spec = tuple(self._source(a, produced) for a in args)
        else:
            spec = _VS[len(args)] if len(args) < 16 else tuple([V] * len(args))
        kw = tuple(sorted((k, self._source(v, produced)) for k, v in kwargs.items())) \
            if kwargs else ()
        who = target._proc if target is not None else ("task", fn_key)
        return (who, method, num_returns, spec, kw)

    @staticmethod
    def _source(a, produced):
        if type(a) is not ObjectRef:
            return V
        src = produced.get(a._id)
        return X if src is None else ("n",) + src

    def _new_actor(self, handle, name):
        class_name, concurrency = name[:2]
        n = self._class_counts.get(class_name, 0)
        self._class_counts[class_name] = n + 1
        self.actors[handle._proc] = [f"{class_name}[{n}]", concurrency, handle._pid,
                                     handle._is_async, getattr(handle, "_signatures", {})]
        if (concurrency > 1 or handle._is_async) and self.rt.deterministic:
            from rayreact._private import determinism

            determinism.warn_once(
                "concurrent-actor",
                f"actor {class_name} runs its calls concurrently "
                f"({'async methods' if handle._is_async else f'max_concurrency={concurrency}'}"
                "): the order in which they interleave depends on timing, so this program is "
                "outside rayreact's deterministic subset.", stacklevel=7)

    # -- synchronisation points ------------------------------------------------------------------
    def sync(self):
        """A get or wait: the current round ends here."""
        self.rt.wake_triggered()
        if not self.round:
            return
        cg = self.active
        if cg is not None and self.pos != len(cg.nodes):
            log.debug("graph %d (%s): the round ended after %d of %d calls", cg.gid, cg.label,
                      self.pos, len(cg.nodes))
        self.active, self.pos = None, 0
        shape = tuple(self.round) if None not in self.round else None
        self.round, self.produced = [], {}
        if shape is None:
            self.last = None
            return
        if shape not in self.seen and len(self.seen) >= _MAX_SHAPES:
            self.last = None
            return
        n = self.seen[shape] = self.seen.get(shape, 0) + 1
        if self.last is not None:
            self.successor[self.last] = shape
        self.last = shape
        self.history.append(shape)
        if len(self.history) > _HISTORY:
            del self.history[0]
        if n == FREEZE_AFTER:
            self.examples[shape] = list(shape)
            self.graphs[shape] = self._compile(shape)
            self._update_loop_body()

    # -- freezing --------------------------------------------------------------------------------
    def stop_compiling(self, reason):
        """Run every later round on the dynamic path (``reason`` is logged)."""
        if self.no_compile is None:
            self.no_compile = reason
            log.debug("compiled graphs abandoned: %s", reason)
            for g in self.graphs.values():
                if g is not None:
                    g.broken = True

    def exclude(self, proc, reason):
        """Actor ``proc`` runs every later call on the dynamic path (``reason`` is logged)."""
        if proc in self.excluded:
            return
        self.excluded[proc] = reason
        log.debug("actor %08x leaves compiled mode: %s", proc, reason)
        for g in self.graphs.values():
            if g is not None and any(n.proc == proc for n in g.nodes):
                g.broken = True

    def _why_not(self, shape):
        if self.no_compile is not None:
            return self.no_compile
        for who, method, _n, _spec, _kw in shape:
            if type(who) is tuple:
                return f"{method} is a remote function (tasks run on the dynamic path)"
            if who in self.excluded:
                return f"{method}: {self.excluded[who]}"
            info = self.actors.get(who)
            if info is None:
                return f"{method}: an actor created outside this driver"
            if info[1] > 1 or info[3]:
                return f"{info[0]} runs calls concurrently"
            if who in self.rt.dead:
                return f"{info[0]} is dead"
            if who in self.rt.restartable:  # a graph names the process it was compiled with
                return f"{info[0]} may be restarted (max_restarts): a new process each time"
        return None

    def _compile(self, shape):
        label = " ".join(f"{self._reactor_name(k[0])}.{k[1]}" for k in shape[:4]) + \
            (" ..." if len(shape) > 4 else "")
        why = self._why_not(shape) or (None if self.rt.compiled else "compiled=False")
        if why is not None:
            log.debug("round shape frozen, not compiled (%s): %s", why, label)
            return None
        nodes = []
        for i, (proc, method, num_returns, spec, kw) in enumerate(shape):
            nodes.append(Node(i, proc, self.actors[proc][2], method, num_returns, spec, kw))
        caps = [(4096, 4096)] * len(nodes)
        cg = CompiledGraph(self.rt, nodes, caps, label)
        cg.keys = list(shape)
        log.debug("froze and compiled graph %d: %s", cg.gid, label)
        return cg

    def _reactor_name(self, who):
        if type(who) is tuple:
            return "tasks"
        info = self.actors.get(who)
        return info[0] if info else f"actor {who:08x}"

    def _update_loop_body(self):
        h = self.history
        for p in range(1, _MAX_PERIOD + 1):
            if len(h) >= 2 * p and h[-p:] == h[-2 * p:-p]:
                self.loop_body = self._graph(h[-p:])
                return

    def _graph(self, shapes):
        """The ReactorGraph of these round shapes (one microstep each)."""
        g = ReactorGraph(microsteps=len(shapes))
        g.reactors.append(Reactor("driver", "driver"))
        names = set()
        index = 0
        compiled = True
        for step, shape in enumerate(shapes):
            compiled = compiled and self.graphs.get(shape) is not None
            base = index
            for proc, method, num_returns, spec, kw in shape:
                rname = self._reactor_name(proc)
                if rname not in names:
                    names.add(rname)
                    g.reactors.append(Reactor(rname, "task pool" if rname == "tasks"
                                              else "actor"))
                params = self._param_names(proc, method, len(spec))
                inputs = params + [f"{k}" for k, _ in kw]
                outputs = [f"out{k}" for k in range(num_returns)]
                g.reactions.append(Reaction(index, rname, method, inputs, outputs, step))
                for port, src in zip(inputs, list(spec) + [s for _, s in kw]):
                    if type(src) is tuple:
                        g.connections.append(Connection(base + src[1], f"out{src[2]}", index,
                                                        port))
                    else:
                        g.connections.append(Connection(None, "value" if src is V else "ref",
                                                        index, port))
                index += 1
        g.compiled = compiled
        return g.compute_levels()

    def _param_names(self, proc, method, n):
        info = self.actors.get(proc) if type(proc) is not tuple else None
        names = []
        if info is not None:
            check = info[4].get(method)
            if check is not None:
                names = [p for p in check.sig.parameters][:n]
        return names + [f"arg{i}" for i in range(len(names), n)]

    def graph(self):
        """The latest loop body, else the graph of the most recent round shape, else None."""
        if self.loop_body is not None:
            return self.loop_body
        if self.history:
            return self._graph([self.history[-1]])
        return None

    def teardown(self):
        for cg in self.graphs.values():
            if cg is not None:
                cg.teardown()
        self.graphs.clear()
