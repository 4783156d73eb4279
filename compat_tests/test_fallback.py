"""Fallback to real Ray: what the reactor runtime does not run goes to Ray (backend "auto",
with one RayFallbackWarning per pattern) or is an UnsupportedPatternError (backend "reactor").

Each per-actor/task pattern is a small Ray program run three times: on real Ray (the oracle),
on rayreact with backend "auto" (same result, and the warning), and with backend "reactor"
(the error). Mixed programs pass refs and handles between reactor and Ray actors. Real Ray is
started once for the session (shared with the ``[ray]`` compat tests); whole-program patterns
that start their own Ray run in subprocesses.
"""

import importlib
import importlib.util
import json
import logging
import os
import subprocess
import sys
import textwrap
import warnings

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                                reason="ray is not installed")


# -- fixtures -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_ray(_sessions):
    """Real Ray, initialised once for the pytest session (the conftest's shared instance).

    The fallback of every test below reuses it: rayreact joins a Ray that is already up."""
    mod = _sessions.module("ray")
    if not mod.is_initialized():
        mod.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.ERROR)
    return mod


def _fresh_rayreact(**kw):
    import rayreact

    if rayreact.is_initialized():
        rayreact.shutdown()
    rayreact.init(num_cpus=2, **kw)
    return rayreact


@pytest.fixture
def auto(real_ray):
    """rayreact with backend "auto" (Ray for the fallbacks: the session's instance)."""
    rr = _fresh_rayreact(backend="auto")
    yield rr
    rr.shutdown()


@pytest.fixture
def reactor(monkeypatch):
    """rayreact with backend "reactor": unsupported patterns are errors."""
    rr = _fresh_rayreact(backend="reactor")
    yield rr
    rr.shutdown()


def _exceptions(ray):
    return ray.exceptions


# -- the per-actor / per-task patterns, as programs -------------------------------------------
def runtime_env_task(ray):
    @ray.remote
    def env():
        import os

        return os.environ.get("RR_FALLBACK_VAR")

    return ray.get(env.options(runtime_env={"env_vars": {"RR_FALLBACK_VAR": "42"}}).remote())


def runtime_env_actor(ray):
    @ray.remote(runtime_env={"env_vars": {"RR_FALLBACK_VAR": "7"}})
    class Env:
        def get(self):
            import os

            return os.environ.get("RR_FALLBACK_VAR")

    e = Env.remote()
    return ray.get(e.get.remote())


def scheduling_strategy_task(ray):
    ss = importlib.import_module("ray.util.scheduling_strategies")

    @ray.remote
    def f(x):
        return x + 1

    node = ray.get_runtime_context().get_node_id()
    strategy = ss.NodeAffinitySchedulingStrategy(node_id=node, soft=True)
    return ray.get(f.options(scheduling_strategy=strategy).remote(41))


def placement_group_actor(ray):
    ss = importlib.import_module("ray.util.scheduling_strategies")
    pg = ray.util.placement_group([{"CPU": 1}])
    ray.get(pg.ready())

    @ray.remote
    class InGroup:
        def in_group(self):
            return ray.util.get_current_placement_group() is not None

    a = InGroup.options(scheduling_strategy=ss.PlacementGroupSchedulingStrategy(pg)).remote()
    out = ray.get(a.in_group.remote())
    ray.kill(a)
    ray.util.remove_placement_group(pg)
    return out


def detached_actor(ray):
    @ray.remote
    class Detached:
        def ping(self):
            return "pong"

    d = Detached.options(name="rr-fallback-detached", lifetime="detached").remote()
    out = ray.get(ray.get_actor("rr-fallback-detached").ping.remote())
    ray.kill(d)
    return out


def _pending(ray, ref):
    try:
        ray.get(ref, timeout=0.5)
        return "ran"
    except _exceptions(ray).GetTimeoutError:
        return "pending"


def custom_resource_task(ray):
    @ray.remote(resources={"rr_fallback_missing": 1})
    def f():
        return 1

    ref = f.remote()
    out = _pending(ray, ref)
    ray.cancel(ref)
    return out


def gpu_actor(ray):
    @ray.remote
    class Gpu:
        def ping(self):
            return 1

    a = Gpu.options(num_gpus=1).remote()
    out = _pending(ray, a.ping.remote())
    ray.kill(a)
    return out


