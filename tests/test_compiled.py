"""The tracer, the reactor graph and compiled execution (see rayreact/_private/tracer.py)."""

import glob

import numpy as np
import pytest

import rayreact
from rayreact._private import api


@pytest.fixture
def rr_dyn():
    rayreact.init(num_cpus=1, compiled=False)
    yield rayreact
    rayreact.shutdown()


@pytest.fixture
def rr1():
    ctx = rayreact.init(num_cpus=1)
    yield rayreact, ctx["address_info"]["session"]
    rayreact.shutdown()


@rayreact.remote
class Stage:
    def __init__(self, k):
        self.k = k
        self.calls = 0

    def f(self, x, scale=1):
        self.calls += 1
        if isinstance(x, str):
            raise ValueError(f"bad input {x}")
        return x * self.k * scale

    @rayreact.method(num_returns=2)
    def split(self, x):
        return x, -x

    def grow(self, n):
        return list(range(n))

    def count(self):
        return self.calls


def _pipeline(ray, rounds):
    """A 3-stage pipeline passing 100 KB arrays; returns every round's results."""
    a, b, c = Stage.remote(2), Stage.remote(3), Stage.remote(5)
    out, first_refs = [], []
    for i in range(rounds):
        x = np.full(12_500, float(i))
        ra = a.f.remote(x)
        rc = c.f.remote(b.f.remote(ra, scale=2))
        p, q = a.split.remote(i)
        first_refs.append(ra)
        out.append((ray.get(rc)[0], ray.get([p, q])))
    # Refs of early rounds stay valid after their slots were reused.
    out.append([ray.get(r)[0] for r in first_refs])
    out.append(ray.get([s.count.remote() for s in (a, b, c)]))
    return out


def _compiled_graphs():
    return [g for g in api._rt.tracer.graphs.values() if g is not None]


def test_a_repeating_round_is_frozen_compiled_and_gives_the_dynamic_results(rr1):
    ray, _ = rr1
    compiled = _pipeline(ray, 8)
    graphs = _compiled_graphs()
    # Round 1 creates the actors (no fixed shape); rounds 2 and 3 freeze the shape; rounds
    # 4 to 8 run compiled.
    assert len(graphs) == 1 and graphs[0].tag == 5
    rayreact.shutdown()
    rayreact.init(num_cpus=1, compiled=False)
    assert _compiled_graphs() == []
    assert _pipeline(rayreact, 8) == compiled


def test_an_output_goes_to_its_consumer_without_the_driver_reading_it(rr1):
    ray, _ = rr1
    a, b = Stage.remote(2), Stage.remote(3)
    for i in range(4):
        ra = a.f.remote(np.ones(1000) * i)
        rb = b.f.remote(ra)
        assert ray.get(rb)[0] == 6 * i
    e = api._rt.table[ra._id]
    assert e.slot is not None and e.frame is None  # b read it from a's slot, not from us


def test_the_graph_names_reactors_ports_connections_and_levels(rr1, tmp_path):
    ray, _ = rr1
    a, b = Stage.remote(2), Stage.remote(3)
    for i in range(3):
        ray.get(b.f.remote(a.f.remote(i), scale=2))
    g = ray.graph()
    assert g.compiled
    assert [r.name for r in g.reactors] == ["driver", "Stage[0]", "Stage[1]"]
    assert [(r.reactor, r.method, r.inputs, r.level) for r in g.reactions] == [
        ("Stage[0]", "f", ["x"], 1), ("Stage[1]", "f", ["x", "scale"], 2)]
    assert any(c.source == 0 and c.dest == 1 and c.dest_port == "x" for c in g.connections)
    dot, mermaid = g.to_dot(), g.to_mermaid()
    assert "digraph" in dot and "Stage[1]" in dot and "r0:o0 -> r1:i0" in dot
    assert mermaid.startswith("flowchart LR") and "r0 -- x --> r1" in mermaid
    assert g.write(tmp_path / "g.dot") == "dot"
    assert (tmp_path / "g.dot").read_text() == dot
    assert g.write(tmp_path / "g.mmd") == "mermaid"


def test_an_exception_travels_downstream_as_a_value_and_the_graph_keeps_running(rr1):
    ray, _ = rr1
    a, b = Stage.remote(2), Stage.remote(3)
    results = []
    for i in range(6):
        rb = b.f.remote(a.f.remote("bad" if i == 4 else i))
        try:
            results.append(ray.get(rb))
        except ValueError as e:
            results.append(str(e).splitlines()[-1])
    assert results == [0, 6, 12, 18, "ValueError: bad input bad", 30]
    assert ray.get([a.count.remote(), b.count.remote()]) == [6, 5]  # b did not run on it


def test_a_deviating_call_runs_dynamically_with_the_same_result(rr1):
    ray, _ = rr1
    a, b, c = Stage.remote(2), Stage.remote(3), Stage.remote(5)
    out = [ray.get((c if i == 5 else b).f.remote(a.f.remote(i))) for i in range(7)]
    assert out == [6 * i if i != 5 else 50 for i in range(7)]
    # Round 1 creates actors; 2 and 3 freeze; 4, 5 and 7 run compiled; 6 deviates at its
    # second call (its first call ran compiled: the same tag).
    assert _compiled_graphs()[0].tag == 4


