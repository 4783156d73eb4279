"""Actors: state, ordering, processes, handles, named actors, kill and death."""

import os
import time
import uuid

import pytest

# A module global: each actor process has its own copy, the driver's never changes.
GLOBAL_LIST = []


def _unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_actor_state_and_constructor_args(ray):
    @ray.remote
    class Account:
        def __init__(self, owner, balance=0):
            self.owner = owner
            self.balance = balance

        def deposit(self, x):
            self.balance += x
            return self.balance

        def info(self):
            return self.owner, self.balance

    a = Account.remote("ann", balance=10)
    b = Account.remote("bob")
    assert ray.get([a.deposit.remote(5), b.deposit.remote(1), a.deposit.remote(5)]) == [
        15,
        1,
        20,
    ]
    assert ray.get(a.info.remote()) == ("ann", 20)
    assert ray.get(b.info.remote()) == ("bob", 1)
    assert isinstance(a, ray.actor.ActorHandle)


def test_calls_from_one_caller_run_in_submission_order(ray):
    @ray.remote
    class Log:
        def __init__(self):
            self.items = []

        def append(self, x):
            self.items.append(x)

        def read(self):
            return list(self.items)

    log = Log.remote()
    for i in range(200):
        log.append.remote(i)  # results never fetched
    assert ray.get(log.read.remote()) == list(range(200))


def test_each_actor_is_its_own_process_with_own_globals(ray):
    @ray.remote
    class G:
        def bump(self):
            GLOBAL_LIST.append(1)
            return len(GLOBAL_LIST)

        def pid(self):
            return os.getpid()

    a, b = G.remote(), G.remote()
    assert ray.get([a.bump.remote(), a.bump.remote(), a.bump.remote()]) == [1, 2, 3]
    assert ray.get(b.bump.remote()) == 1
    assert GLOBAL_LIST == []
    pa, pb = ray.get([a.pid.remote(), b.pid.remote()])
    assert pa != pb
    assert os.getpid() not in (pa, pb)


def test_actor_handles_passed_to_tasks_and_actors(ray):
    @ray.remote
    class Counter:
        def __init__(self):
            self.n = 0

        def inc(self):
            self.n += 1
            return self.n

        def get(self):
            return self.n

    @ray.remote
    def bump_in_task(counter, times):
        for _ in range(times):
            ray.get(counter.inc.remote())
        return ray.get(counter.get.remote())

    @ray.remote
    class Caller:
        def __init__(self, counter):
            self.counter = counter

        def bump(self, times):
            return ray.get([self.counter.inc.remote() for _ in range(times)])[-1]

        def bump_other(self, other_counter):
            return ray.get(other_counter.inc.remote())

    c = Counter.remote()
    assert ray.get(bump_in_task.remote(c, 3)) == 3
    caller = Caller.remote(c)
    assert ray.get(caller.bump.remote(4)) == 7
    assert ray.get(caller.bump_other.remote(c)) == 8
    assert ray.get(c.get.remote()) == 8

    @ray.remote
    def bump_all(counters):  # handles inside a container
        return ray.get([h.inc.remote() for h in counters])

    c2 = Counter.remote()
    assert ray.get(bump_all.remote([c, c2])) == [9, 1]


def test_actor_calling_actor_chain(ray):
    @ray.remote
    class Node:
        def __init__(self, nxt=None):
            self.nxt = nxt

        def depth(self):
            if self.nxt is None:
                return 1
            return 1 + ray.get(self.nxt.depth.remote())

    tail = Node.remote()
    mid = Node.remote(tail)
    head = Node.remote(mid)
    assert ray.get(head.depth.remote()) == 3