def accelerator_type_task(ray):
    @ray.remote
    def f():
        return 1

    ref = f.options(accelerator_type="A100").remote()
    out = _pending(ray, ref)
    ray.cancel(ref)
    return out


def generator_task(ray):
    @ray.remote
    def gen(n):
        for i in range(n):
            yield i * 10

    return [ray.get(r) for r in gen.remote(3)]


def dynamic_returns_task(ray):
    @ray.remote(num_returns="dynamic")
    def gen(n):
        for i in range(n):
            yield i

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Ray deprecates "dynamic"
        return [ray.get(r) for r in ray.get(gen.remote(3))]


def streaming_returns_task(ray):
    @ray.remote
    def gen(n):
        for i in range(n):
            yield i + 100

    return [ray.get(r) for r in gen.options(num_returns="streaming").remote(2)]


def generator_actor(ray):
    @ray.remote
    class Items:
        def items(self, n):
            for i in range(n):
                yield i * i

    a = Items.remote()
    return [ray.get(r) for r in a.items.remote(4)]


def concurrency_groups_actor(ray):
    # Two calls in group "io" must run concurrently (one waits for the other): on a
    # single-threaded actor they would deadlock.
    @ray.remote(concurrency_groups={"io": 2})
    class Groups:
        def __init__(self):
            import threading

            self.flag = threading.Event()

        @ray.method(concurrency_group="io")
        def wait_flag(self):
            return self.flag.wait(60)

        @ray.method(concurrency_group="io")
        def set_flag(self):
            self.flag.set()
            return True

    g = Groups.remote()
    return ray.get([g.wait_flag.remote(), g.set_flag.remote()])


def retry_exceptions_task(ray, tmp_path):
    @ray.remote(max_retries=2, retry_exceptions=True)
    def flaky(path):
        import os

        if not os.path.exists(path):
            open(path, "w").close()
            raise ValueError("first attempt fails")
        return "second attempt"

    return ray.get(flaky.remote(str(tmp_path / "attempted")))


# (program, pattern named by the warning and the error)
CASES = {
    "runtime_env_task": (runtime_env_task, "runtime_env"),
    "runtime_env_actor": (runtime_env_actor, "runtime_env"),
    "scheduling_strategy": (scheduling_strategy_task, "scheduling_strategy"),
    "placement_group": (placement_group_actor, "placement groups"),
    "detached": (detached_actor, 'lifetime="detached"'),
    "custom_resources": (custom_resource_task, "custom resources"),
    "num_gpus": (gpu_actor, "num_gpus"),
    "accelerator_type": (accelerator_type_task, "accelerator"),
    "generator_task": (generator_task, "generators"),
    "dynamic_returns": (dynamic_returns_task, "dynamic"),
    "streaming_returns": (streaming_returns_task, "streaming"),
    "generator_actor": (generator_actor, "generators"),
    "concurrency_groups": (concurrency_groups_actor, "concurrency groups"),
    "retry_exceptions": (retry_exceptions_task, "retry_exceptions"),
}


def _run(program, ray, tmp_path, tag):
    if program is retry_exceptions_task:
        d = tmp_path / tag
        d.mkdir()
        return program(ray, d)
    return program(ray)


@pytest.mark.parametrize("case", list(CASES))
def test_auto_runs_the_pattern_on_ray(case, auto, real_ray, tmp_path):
    from rayreact.exceptions import RayFallbackWarning

    program, pattern = CASES[case]
    expected = _run(program, real_ray, tmp_path, "ray")
    with pytest.warns(RayFallbackWarning, match=pattern) as caught:
        got = _run(program, auto, tmp_path, "rayreact")
    assert got == expected
    msgs = [str(w.message) for w in caught if w.category is RayFallbackWarning]
    assert len(msgs) == 1, msgs  # one warning per pattern
    assert "real Ray" in msgs[0] and "backend='reactor'" in msgs[0]


@pytest.mark.parametrize("case", list(CASES))
def test_reactor_refuses_the_pattern(case, reactor, tmp_path):
    from rayreact.exceptions import UnsupportedPatternError

    program, pattern = CASES[case]
    with pytest.raises(UnsupportedPatternError, match=pattern):
        _run(program, reactor, tmp_path, "reactor")
    # The rest of the program still runs on the reactor runtime.

    @reactor.remote
    def one():
        return 1

    assert reactor.get(one.remote()) == 1