def test_the_runtime_context_names_compiled_reactions(rr1):
    ray, _ = rr1

    @ray.remote
    class Named:
        def step(self, i):
            c = ray.get_runtime_context()
            return c.get_task_name(), c.get_task_function_name(), c.get_task_id(), \
                c.is_canceled()

    a = Named.remote()
    out = [ray.get(a.step.remote(i)) for i in range(6)]
    # Round 1 creates the actor; 2 and 3 freeze; 4 to 6 run compiled.
    assert _compiled_graphs()[0].tag == 3
    assert {o[:2] for o in out} == {("Named.step", f"{__name__}.Named.step")}
    assert len({o[2] for o in out}) == 6 and not any(o[3] for o in out)
    # A call with its own name runs dynamically (compiled reactions carry none): the round
    # is not frozen, and the next one runs compiled again
    assert ray.get(a.step.options(name="custom").remote(6))[0] == "custom"
    assert ray.get(a.step.remote(7))[0] == "Named.step"
    assert _compiled_graphs()[0].tag == 4


def test_an_actor_killed_in_a_compiled_loop_fails_its_calls(rr1):
    ray, _ = rr1
    a, b = Stage.remote(2), Stage.remote(3)
    for i in range(4):
        assert ray.get([a.f.remote(i), b.f.remote(i)]) == [2 * i, 3 * i]
    ray.kill(b)
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get([a.f.remote(9), b.f.remote(9)])
    assert ray.get(a.f.remote(1)) == 2


def test_values_that_outgrow_their_slot_grow_it(rr1):
    ray, _ = rr1
    a = Stage.remote(1)
    for n in (10, 10, 10, 5_000, 200_000, 3):
        assert ray.get(a.grow.remote(n)) == list(range(n))


def test_the_steady_state_creates_no_shared_memory(rr1):
    ray, session = rr1
    a, b = Stage.remote(2), Stage.remote(3)

    def names():
        return set(glob.glob(f"/dev/shm/*rr_{session}_*"))

    for i in range(4):
        ray.get(b.f.remote(a.f.remote(np.ones(50_000) * i)))
    before = names()
    for i in range(20):
        ray.get(b.f.remote(a.f.remote(np.ones(50_000) * i)))
    assert names() == before


def test_shutdown_leaves_no_slot_behind(rr1):
    ray, session = rr1
    a = Stage.remote(2)
    for i in range(4):
        ray.get(a.f.remote(np.ones(100_000)))
    assert glob.glob(f"/dev/shm/rr_{session}_g*")
    rayreact.shutdown()
    assert glob.glob(f"/dev/shm/*rr_{session}_*") == []


def test_compiled_false_keeps_every_call_dynamic(rr_dyn):
    a = Stage.remote(2)
    assert [rr_dyn.get(a.f.remote(i)) for i in range(5)] == [0, 2, 4, 6, 8]
    assert _compiled_graphs() == []
    assert rr_dyn.graph() is not None and not rr_dyn.graph().compiled


def test_a_long_round_without_a_sync_point_is_not_kept_in_memory(rr1):
    from rayreact._private import tracer

    ray, _ = rr1
    a = Stage.remote(1)
    refs = [a.f.remote(i) for i in range(tracer._MAX_ROUND + 500)]
    assert len(api._rt.tracer.round) == tracer._MAX_ROUND + 1
    assert ray.get(refs[-1]) == tracer._MAX_ROUND + 499
    assert api._rt.tracer.round == []


def test_a_round_with_a_large_argument_takes_the_dynamic_path(rr1):
    # A slot would cost a copy in and a copy out (and a second tag's copy mapped); the dynamic
    # path writes a large value once, into a recycled segment.
    import numpy as np

    from rayreact._private import compiled

    ray, _ = rr1

    @ray.remote
    class Echo:
        def f(self, x):
            return x[:2] + 1

    a = Echo.remote()
    small = np.zeros(8)
    big = np.zeros(compiled.LARGE_ARGUMENT // 8 + 1)
    for _ in range(4):
        assert ray.get(a.f.remote(small)).tolist() == [1.0, 1.0]
    graph, = _compiled_graphs()
    used = graph.tag
    assert used > 0  # small arguments: compiled
    for _ in range(3):
        assert ray.get(a.f.remote(big)).tolist() == [1.0, 1.0]
    assert graph.tag == used  # the large ones did not use it
    assert ray.get(a.f.remote(small)).tolist() == [1.0, 1.0]
    assert graph.tag == used + 1


@rayreact.remote
class _Holder:
    def __init__(self, other):
        self.other = other

    def poke(self, x):
        return rayreact.get(self.other.f.remote(x))


def test_an_actor_nobody_else_can_call_stays_compiled_when_another_is_shared(rr1):
    ray, _ = rr1
    a, shared = Stage.remote(2), Stage.remote(3)
    holder = _Holder.remote(shared)  # shared's handle leaves the driver: its calls are ordered
    out = [(ray.get(a.f.remote(i)), ray.get(holder.poke.remote(i)), ray.get(shared.f.remote(i)))
           for i in range(8)]
    assert out == [(2 * i, 3 * i, 3 * i) for i in range(8)]
    tracer = api._rt.tracer
    assert set(tracer.excluded) == {shared._proc, holder._proc}  # given a handle, or shared
    used = [g for g in _compiled_graphs() if g.tag > 0]
    assert [[n.proc for n in g.nodes] for g in used] == [[a._proc]]


def test_a_named_actor_takes_every_graph_out_of_compiled_mode(rr1):
    ray, _ = rr1
    a = Stage.remote(2)
    for i in range(4):
        ray.get(a.f.remote(i))
    assert _compiled_graphs()[0].tag > 0
    Stage.options(name="anyone").remote(1)  # any reaction may look it up and call it
    assert ray.get([a.f.remote(i) for i in range(3)]) == [0, 2, 4]
    assert all(g.broken for g in _compiled_graphs())
