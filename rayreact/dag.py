"""Ray's explicit static-graph API (mirrors ``ray.dag``, Ray 2.60.0) on rayreact's reactor graph.

::

    with InputNode() as inp:                      # graph time: what the program is
        x = a.step.bind(inp)                      #   ClassMethodNode
        y = b.step.bind(x)
        dag = MultiOutputNode([x, y])
    compiled = dag.experimental_compile()         # a CompiledGraph: slots, trigger queues
    refs = compiled.execute(1)                    # run time: one tag
    ray.get(refs)
    compiled.teardown()

``dag.experimental_compile()`` builds the same compiled reactor graph the tracer freezes from a
loop (``rayreact._private.compiled``), directly, without tracing. ``dag.execute()`` (without
compiling) runs the nodes as ordinary ``.remote()`` calls, as Ray's classic DAG API does.
"""

import itertools

from rayreact._private import api
from rayreact._private.compiled import V, X, CompiledGraph, Node
from rayreact._private.graph import Connection, Reaction, Reactor, ReactorGraph
from rayreact._private.refs import CompiledDAGRef, ObjectRef

__all__ = ["ClassMethodNode", "DAGNode", "FunctionNode", "InputAttributeNode", "InputNode",
           "MultiOutputNode", "CompiledDAG"]


class DAGNode:
    """A node of a static graph (graph time only: nothing runs until ``execute``)."""

    def _children(self):
        return [a for a in itertools.chain(self._args, self._kwargs.values())
                if isinstance(a, DAGNode)]

    def execute(self, *args, **kwargs):
        """Run the graph once with ordinary ``.remote()`` calls (mirrors
        ``DAGNode.execute``). Returns: ObjectRef, or a list for a MultiOutputNode."""
        cache = {}
        return self._run(args, kwargs, cache)

    def experimental_compile(self, _submit_timeout=None, _buffer_size_bytes=None,
                             enable_asyncio=False, _max_inflight_executions=None,
                             _max_buffered_results=None, _overlap_gpu_communication=None,
                             _default_communicator="create"):
        """Compile the graph (mirrors ``DAGNode.experimental_compile``).

        Args:
            _buffer_size_bytes (int | None): initial slot size per port in bytes (slots grow
                when a value outgrows them); the other arguments are accepted for Ray
                compatibility and have no effect.
        Returns:
            CompiledDAG.
        Raises:
            ValueError: ``enable_asyncio=True`` (not supported), a node that is not an
                actor method call (compiled graphs run actor methods only, as in Ray), or a
                graph node bound as a keyword argument (as in Ray).
        """
        if enable_asyncio:
            raise ValueError("rayreact's compiled graphs do not support enable_asyncio=True; "
                             "use execute() and ray.get.")
        return CompiledDAG(self, _buffer_size_bytes or 4096)


class InputNode(DAGNode):
    """The graph's input (mirrors ``ray.dag.InputNode``): the arguments of ``execute``.
    ``inp[i]`` is positional argument ``i``, ``inp.name`` / ``inp["name"]`` a keyword."""

    def __init__(self, *args, **kwargs):
        self._args, self._kwargs = (), {}
        self._attrs = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __getitem__(self, key):
        if not isinstance(key, (int, str)):
            raise TypeError("Please only use int index or str as first-level key to access "
                            "fields of dag input.")
        return self._attrs.setdefault(key, InputAttributeNode(self, key))

    def __getattr__(self, key):
        if key.startswith("_"):
            raise AttributeError(key)
        return self[key]

    def _value(self, args, kwargs):
        if len(args) == 1 and not kwargs:
            return args[0]
        return (args, kwargs)

    def _run(self, args, kwargs, cache):
        return self._value(args, kwargs)