def test_named_actor_lookup(ray):
    @ray.remote
    class Box:
        def __init__(self):
            self.v = None

        def set(self, v):
            self.v = v

        def get(self):
            return self.v

    name = _unique("box")
    box = Box.options(name=name).remote()
    ray.get(box.set.remote("first"))
    same = ray.get_actor(name)
    assert ray.get(same.get.remote()) == "first"

    # get_if_exists returns the existing actor (the constructor does not run again).
    again = Box.options(name=name, get_if_exists=True).remote()
    assert ray.get(again.get.remote()) == "first"
    fresh = Box.options(name=_unique("box"), get_if_exists=True).remote()
    assert ray.get(fresh.get.remote()) is None

    # A taken name: Ray raises ActorAlreadyExistsError, a ValueError.
    with pytest.raises(ray.exceptions.ActorAlreadyExistsError):
        Box.options(name=name).remote()
    assert issubclass(ray.exceptions.ActorAlreadyExistsError, ValueError)

    with pytest.raises(ValueError):
        ray.get_actor(_unique("missing"))
    with pytest.raises(ValueError):
        ray.get_actor("")
    with pytest.raises(TypeError):
        ray.get_actor(5)


def test_a_named_actor_goes_out_of_scope_with_its_last_handle(ray):
    # Ray: a named actor that is not detached is garbage collected like any other once its
    # creator drops every handle (those from get_actor included), and its name is free
    # again. Ray frees it a moment later (rayreact at once): the test polls, bounded.
    @ray.remote
    class Box:
        def __init__(self, v):
            self.v = v

        def get(self):
            return self.v

    name = _unique("scoped")

    def use(v):
        h = Box.options(name=name).remote(v)
        looked_up = ray.get_actor(name)
        return ray.get([h.get.remote(), looked_up.get.remote()])

    def name_is_free():
        try:
            ray.get_actor(name)
        except ValueError:
            return True
        return False

    for v in (1, 2):
        assert use(v) == [v, v]
        deadline = time.monotonic() + 30
        while not name_is_free():
            assert time.monotonic() < deadline, "the named actor outlived its handles"
            time.sleep(0.05)
        assert name not in ray.util.list_named_actors()


def test_named_actor_namespaces(ray):
    @ray.remote
    class Tag:
        def __init__(self, tag):
            self.tag = tag

        def get(self):
            return self.tag

    name = _unique("tagged")
    other = Tag.options(name=name, namespace="compat_other").remote("other")
    assert ray.get(other.get.remote()) == "other"
    with pytest.raises(ValueError):
        ray.get_actor(name)  # not in the current namespace
    assert ray.get(ray.get_actor(name, namespace="compat_other").get.remote()) == "other"
    # The same name is free in the current namespace.
    mine = Tag.options(name=name).remote("mine")
    assert ray.get(ray.get_actor(name).get.remote()) == "mine"
    assert ray.get(mine.get.remote()) == "mine"


def test_actor_survives_exception_in_method(ray):
    @ray.remote
    class A:
        def __init__(self):
            self.n = 0

        def inc(self):
            self.n += 1
            return self.n

        def fail(self):
            raise KeyError("k")

    a = A.remote()
    assert ray.get(a.inc.remote()) == 1
    with pytest.raises(KeyError) as info:
        ray.get(a.fail.remote())
    assert isinstance(info.value, ray.exceptions.RayTaskError)
    assert ray.get(a.inc.remote()) == 2


def test_unknown_method_raises_attribute_error(ray):
    @ray.remote
    class A:
        def m(self):
            return 1

    a = A.remote()
    with pytest.raises(AttributeError):
        a.no_such_method
    with pytest.raises(AttributeError):
        a.no_such_method.remote()
    assert ray.get(a.m.remote()) == 1


def test_kill_then_calls_raise_actor_error(ray):
    @ray.remote
    class A:
        def ping(self):
            return "pong"

    a = A.remote()
    assert ray.get(a.ping.remote()) == "pong"
    ray.kill(a)
    # The kill may take effect asynchronously: keep calling until the error arrives.
    for _ in range(10_000):
        try:
            ray.get(a.ping.remote())
        except ray.exceptions.RayActorError:
            break
    else:
        pytest.fail("calls on a killed actor kept succeeding")
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(a.ping.remote())
    ray.kill(a)  # killing a dead actor is fine


def test_kill_non_actor_raises_value_error(ray):
    with pytest.raises(ValueError):
        ray.kill("not an actor")


