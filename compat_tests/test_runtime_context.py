"""get_runtime_context, available_resources, cluster_resources, nodes."""

import os
import socket
import warnings

import pytest


def test_runtime_context_in_driver(ray):
    ctx = ray.get_runtime_context()
    assert isinstance(ctx.get_job_id(), str) and ctx.get_job_id()
    assert isinstance(ctx.get_node_id(), str) and ctx.get_node_id()
    assert ctx.get_actor_id() is None
    # Ray logs a warning and returns None for the task id in the driver.
    assert ctx.get_task_id() is None


def test_runtime_context_in_tasks_and_actors(ray):
    @ray.remote
    def task_ids():
        c = ray.get_runtime_context()
        return c.get_job_id(), c.get_node_id(), c.get_actor_id(), c.get_task_id()

    @ray.remote
    class A:
        def ids(self):
            c = ray.get_runtime_context()
            return c.get_job_id(), c.get_node_id(), c.get_actor_id(), c.get_task_id()

    driver = ray.get_runtime_context()
    t1, t2 = ray.get([task_ids.remote(), task_ids.remote()])
    for job, node, actor, task in (t1, t2):
        assert job == driver.get_job_id()
        assert node == driver.get_node_id()
        assert actor is None
        assert isinstance(task, str) and task
    assert t1[3] != t2[3]

    a, b = A.remote(), A.remote()
    a1, a2, b1 = ray.get([a.ids.remote(), a.ids.remote(), b.ids.remote()])
    assert a1[0] == driver.get_job_id() and a1[1] == driver.get_node_id()
    assert isinstance(a1[2], str) and a1[2]
    assert a1[2] == a2[2]  # same actor, same id
    assert a1[2] != b1[2]
    assert a1[3] != a2[3]  # each call is its own task


def test_resources(ray):
    cluster = ray.cluster_resources()
    avail = ray.available_resources()
    assert isinstance(cluster, dict) and isinstance(avail, dict)
    assert isinstance(cluster["CPU"], float)
    assert cluster["CPU"] == 2.0
    # Ray drops a resource from available_resources() while all of it is in use.
    assert isinstance(avail.get("CPU", 0.0), float)
    assert 0.0 <= avail.get("CPU", 0.0) <= cluster["CPU"]


def test_nodes(ray):
    nodes = ray.nodes()
    assert isinstance(nodes, list) and len(nodes) == 1
    node = nodes[0]
    assert node["Alive"] is True
    assert isinstance(node["NodeID"], str)
    assert node["NodeID"] == ray.get_runtime_context().get_node_id()
    assert node["Resources"]["CPU"] == 2.0


def test_nodes_keys(ray):
    node = ray.nodes()[0]
    assert {"Alive", "alive", "NodeID", "NodeManagerAddress", "NodeManagerHostname",
            "NodeName", "Resources", "Labels", "DeathReason", "DeathReasonMessage",
            "NodeManagerPort", "ObjectManagerPort", "ObjectStoreSocketName",
            "RayletSocketName", "MetricsExportPort"} <= set(node)
    assert node["Labels"] == {"ray.io/node-id": node["NodeID"]}
    assert (node["DeathReason"], node["DeathReasonMessage"]) == (0, "")
    assert isinstance(node["NodeManagerPort"], int)


def test_node_ip_address_names_the_node_and_its_resource(ray):
    # A common way to pin work to a node: a small amount of its "node:<ip>" resource (or of
    # "node:__internal_head__", the head node's). On one machine, both exist.
    ip = ray.util.get_node_ip_address()
    assert isinstance(ip, str) and ip.count(".") == 3
    node = ray.nodes()[0]
    assert node["NodeManagerAddress"] == node["NodeName"] == ip
    resources = ray.cluster_resources()
    assert resources[f"node:{ip}"] == 1.0
    assert resources["node:__internal_head__"] == 1.0

    @ray.remote
    def where():
        return ray.util.get_node_ip_address(), ray.get_runtime_context().get_node_id()

    here = (ip, ray.get_runtime_context().get_node_id())
    pinned = [where.options(resources={f"node:{ip}": 0.01}),
              where.options(resources={"node:__internal_head__": 0.001})]
    assert ray.get([f.remote() for f in pinned]) == [here, here]


def test_actor_name_in_a_named_actor(ray):
    @ray.remote
    class Named:
        def name(self):
            return ray.get_runtime_context().get_actor_name()

    a = Named.options(name="rr_ctx_name_probe").remote()
    assert ray.get(a.name.remote()) == "rr_ctx_name_probe"
    ray.kill(a)
    assert ray.get(Named.remote().name.remote()) == ""  # an actor without a name

    @ray.remote
    def in_a_task():
        return ray.get_runtime_context().get_actor_name()

    assert ray.get(in_a_task.remote()) is None