class InputAttributeNode(DAGNode):
    """One field of the input (mirrors ``ray.dag.InputAttributeNode``)."""

    def __init__(self, parent, key):
        self._args, self._kwargs = (), {}
        self._parent = parent
        self._key = key

    def _value(self, args, kwargs):
        if isinstance(self._key, int):
            if len(args) == 1 and not kwargs and not isinstance(args[0], (list, tuple)):
                raise IndexError(f"the DAG input has no positional argument {self._key}")
            seq = args if len(args) != 1 or kwargs else args[0]
            return seq[self._key]
        if self._key in kwargs:
            return kwargs[self._key]
        if len(args) == 1 and isinstance(args[0], dict):
            return args[0][self._key]
        if len(args) == 1:
            return getattr(args[0], self._key)
        raise KeyError(f"dag.execute() must be called with kwarg `{self._key}`")

    def _run(self, args, kwargs, cache):
        return self._value(args, kwargs)


class ClassMethodNode(DAGNode):
    """``actor.method.bind(*args, **kwargs)`` (mirrors ``ray.dag.ClassMethodNode``)."""

    def __init__(self, handle, method, args, kwargs):
        self._handle = handle
        self._method = method
        self._args = tuple(args)
        self._kwargs = dict(kwargs)

    def _run(self, args, kwargs, cache):
        if id(self) not in cache:
            a = [_run(x, args, kwargs, cache) for x in self._args]
            kw = {k: _run(v, args, kwargs, cache) for k, v in self._kwargs.items()}
            cache[id(self)] = getattr(self._handle, self._method).remote(*a, **kw)
        return cache[id(self)]


class FunctionNode(DAGNode):
    """``remote_function.bind(*args, **kwargs)`` (mirrors ``ray.dag.FunctionNode``); runs
    with ``execute`` only (compiled graphs run actor methods, as in Ray)."""

    def __init__(self, fn, args, kwargs):
        self._fn = fn
        self._args = tuple(args)
        self._kwargs = dict(kwargs)

    def _run(self, args, kwargs, cache):
        if id(self) not in cache:
            a = [_run(x, args, kwargs, cache) for x in self._args]
            kw = {k: _run(v, args, kwargs, cache) for k, v in self._kwargs.items()}
            cache[id(self)] = self._fn.remote(*a, **kw)
        return cache[id(self)]


class MultiOutputNode(DAGNode):
    """Several outputs (mirrors ``ray.dag.MultiOutputNode``): ``execute`` returns a list."""

    def __init__(self, outputs):
        self._args = tuple(outputs)
        self._kwargs = {}

    def _run(self, args, kwargs, cache):
        return [_run(x, args, kwargs, cache) for x in self._args]


def _run(x, args, kwargs, cache):
    return x._run(args, kwargs, cache) if isinstance(x, DAGNode) else x