def test_actor_process_exit_fails_pending_and_later_calls(ray):
    @ray.remote
    class Fragile:
        def ping(self):
            return "pong"

        def die(self):
            os._exit(1)

    a = Fragile.remote()
    assert ray.get(a.ping.remote()) == "pong"
    die_ref = a.die.remote()
    queued = [a.ping.remote() for _ in range(3)]
    with pytest.raises(ray.exceptions.RayActorError) as info:
        ray.get(die_ref)
    assert isinstance(info.value, ray.exceptions.ActorDiedError)
    for ref in queued:
        with pytest.raises(ray.exceptions.ActorDiedError):
            ray.get(ref)
    with pytest.raises(ray.exceptions.ActorDiedError):
        ray.get(a.ping.remote())


def test_constructor_error_makes_calls_raise_actor_died(ray):
    # Ray: the calls raise ActorDiedError (not a RayTaskError of the KeyError).
    @ray.remote
    class Broken:
        def __init__(self):
            raise KeyError("nope")

        def ping(self):
            return "pong"

    b = Broken.remote()
    with pytest.raises(ray.exceptions.ActorDiedError):
        ray.get(b.ping.remote())


def test_exit_actor_ends_the_actor_and_fails_its_call(ray):
    @ray.remote
    class Quitter:
        def ping(self):
            return "pong"

        def quit(self):
            ray.actor.exit_actor()

    a = Quitter.remote()
    assert ray.get(a.ping.remote()) == "pong"
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(a.quit.remote())
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(a.ping.remote())


def test_exit_actor_outside_an_actor_raises_type_error(ray):
    with pytest.raises(TypeError):
        ray.actor.exit_actor()


def test_object_ref_ids_have_rays_length(ray):
    ref = ray.put(1)
    assert len(ref.binary()) == 28
    assert len(ref.hex()) == 56


def test_max_restarts_starts_a_dead_actor_again(ray):
    @ray.remote(max_restarts=1)
    class Phoenix:
        def __init__(self):
            self.n = 0

        def inc(self):
            self.n += 1
            return self.n

        def reconstructed(self):
            return ray.get_runtime_context().was_current_actor_reconstructed

        def die(self):
            os._exit(1)

    a = Phoenix.remote()
    assert ray.get([a.inc.remote(), a.inc.remote()]) == [1, 2]
    assert ray.get(a.reconstructed.remote()) is False
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(a.die.remote())
    # The restart takes a moment: calls made meanwhile may fail; then the state is fresh.
    for _ in range(10_000):
        try:
            n = ray.get(a.inc.remote())
            break
        except ray.exceptions.RayActorError:
            pass
    else:
        raise AssertionError("the actor was not restarted")
    assert n == 1
    assert ray.get(a.reconstructed.remote()) is True
    # Its one restart is used: the next death is final.
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(a.die.remote())
    for _ in range(10_000):
        try:
            ray.get(a.inc.remote())
        except ray.exceptions.RayActorError:
            break
    else:
        raise AssertionError("a second death should be final")


def test_a_restartable_actor_restarts_max_restarts_times_and_queues_calls_meanwhile(ray):
    # As Ray: the call the actor died in fails with ActorUnavailableError (it may restart);
    # a call made right after waits for the restart instead of failing; the death after the
    # last restart is final (ActorDiedError), for that call and every later one.
    @ray.remote(max_restarts=3)
    class Mortal:
        def ping(self):
            return os.getpid()

        def die(self):
            os._exit(1)

    def ping_after_restart():
        # Ray 2.60 may still fail a call made while the restart is under way with
        # ActorUnavailableError ("The actor is restarting": documented as transient; seen in
        # CI under load, 2026-12-03), so the oracle tries again; rayreact's call waits.
        for _ in range(1 if ray.__name__ == "rayreact" else 50):
            try:
                return ray.get(a.ping.remote())
            except ray.exceptions.ActorUnavailableError:
                if ray.__name__ == "rayreact":
                    raise
                time.sleep(0.1)  # (Ray's restart takes a while; nothing to wait on here)
        return ray.get(a.ping.remote())

    a = Mortal.remote()
    pids = [ray.get(a.ping.remote())]
    for _ in range(3):
        with pytest.raises(ray.exceptions.ActorUnavailableError):
            ray.get(a.die.remote())
        pids.append(ping_after_restart())
    assert len(set(pids)) == 4  # three restarts, each a new process
    with pytest.raises(ray.exceptions.ActorDiedError):
        ray.get(a.die.remote())
    with pytest.raises(ray.exceptions.ActorDiedError):
        ray.get(a.ping.remote())