def test_the_node_resources_run_on_the_reactor(reactor):
    # "node:<ip>" and "node:__internal_head__" name this machine: asking for a little of
    # them is no custom resource the reactor runtime lacks.
    @reactor.remote
    def one():
        return 1

    ip = reactor.util.get_node_ip_address()
    for res in ({f"node:{ip}": 0.01}, {"node:__internal_head__": 0.001}):
        assert reactor.get(one.options(resources=res).remote()) == 1
    with pytest.raises(reactor.exceptions.UnsupportedPatternError, match="custom resources"):
        one.options(resources={"node:203.0.113.9": 0.01}).remote()  # another node's


def test_one_warning_per_pattern_and_the_rest_stays_on_the_reactor(auto):
    from rayreact.exceptions import RayFallbackWarning

    @auto.remote
    class Who:
        def pid(self):
            import os

            return os.getpid()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a = Who.options(runtime_env={"env_vars": {"A": "1"}}).remote()
        b = Who.options(runtime_env={"env_vars": {"B": "1"}}).remote()
        c = Who.remote()
    assert [w.category for w in caught].count(RayFallbackWarning) == 1
    assert type(c).__name__ == "ActorHandle" and type(a).__name__ == "RayActorHandle"
    pids = auto.get([a.pid.remote(), b.pid.remote(), c.pid.remote()])
    assert len(set(pids)) == 3


def test_the_warning_can_be_filtered(auto):
    from rayreact.exceptions import RayFallbackWarning

    @auto.remote
    def f():
        return 3

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=RayFallbackWarning)
        assert auto.get(f.options(runtime_env={"env_vars": {"A": "1"}}).remote()) == 3
    assert not caught


# -- mixed programs: refs and handles cross in both directions -----------------------------
FALLBACK = {"runtime_env": {"env_vars": {"RR_MIXED": "1"}}}  # valid on real Ray too


def chain_program(ray):
    """A reactor actor's refs go to a fallback actor and back, top-level and nested."""

    @ray.remote
    class Acc:
        def __init__(self, start):
            self.total = start

        def add(self, x):
            self.total += x
            return self.total

        def add_all(self, box):  # refs nested in a container stay refs
            return sum(ray.get(box["refs"])) + self.total

    a = Acc.remote(1)  # reactor
    b = Acc.options(**FALLBACK).remote(100)  # Ray
    r1 = a.add.remote(10)
    r2 = b.add.remote(r1)  # reactor ref -> Ray actor
    r3 = a.add.remote(r2)  # Ray ref -> reactor actor
    r4 = b.add_all.remote({"refs": [r1, r3]})
    r5 = a.add_all.remote({"refs": [r2, r4]})
    return ray.get([r1, r2, r3, r4, r5])


def tasks_program(ray):
    @ray.remote
    def double(x):
        return 2 * x

    fb = double.options(**FALLBACK)
    x = double.remote(1)
    for _ in range(3):
        x = fb.remote(double.remote(x))
    put = ray.put(5)
    return ray.get([x, fb.remote(put), double.remote(fb.remote(put))])


def handles_program(ray):
    """Actors call each other through handles that cross backends."""

    @ray.remote
    class Node:
        def __init__(self, base):
            self.base = base

        def value(self, x):
            return self.base + x

        def via(self, other, x):
            return ray.get(other.value.remote(x)) * 10

    reactor_node = Node.remote(1)
    ray_node = Node.options(**FALLBACK).remote(1000)
    # One after the other: two single-threaded actors calling each other at once deadlock
    # (on Ray too).
    first = ray.get(reactor_node.via.remote(ray_node, 5))
    return [first, ray.get(ray_node.via.remote(reactor_node, 7))]


def errors_program(ray):
    @ray.remote
    class Faulty:
        def fail(self):
            raise KeyError("from a fallback actor")

        def ok(self, x):
            return x

    f = Faulty.options(**FALLBACK).remote()
    out = []
    try:
        ray.get(f.fail.remote())
    except KeyError as e:
        out.append(("KeyError", isinstance(e, ray.exceptions.RayTaskError)))
    ray.kill(f)
    out.append(("RayActorError", type(_dead_call(ray, f.ok, 1)).__name__))
    return out