def test_assigned_resources_and_placement_group(ray):
    @ray.remote
    def task():
        c = ray.get_runtime_context()
        return c.get_assigned_resources(), c.get_placement_group_id()

    @ray.remote
    class A:
        def res(self):
            return ray.get_runtime_context().get_assigned_resources()

    assert ray.get(task.remote()) == ({"CPU": 1.0}, None)
    assert ray.get(A.remote().res.remote()) == {}
    with pytest.raises(AssertionError):  # only workers hold resources
        ray.get_runtime_context().get_assigned_resources()
    assert ray.get_runtime_context().get_placement_group_id() is None
    assert ray.get_runtime_context().get_accelerator_ids()["GPU"] == []


def test_task_name_and_function_name_in_tasks(ray):
    # Ray names a task by its function's __name__ (or options(name=...)); the function name
    # is "<module>.<__name__>": a function nested in another counts by its own name.
    @ray.remote
    def names_probe():
        c = ray.get_runtime_context()
        return c.get_task_name(), c.get_task_function_name()

    assert ray.get(names_probe.remote()) == ("names_probe", f"{__name__}.names_probe")
    assert ray.get(names_probe.options(name="my task").remote()) == \
        ("my task", f"{__name__}.names_probe")
    ctx = ray.get_runtime_context()  # the driver runs no task
    assert ctx.get_task_name() is None
    assert ctx.get_task_function_name() is None


def test_task_name_and_function_name_in_actors(ray):
    class Base:
        def inherited(self):
            c = ray.get_runtime_context()
            return c.get_task_name(), c.get_task_function_name()

    @ray.remote
    class Probe(Base):
        def __init__(self):
            c = ray.get_runtime_context()
            self.at_init = c.get_task_name(), c.get_task_function_name(), c.get_task_id()

        def init_names(self):
            return self.at_init

        def names(self):
            c = ray.get_runtime_context()
            return c.get_task_name(), c.get_task_function_name(), c.get_task_id()

    p = Probe.remote()
    init_name, init_function, init_task = ray.get(p.init_names.remote())
    assert (init_name, init_function) == ("Probe.__init__", f"{__name__}.Probe.__init__")
    assert isinstance(init_task, str) and init_task  # the creation is a task too
    name, function, task = ray.get(p.names.remote())
    assert (name, function) == ("Probe.names", f"{__name__}.Probe.names")
    assert task != init_task
    # options(name=...) names the call; the method is still the function
    assert ray.get(p.names.options(name="renamed").remote())[:2] == \
        ("renamed", f"{__name__}.Probe.names")
    # a method inherited from a plain base class is the actor class's
    assert ray.get(p.inherited.remote()) == ("Probe.inherited", f"{__name__}.Probe.inherited")


def test_task_names_in_threaded_and_async_actors(ray):
    @ray.remote(max_concurrency=2)
    class Threaded:
        def names(self):
            c = ray.get_runtime_context()
            return c.get_task_name(), c.get_task_function_name(), c.get_task_id()

    @ray.remote
    class Async:
        async def names(self):
            c = ray.get_runtime_context()
            return c.get_task_name(), c.get_task_function_name(), c.get_task_id()

    # Ray names an async actor's class by its __qualname__ in function names, and the
    # others' by its __name__
    here = f"{__name__}.test_task_names_in_threaded_and_async_actors.<locals>"
    for cls, name, function in ((Threaded, "Threaded.names", f"{__name__}.Threaded.names"),
                                (Async, "Async.names", f"{here}.Async.names")):
        a = cls.remote()
        out = ray.get([a.names.remote() for _ in range(4)])
        assert {o[:2] for o in out} == {(name, function)}
        assert all(isinstance(o[2], str) for o in out)
        assert len({o[2] for o in out}) == 4  # each call has its own id


def test_task_names_and_ids_in_a_loop(ray):
    # A loop of the same calls: rayreact runs its later rounds compiled (tracer.py), where
    # each call still has its name and its own id.
    @ray.remote
    class Stepper:
        def step(self, i):
            c = ray.get_runtime_context()
            return i, c.get_task_name(), c.get_task_function_name(), c.get_task_id()

    s = Stepper.remote()
    out = [ray.get(s.step.remote(i)) for i in range(8)]
    assert [o[0] for o in out] == list(range(8))
    assert {o[1:3] for o in out} == {("Stepper.step", f"{__name__}.Stepper.step")}
    assert len({o[3] for o in out}) == 8