def test_max_task_retries_runs_a_call_again_on_the_restarted_actor(ray, tmp_path):
    marker = tmp_path / "died-once"

    @ray.remote(max_restarts=1, max_task_retries=1)
    class Once:
        def work(self, path):
            if not os.path.exists(path):
                open(path, "w").close()
                os._exit(1)  # dies during the first attempt only
            return "done on the restarted actor"

    a = Once.remote()
    assert ray.get(a.work.remote(str(marker))) == "done on the restarted actor"


def test_max_pending_calls_refuses_calls_beyond_the_limit(ray, tmp_path):
    # Ray counts the calls a handle's process submitted to the actor that have not finished;
    # one more than max_pending_calls raises PendingCallsLimitExceeded at .remote(), and
    # calls are accepted again once earlier ones finish.
    gate = tmp_path / "gate"

    @ray.remote(max_pending_calls=2)
    class Slow:
        def wait(self, path):
            import os
            import time

            while not os.path.exists(path):  # held until the test opens the gate
                time.sleep(0.01)
            return 1

    a = Slow.remote()
    first = [a.wait.remote(str(gate)), a.wait.remote(str(gate))]
    with pytest.raises(ray.exceptions.PendingCallsLimitExceeded) as info:
        a.wait.remote(str(gate))
    assert "max_pending_calls" in str(info.value)
    assert isinstance(info.value, ray.exceptions.RayError)
    gate.touch()
    assert ray.get(first) == [1, 1]
    # Ray takes finished calls off its count shortly after get returns: poll (bounded).
    deadline = time.monotonic() + 10
    while True:
        try:
            again = [a.wait.remote(str(gate)), a.wait.remote(str(gate))]
            break
        except ray.exceptions.PendingCallsLimitExceeded:
            assert time.monotonic() < deadline, "calls still refused after the first finished"
            time.sleep(0.01)
    assert ray.get(again) == [1, 1]


def test_max_pending_calls_below_minus_one_is_refused(ray):
    class C:
        pass

    ray.remote(max_pending_calls=0)(C)
    ray.remote(max_pending_calls=-1)(C)
    with pytest.raises(ValueError, match="max_pending_calls"):
        ray.remote(max_pending_calls=-2)(C)


def test_ray_ready_is_true_once_the_actor_is_up(ray):
    @ray.remote
    class A:
        def __init__(self):
            self.x = 1

    assert ray.get(A.remote().__ray_ready__.remote()) is True


def test_a_callable_actor_class_is_called_with_dunder_call(ray):
    @ray.remote
    class Model:
        def __init__(self, k):
            self.k = k

        def __call__(self, x):
            return x * self.k

    m = Model.remote(3)
    assert ray.get(m.__call__.remote(5)) == 15
    assert "Actor" in repr(m)  # the handle's own dunders are untouched


def test_calls_run_when_their_argument_and_result_refs_are_dropped(ray):
    # The replay-buffer pattern: buffer.add.remote(worker.sample.remote()), keeping neither
    # ref. Ray runs every such call; the argument stays alive until the call has run.
    @ray.remote
    class Worker:
        def sample(self):
            return [1, 2, 3]

    @ray.remote
    class Buffer:
        def __init__(self):
            self.items = []

        def add(self, batch):
            self.items.extend(batch)

        def size(self):
            return len(self.items)

    @ray.remote
    def pair():
        return [4, 5]

    worker, buffer = Worker.remote(), Buffer.remote()
    for _ in range(5):
        buffer.add.remote(worker.sample.remote())
    for _ in range(5):
        buffer.add.remote(batch=pair.remote())  # a task's result, as a keyword argument
    assert ray.get(buffer.size.remote()) == 25


def test_ray_terminate_ends_the_actor_after_its_queued_calls(ray):
    @ray.remote
    class Counter:
        def __init__(self):
            self.n = 0

        def inc(self):
            self.n += 1
            return self.n

    c = Counter.remote()
    queued = [c.inc.remote() for _ in range(3)]
    end = c.__ray_terminate__.remote()
    assert ray.get(queued) == [1, 2, 3]
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(end)
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(c.inc.remote())