def _dead_call(ray, method, *args):
    """The error of a call to a killed actor (ray.kill is asynchronous in Ray: a call made
    just after it may still be answered, so call until one fails)."""
    import time

    for _ in range(600):
        try:
            ray.get(method.remote(*args), timeout=60)
        except ray.exceptions.RayActorError as e:
            return e
        time.sleep(0.05)
    raise AssertionError("the killed actor kept answering")


@pytest.mark.parametrize("program", [chain_program, tasks_program, handles_program,
                                     errors_program], ids=lambda p: p.__name__)
def test_mixed_program_matches_ray(program, auto, real_ray):
    from rayreact.exceptions import RayFallbackWarning

    expected = program(real_ray)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RayFallbackWarning)
        got = program(auto)
    assert got == expected


def test_get_wait_kill_cancel_accept_a_mix(auto):
    import rayreact.util
    from rayreact.exceptions import RayFallbackWarning, TaskCancelledError

    warnings.simplefilter("ignore", RayFallbackWarning)

    @auto.remote
    def ident(x):
        return x

    ours, theirs = ident.remote("r"), ident.options(**FALLBACK).remote("y")
    assert isinstance(ours, auto.ObjectRef) and isinstance(theirs, auto.ObjectRef)
    assert auto.get([theirs, ours, theirs]) == ["y", "r", "y"]
    ready, not_ready = auto.wait([ours, theirs], num_returns=2, timeout=60)
    assert ready == [ours, theirs] and not_ready == []
    assert sorted(rayreact.util.as_completed([ours, theirs])) == ["r", "y"]
    # ActorPool over a reactor actor and a Ray actor.

    @auto.remote
    class Sq:
        def sq(self, x):
            return x * x

    pool = rayreact.util.ActorPool([Sq.remote(), Sq.options(**FALLBACK).remote()])
    assert sorted(pool.map_unordered(lambda a, v: a.sq.remote(v), range(6))) == \
        [0, 1, 4, 9, 16, 25]
    # cancel a Ray task (queued behind a resource it can never get), kill a Ray actor
    stuck = ident.options(resources={"rr_fallback_never": 1}).remote(1)
    auto.cancel(stuck)
    with pytest.raises(TaskCancelledError):
        auto.get(stuck, timeout=60)
    ray_actor = Sq.options(**FALLBACK).remote()
    assert auto.get(ray_actor.sq.remote(3)) == 9
    auto.kill(ray_actor)
    assert isinstance(_dead_call(auto, ray_actor.sq, 3), auto.exceptions.ActorDiedError)


def test_named_actors_across_backends(auto):
    import rayreact.util
    from rayreact.exceptions import RayFallbackWarning

    warnings.simplefilter("ignore", RayFallbackWarning)

    @auto.remote
    class Named:
        def who(self):
            return "here"

    ours = Named.options(name="rr-on-reactor").remote()  # kept: a dropped one goes, as in Ray
    theirs = Named.options(name="rr-on-ray", **FALLBACK).remote()
    assert auto.get(auto.get_actor("rr-on-reactor").who.remote()) == "here"
    assert auto.get(auto.get_actor("rr-on-ray").who.remote()) == "here"
    assert {"rr-on-reactor", "rr-on-ray"} <= set(rayreact.util.list_named_actors())
    auto.kill(theirs)
    del ours


def test_ray_names_rayreact_lacks_are_forwarded(real_ray):
    """Every name of ray.__all__ / ray.util.__all__ is there (Ray's object when rayreact has
    none); libraries are tested separately (they switch the program to Ray)."""
    import rayreact
    import rayreact.util

    libs = {"data", "workflow", "collective"}
    for name in real_ray.__all__:
        if name not in libs:
            assert getattr(rayreact, name) is not None, name
    util = importlib.import_module("ray.util")
    for name in util.__all__:
        if name not in libs:
            assert getattr(rayreact.util, name) is not None, name
    assert rayreact.ObjectRefGenerator is real_ray.ObjectRefGenerator
    assert rayreact.LoggingConfig is real_ray.LoggingConfig
    strategies = rayreact.util.scheduling_strategies  # a Ray module rayreact does not have
    assert strategies.PlacementGroupSchedulingStrategy.__module__ == \
        "ray.util.scheduling_strategies"
    with pytest.raises(AttributeError):
        rayreact.not_a_ray_name  # noqa: B018