def test_deprecated_id_properties_and_get(ray):
    ctx = ray.get_runtime_context()
    with pytest.warns(DeprecationWarning, match="Use get_job_id"):
        job = ctx.job_id
    assert job.hex() == ctx.get_job_id() and repr(job) == f"JobID({ctx.get_job_id()})"
    assert not job.is_nil() and job == ctx.job_id
    with pytest.warns(DeprecationWarning, match="Use get_node_id"):
        assert ctx.node_id.hex() == ctx.get_node_id()
    for prop in ("task_id", "actor_id"):  # Ray asserts: only workers have them
        with pytest.warns(DeprecationWarning), pytest.raises(
                AssertionError, match="only available when the process is a"):
            getattr(ctx, prop)
    with pytest.warns(DeprecationWarning, match="Use get_placement_group_id"):
        pg = ctx.current_placement_group_id
    assert pg.is_nil() and pg.hex() == "ff" * 18
    with pytest.warns(DeprecationWarning, match="Use get_xxx_id"):
        info = ctx.get()
    assert sorted(info) == ["job_id", "namespace", "node_id"]
    assert info["job_id"].hex() == ctx.get_job_id() and info["namespace"] == ctx.namespace

    def in_worker():
        c = ray.get_runtime_context()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            info = c.get()
            actor = c.actor_id
            return (sorted(info), info["task_id"].hex() == c.get_task_id(),
                    c.task_id.hex() == c.get_task_id(),
                    None if actor is None else actor.hex() == c.get_actor_id())

    @ray.remote
    class A:
        def ids(self):
            return in_worker()

    assert ray.get(ray.remote(in_worker).remote()) == \
        (["job_id", "namespace", "node_id", "task_id"], True, True, None)
    assert ray.get(A.remote().ids.remote()) == \
        (["actor_id", "job_id", "namespace", "node_id", "task_id"], True, True, True)


def test_session_node_and_environment(ray):
    def info():
        c = ray.get_runtime_context()
        return (c.get_session_name(), c.get_temp_dir(), c.get_node_labels(),
                c.get_runtime_env_string(), dict(c.runtime_env),
                c.should_capture_child_tasks_in_placement_group)

    here = info()
    session, temp_dir, labels, env_string, env, capture = here
    ctx = ray.get_runtime_context()
    assert isinstance(session, str) and session.startswith("session_")
    assert os.path.isdir(temp_dir)
    assert labels == {"ray.io/node-id": ctx.get_node_id()}
    assert (env_string, env, capture) == ("{}", {}, False)
    assert ray.get(ray.remote(info).remote()) == here  # the same in a task
    with pytest.warns(DeprecationWarning, match="Use get_accelerator_ids"):
        assert ctx.get_resource_ids() == ctx.get_accelerator_ids()


def test_is_canceled_outside_a_cancellable_call_raises(ray):
    with pytest.raises(RuntimeError, match="only available when the process is a worker"):
        ray.get_runtime_context().is_canceled()

    @ray.remote
    class Async:
        async def check(self):
            try:
                ray.get_runtime_context().is_canceled()
            except RuntimeError as e:
                return str(e)

    assert ray.get(Async.remote().check.remote()) == \
        "This method is not supported in an async actor."


@pytest.mark.parametrize("max_concurrency", [1, 2])
def test_is_canceled_in_a_running_actor_call(ray, gate, max_concurrency):
    # Ray lets a running call of a sync or threaded actor see its cancellation.
    import threading

    def wait_until_canceled():  # polls for at most 60 s: the test cancels the call
        import time as _time

        c = ray.get_runtime_context()
        deadline = _time.monotonic() + 60
        while _time.monotonic() < deadline:
            if c.is_canceled():
                return True
            _time.sleep(0.005)
        return False

    @ray.remote(max_concurrency=max_concurrency)
    class Worker:
        def __init__(self):
            self.done = threading.Event()
            self.seen = None
            self.at_start = ray.get_runtime_context().is_canceled()

        def run(self, waiter, port):
            waiter(port)
            self.seen = wait_until_canceled()
            self.done.set()

        def result(self):
            self.done.wait(60)
            return self.at_start, self.seen

    w = Worker.remote()
    ref = w.run.remote(gate.waiter, gate.port)
    gate.entered()  # run() is running
    ray.cancel(ref)
    gate.release()
    with pytest.raises(ray.exceptions.TaskCancelledError):
        ray.get(ref, timeout=60)
    assert ray.get(w.result.remote(), timeout=60) == (False, True)


def test_is_canceled_in_a_task_after_its_keyboard_interrupt(ray):
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(60)
    port = srv.getsockname()[1]

    def spin(port):
        import socket as _socket
        import time as _time

        c = ray.get_runtime_context()
        conn = _socket.create_connection(("127.0.0.1", port))
        try:  # (the interrupt may come as soon as the first byte is sent)
            conn.sendall(b"T" if c.is_canceled() else b"F")
            deadline = _time.monotonic() + 60
            while _time.monotonic() < deadline:
                _time.sleep(0.01)
        except KeyboardInterrupt:
            conn.sendall(b"T" if c.is_canceled() else b"F")
        finally:
            conn.close()

    ref = ray.remote(spin).remote(port)
    conn, _ = srv.accept()
    conn.settimeout(60)
    assert conn.recv(1) == b"F"  # running, not cancelled
    ray.cancel(ref)
    assert conn.recv(1) == b"T"
    conn.close()
    srv.close()
    ray.wait([ref], timeout=60)
