"""get_runtime_context, available_resources, cluster_resources, nodes."""

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