class CompiledDAG:
    """A compiled static graph (mirrors ``ray.dag.compiled_dag_node.CompiledDAG``).

    ``execute(*args, **kwargs)`` runs one tag and returns a CompiledDAGRef per output (a list
    for a MultiOutputNode); ``ray.get`` reads them, once. ``teardown()`` frees the graph's memory.
    """

    def __init__(self, root, capacity):
        rt = api._runtime_or_init()
        self._root = root
        self._multi = isinstance(root, MultiOutputNode)
        outputs = list(root._args) if self._multi else [root]
        order = []
        seen = set()

        def visit(n):
            if id(n) in seen:
                return
            seen.add(id(n))
            for c in n._children():
                visit(c)
            if isinstance(n, ClassMethodNode):
                order.append(n)
            elif isinstance(n, FunctionNode):
                raise ValueError("Compiled graphs run actor methods only (as in Ray): "
                                 f"{n._fn} is a remote function; use dag.execute() instead.")
        for o in outputs:
            if not isinstance(o, ClassMethodNode):
                raise ValueError("The outputs of a compiled graph must be actor method calls "
                                 f"(.bind() of an actor method), got {type(o).__name__}.")
            visit(o)
        self._order = order
        index = {id(n): i for i, n in enumerate(order)}
        self._outputs = [index[id(o)] for o in outputs]
        nodes = []
        for i, n in enumerate(order):
            h = n._handle
            if h._is_async:
                raise ValueError("rayreact's compiled graphs run plain actors; "
                                 f"{h._class_name} has async methods.")
            num_returns = h._methods.get(n._method, 1)
            if num_returns != 1:
                raise ValueError("rayreact's compiled graphs support methods with one return "
                                 f"value; {h._class_name}.{n._method} has {num_returns}.")
            if any(isinstance(v, DAGNode) for v in n._kwargs.values()):
                raise ValueError("Compiled DAG currently does not support binding to other "
                                 "DAG nodes as kwargs")  # as Ray 2.60
            spec = tuple(self._source(a, index) for a in n._args)
            kw = tuple(sorted((k, self._source(v, index)) for k, v in n._kwargs.items()))
            nodes.append(Node(i, h._proc, h._pid, n._method, 1, spec, kw))
        label = " ".join(f"{n._handle._class_name}.{n._method}" for n in order[:4])
        self._graph = CompiledGraph(rt, nodes, [(capacity, capacity)] * len(nodes), label)
        self._rt = rt
        self._torn_down = False
        self.reactor_graph = self._reactor_graph()
        if rt.tracer is not None and rt.tracer.loop_body is None:
            rt.tracer.loop_body = self.reactor_graph

    @staticmethod
    def _source(a, index):
        if isinstance(a, ClassMethodNode):
            return ("n", index[id(a)], 0)
        if isinstance(a, ObjectRef):
            return X
        return V

    def execute(self, *args, **kwargs):
        """Run the graph once on these inputs (mirrors ``CompiledDAG.execute``).

        Returns:
            CompiledDAGRef, or a list of them for a MultiOutputNode (``ray.get`` each once).
        Raises:
            RuntimeError: after ``teardown()``, or an actor of the graph died.
        """
        if self._torn_down:
            raise RuntimeError("This compiled graph was torn down; compile it again.")
        cg = self._graph
        if not cg.begin_tag():
            raise RuntimeError("An actor of this compiled graph died; the graph cannot run.")
        cache = {}
        for pos, n in enumerate(self._order):
            a = [self._arg(x, args, kwargs, cache) for x in n._args]
            kw = {k: self._arg(v, args, kwargs, cache) for k, v in n._kwargs.items()}
            refs = cg.trigger(pos, a, kw)
            if refs is None:
                self._rt.wake_triggered()
                raise TypeError("A compiled graph's inputs cannot contain ObjectRefs.")
            cache[id(n)] = refs[0]
        self._rt.wake_triggered()
        out = [CompiledDAGRef(cache[id(self._order[i])]) for i in self._outputs]
        return out if self._multi else out[0]

    @staticmethod
    def _arg(x, args, kwargs, cache):
        if isinstance(x, ClassMethodNode):
            return cache[id(x)]
        if isinstance(x, (InputNode, InputAttributeNode)):
            return x._value(args, kwargs)
        return x

    def teardown(self, kill_actors=False):
        """Free the graph's slots (mirrors ``CompiledDAG.teardown``); with ``kill_actors``,
        also kill its actors."""
        if self._torn_down:
            return
        self._torn_down = True
        self._graph.broken = True
        self._graph.teardown()
        if kill_actors:
            for n in self._order:
                api.kill(n._handle)

    def _reactor_graph(self):
        g = ReactorGraph(compiled=True)
        g.reactors.append(Reactor("driver", "driver"))
        names = {}
        for i, n in enumerate(self._order):
            h = n._handle
            if h._proc not in names:
                k = sum(1 for v in names.values() if v.startswith(h._class_name + "["))
                names[h._proc] = f"{h._class_name}[{k}]"
                g.reactors.append(Reactor(names[h._proc], "actor"))
            inputs = [f"arg{j}" for j in range(len(n._args))] + sorted(n._kwargs)
            g.reactions.append(Reaction(i, names[h._proc], n._method, inputs, ["out0"]))
            index = {id(m): j for j, m in enumerate(self._order)}
            for port, a in zip(inputs, list(n._args) + [n._kwargs[k] for k in sorted(n._kwargs)]):
                if isinstance(a, ClassMethodNode):
                    g.connections.append(Connection(index[id(a)], "out0", i, port))
                elif isinstance(a, (InputNode, InputAttributeNode)):
                    g.connections.append(Connection(None, "input", i, port))
        return g.compute_levels()

    def __del__(self):
        try:
            self.teardown()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass
