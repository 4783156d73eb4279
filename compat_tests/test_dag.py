"""Ray's static graph API: InputNode, MultiOutputNode, .bind, experimental_compile, execute."""

import importlib

import pytest


def _dag(ray):
    return importlib.import_module(f"{ray.__name__}.dag")


@pytest.fixture
def Stage(ray):
    @ray.remote
    class Stage:
        def __init__(self, k):
            self.k = k
            self.calls = 0

        def f(self, x):
            self.calls += 1
            if x == "boom":
                raise ValueError("boom in a compiled reaction")
            return x * self.k

        def add(self, x, y=0):
            return x + y

    return Stage


def test_compiled_pipeline_with_two_outputs(ray, Stage):
    dag = _dag(ray)
    a, b = Stage.remote(2), Stage.remote(3)
    with dag.InputNode() as inp:
        x = a.f.bind(inp)
        y = b.add.bind(x, inp)
        graph = dag.MultiOutputNode([x, y])
    compiled = graph.experimental_compile()
    try:
        results = [ray.get(compiled.execute(i)) for i in range(5)]
    finally:
        compiled.teardown()
    assert results == [[2 * i, 3 * i] for i in range(5)]


def test_compiled_graph_takes_several_inputs_by_index(ray, Stage):
    dag = _dag(ray)
    a = Stage.remote(1)
    with dag.InputNode() as inp:
        graph = a.add.bind(inp[0], inp[1])
    compiled = graph.experimental_compile()
    try:
        assert ray.get(compiled.execute(2, 40)) == 42
        assert ray.get(compiled.execute(-1, 1)) == 0
    finally:
        compiled.teardown()


def test_compiled_graph_passes_a_reaction_error_to_get_and_keeps_running(ray, Stage):
    dag = _dag(ray)
    a, b = Stage.remote(2), Stage.remote(5)
    with dag.InputNode() as inp:
        graph = b.f.bind(a.f.bind(inp))
    compiled = graph.experimental_compile()
    try:
        assert ray.get(compiled.execute(1)) == 10
        with pytest.raises(ValueError, match="boom in a compiled reaction"):
            ray.get(compiled.execute("boom"))
        assert ray.get(compiled.execute(2)) == 20
    finally:
        compiled.teardown()


def test_uncompiled_execute_runs_functions_and_methods(ray, Stage):
    dag = _dag(ray)

    @ray.remote
    def inc(x):
        return x + 1

    a = Stage.remote(10)
    with dag.InputNode() as inp:
        graph = a.f.bind(inc.bind(inp))
    assert ray.get(graph.execute(4)) == 50


def test_compiling_a_graph_node_bound_as_a_keyword_is_refused(ray, Stage):
    dag = _dag(ray)
    a, b = Stage.remote(1), Stage.remote(1)
    with dag.InputNode() as inp:
        graph = b.add.bind(0, y=a.f.bind(inp))
    with pytest.raises(ValueError, match="kwargs"):
        graph.experimental_compile()


def test_execute_returns_refs_to_get_once_that_cannot_be_copied_or_pickled(ray, Stage):
    import copy
    import pickle

    dag = _dag(ray)
    a, b = Stage.remote(2), Stage.remote(3)
    with dag.InputNode() as inp:
        graph = dag.MultiOutputNode([a.f.bind(inp), b.f.bind(inp)])
    compiled = graph.experimental_compile()
    try:
        refs = compiled.execute(1)
        assert isinstance(refs, list) and len(refs) == 2
        assert all(type(r).__name__ == "CompiledDAGRef" for r in refs)
        for attempt in (copy.copy, copy.deepcopy, pickle.dumps):
            with pytest.raises(ValueError, match="CompiledDAGRef cannot be"):
                attempt(refs[0])
        with pytest.raises(ValueError, match="must be a list of CompiledDAGRefs"):
            ray.get([refs[0], ray.put(1)])
        assert ray.get(refs) == [2, 3]
        with pytest.raises(ValueError, match="can only be called once"):
            ray.get(refs[0])
        assert ray.get(compiled.execute(4)[1]) == 12  # alone, too
    finally:
        compiled.teardown()