# -- whole program: decided before the reactor runtime starts ------------------------------
def _run_py(tmp_path, code, *args, env=None, module=False):
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(code))
    e = {k: v for k, v in os.environ.items()
         if k not in ("RAYREACT_BACKEND", "RAY_ADDRESS", "RAYREACT_ALIAS")}
    e.update(env or {})
    cmd = [sys.executable] + (["-m", "rayreact"] + list(args) if module else []) + [str(script)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=tmp_path, env=e)


def _result(r):
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    line = [x for x in r.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


PROGRAM_ON_RAY = """
    import json, warnings
    import rayreact as ray
    warnings.simplefilter("always")

    @ray.remote
    def sq(x):
        return x * x

    @ray.remote
    class Counter:
        def __init__(self):
            self.n = 0
        def inc(self):
            self.n += 1
            return self.n

    {init}
    c = Counter.remote()
    refs = [sq.remote(i) for i in range(4)]
    print("RESULT " + json.dumps({{
        "squares": ray.get(refs), "counter": [ray.get(c.inc.remote()) for _ in range(2)],
        "ref_module": type(refs[0]).__module__, "is_ref": isinstance(refs[0], ray.ObjectRef),
        "node": ray.get_runtime_context().get_node_id() == ray.nodes()[0]["NodeID"],
    }}))
    ray.shutdown()
"""


def test_backend_ray_runs_everything_on_ray(tmp_path):
    # The explicit backend wins over the environment variable.
    r = _run_py(tmp_path, PROGRAM_ON_RAY.format(
        init='ray.init(backend="ray", num_cpus=2, include_dashboard=False, '
             'log_to_driver=False)'), env={"RAYREACT_BACKEND": "reactor"})
    out = _result(r)
    assert out == {"squares": [0, 1, 4, 9], "counter": [1, 2], "ref_module": "ray",
                   "is_ref": True, "node": True}
    assert "RayFallbackWarning" not in r.stderr  # chosen, not a fallback


def test_backend_env_var_ray_and_auto_init(tmp_path):
    r = _run_py(tmp_path, PROGRAM_ON_RAY.format(init=""), env={"RAYREACT_BACKEND": "ray"})
    assert _result(r)["ref_module"] == "ray"


def test_job_runtime_env_runs_the_program_on_ray(tmp_path):
    r = _run_py(tmp_path, PROGRAM_ON_RAY.format(
        init='ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, '
             'runtime_env={"env_vars": {"RR_JOB": "1"}})'))
    assert _result(r)["ref_module"] == "ray"
    assert "RayFallbackWarning" in r.stderr and "runtime_env" in r.stderr


LIBRARY_PROGRAM = """
    import json
    import rayreact as ray

    @ray.remote
    def sq(x):
        return x * x

    Pool = ray.util.multiprocessing.Pool   # a Ray library: the program runs on Ray
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    with Pool(2) as p:
        cubes = p.map(abs, [-1, -2, -3])
    ref = sq.remote(4)
    print("RESULT " + json.dumps({"cubes": cubes, "sq": ray.get(ref),
                                  "ref_module": type(ref).__module__}))
    ray.shutdown()
"""


def test_library_runs_the_program_on_ray(tmp_path):
    r = _run_py(tmp_path, LIBRARY_PROGRAM)
    assert _result(r) == {"cubes": [1, 2, 3], "sq": 16, "ref_module": "ray"}
    assert "RayFallbackWarning" in r.stderr and "ray.util.multiprocessing" in r.stderr


CLI_LIBRARY_PROGRAM = """
    import json
    import ray
    from ray.util.multiprocessing import Pool

    @ray.remote
    def sq(x):
        return x * x

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    with Pool(2) as p:
        out = p.map(abs, [-4, 5])
    print("RESULT " + json.dumps({"pool": out, "sq": ray.get(sq.remote(3)),
                                  "ray": ray.__name__}))
"""


def test_cli_scan_runs_a_library_program_on_ray(tmp_path):
    r = _run_py(tmp_path, CLI_LIBRARY_PROGRAM, module=True)
    assert _result(r) == {"pool": [4, 5], "sq": 9, "ray": "ray"}
    assert "RayFallbackWarning" in r.stderr and "prog.py:4" in r.stderr


def test_cli_scan_refuses_a_library_program_with_backend_reactor(tmp_path):
    r = _run_py(tmp_path, CLI_LIBRARY_PROGRAM, "--backend", "reactor", module=True)
    assert r.returncode == 1
    assert "UnsupportedPatternError" in r.stderr and "ray.util.multiprocessing" in r.stderr


CLI_PLACEMENT_PROGRAM = """
    import json
    import ray
    from ray.util.placement_group import placement_group
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy
    import ray_helper

    @ray.remote
    class Doubler:
        def double(self, x):
            return ray_helper.twice(x)

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    pg = placement_group([{"CPU": 1}])
    ray.get(pg.ready())
    in_pg = Doubler.options(scheduling_strategy=PlacementGroupSchedulingStrategy(pg)).remote()
    plain = Doubler.remote()
    print("RESULT " + json.dumps({
        "value": ray.get(plain.double.remote(in_pg.double.remote(3))),
        "ray": ray.__name__, "helper": ray_helper.ray_name(),
        "strategy": PlacementGroupSchedulingStrategy.__module__,
        "kinds": [type(in_pg).__name__, type(plain).__name__],
    }))
"""


def test_cli_alias_keeps_rays_own_modules_and_falls_back_per_actor(tmp_path):
    """Under python -m rayreact the program's ``import ray`` (also in its own modules) is
    rayreact, Ray's modules that rayreact lacks are Ray's, and a placement group sends only
    the actors scheduled into it to Ray."""
    (tmp_path / "ray_helper.py").write_text(
        "import ray\n\ndef twice(x):\n    return 2 * x\n\n"
        "def ray_name():\n    return ray.__name__\n")
    r = _run_py(tmp_path, CLI_PLACEMENT_PROGRAM, module=True)
    assert _result(r) == {"value": 12, "ray": "rayreact", "helper": "rayreact",
                          "strategy": "ray.util.scheduling_strategies",
                          "kinds": ["RayActorHandle", "ActorHandle"]}
    assert "RayFallbackWarning" in r.stderr and "placement groups" in r.stderr


def test_cli_scan_follows_the_programs_own_modules(tmp_path):
    from rayreact._private import fallback

    (tmp_path / "helpers_lib.py").write_text("import ray.util.collective as col\n")
    script = tmp_path / "main.py"
    script.write_text("import ray\nimport helpers_lib\nray.data.range(3)\n")
    found = {(m, os.path.basename(p), line) for m, p, line in fallback.scan_script(script)}
    assert ("ray.util.collective", "helpers_lib.py", 1) in found
    assert ("ray.data", "main.py", 3) in found
    (tmp_path / "plain.py").write_text("import ray\nfrom ray.util import ActorPool\n")
    assert fallback.scan_script(tmp_path / "plain.py") == []


def test_reactor_backend_refuses_whole_program_patterns():
    import rayreact
    from rayreact.exceptions import UnsupportedPatternError

    if rayreact.is_initialized():
        rayreact.shutdown()
    for kwargs, match in [({"address": "auto"}, "cluster address"),
                          ({"address": "ray://127.0.0.1:10001"}, "cluster address"),
                          ({"runtime_env": {"env_vars": {"A": "1"}}}, "runtime_env")]:
        with pytest.raises(UnsupportedPatternError, match=match):
            rayreact.init(backend="reactor", **kwargs)
        assert not rayreact.is_initialized()
    rayreact.init(num_cpus=1, backend="reactor")
    try:
        with pytest.raises(UnsupportedPatternError, match="libraries"):
            rayreact.util.multiprocessing  # noqa: B018
    finally:
        rayreact.shutdown()
    with pytest.raises(ValueError, match="backend"):
        rayreact.init(backend="spark")


def test_without_ray_installed_a_fallback_says_how_to_install(tmp_path):
    r = _run_py(tmp_path, """
        import sys
        sys.modules["ray"] = None  # as if Ray were not installed
        import rayreact as ray
        from rayreact.exceptions import RayNotInstalledError

        @ray.remote
        def f():
            return 1

        print(ray.get(f.remote()))  # the reactor runtime needs no Ray
        try:
            f.options(runtime_env={"env_vars": {"A": "1"}}).remote()
        except RayNotInstalledError as e:
            assert isinstance(e, ImportError)
            print("ERROR", e)
        ray.shutdown()
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "1"
    assert "ERROR" in r.stdout and "pip install 'rayreact[ray]'" in r.stdout
