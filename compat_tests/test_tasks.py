"""Tasks: argument passing, refs between tasks, nested and recursive tasks."""

import os

import pytest


def test_many_tasks_results_in_order(ray):
    @ray.remote
    def sq(x):
        return x * x

    assert ray.get([sq.remote(i) for i in range(100)]) == [i * i for i in range(100)]


def test_tasks_run_in_other_processes(ray):
    @ray.remote
    def pid():
        return os.getpid()

    assert ray.get(pid.remote()) != os.getpid()


def test_closure_values_are_captured(ray):
    factor = 7
    table = {"k": [1, 2, 3]}

    @ray.remote
    def use(x):
        return x * factor + sum(table["k"])

    assert ray.get(use.remote(2)) == 20


def test_arguments_are_copies(ray):
    @ray.remote
    def mutate(lst):
        lst.append("task")
        return lst

    data = [1]
    assert ray.get(mutate.remote(data)) == [1, "task"]
    assert data == [1]


def test_top_level_ref_arguments_are_resolved(ray):
    @ray.remote
    def describe(a, b=None):
        return type(a).__name__, a, type(b).__name__, b

    r1 = ray.put(5)
    r2 = ray.put("five")
    assert ray.get(describe.remote(r1, b=r2)) == ("int", 5, "str", "five")


def test_nested_ref_arguments_stay_refs(ray):
    @ray.remote
    def inspect(lst, dct):
        assert isinstance(lst[0], ray.ObjectRef)
        assert isinstance(dct["k"], ray.ObjectRef)
        return ray.get(lst[0]) + ray.get(dct["k"])

    r1 = ray.put(1)
    r2 = ray.put(2)
    assert ray.get(inspect.remote([r1], {"k": r2})) == 3


def test_task_waits_for_its_argument(ray, gate):
    blocked = ray.remote(gate.waiter)

    @ray.remote
    def upper(s):
        return s.upper()

    b = blocked.remote(gate.port)
    gate.entered()
    dependent = upper.remote(b)
    assert ray.wait([dependent], timeout=0) == ([], [dependent])
    gate.release()
    assert ray.get(dependent) == "X"


def test_refs_chain_between_tasks(ray):
    @ray.remote
    def inc(x):
        return x + 1

    ref = ray.put(0)
    for _ in range(10):
        ref = inc.remote(ref)
    assert ray.get(ref) == 10


def test_task_returning_refs(ray):
    @ray.remote
    def make_ref():
        return ray.put("inner")

    @ray.remote
    def make_list():
        return [ray.put(1), ray.put(2)]

    # A ref returned by a task arrives as a ref (it is not resolved for the caller).
    inner = ray.get(make_ref.remote())
    assert isinstance(inner, ray.ObjectRef)
    assert ray.get(inner) == "inner"
    assert ray.get(ray.get(make_list.remote())) == [1, 2]


def test_nested_tasks(ray):
    @ray.remote
    def leaf(x):
        return x * 10

    @ray.remote
    def parent(n):
        return sum(ray.get([leaf.remote(i) for i in range(n)]))

    assert ray.get(parent.remote(5)) == 100
    assert ray.get([parent.remote(3), parent.remote(4)]) == [30, 60]


def test_recursive_tree_of_tasks(ray):
    def make():
        @ray.remote
        def tree(depth):
            if depth == 0:
                return 1
            return sum(ray.get([tree.remote(depth - 1) for _ in range(2)]))

        return tree

    assert ray.get(make().remote(3)) == 8


def test_refs_passed_between_tasks_and_actors(ray):
    @ray.remote
    def produce():
        return [1, 2, 3]

    @ray.remote
    class Store:
        def __init__(self):
            self.held = None

        def hold(self, wrapped):
            self.held = wrapped[0]  # nested: stays a ref
            return isinstance(self.held, ray.ObjectRef)

        def total(self, resolved):  # top level: resolved
            return sum(resolved) + sum(ray.get(self.held))

    @ray.remote
    def plus_one(x):
        return x + 1

    ref = produce.remote()
    s = Store.remote()
    assert ray.get(s.hold.remote([ref])) is True
    assert ray.get(s.total.remote(ref)) == 12
    # An actor call's ref passed on to a task.
    assert ray.get(plus_one.remote(s.total.remote(ref))) == 13


def test_a_task_whose_worker_dies_is_retried(ray, tmp_path):
    marker = tmp_path / "crashed-once"

    @ray.remote(max_retries=2)
    def flaky(path):
        import os
        if not os.path.exists(path):
            open(path, "w").close()
            os._exit(1)  # the worker dies on the first attempt
        return "second attempt"

    assert ray.get(flaky.remote(str(marker))) == "second attempt"


def test_a_task_with_no_retries_left_fails_with_worker_crashed_error(ray):
    @ray.remote(max_retries=0)
    def die():
        import os
        os._exit(1)

    with pytest.raises(ray.exceptions.WorkerCrashedError):
        ray.get(die.remote())


def test_sys_exit_in_a_task_is_a_worker_crash(ray):
    # Ray: the worker process exits; the task is retried (max_retries) and then fails with
    # WorkerCrashedError, which is not a SystemExit (an uncaught one must not end the driver
    # quietly). The runtime stays usable.
    import sys

    @ray.remote
    class Counter:
        def __init__(self):
            self.n = 0

        def inc(self):
            self.n += 1

        def get(self):
            return self.n

    @ray.remote(max_retries=1)
    def exiter(counter):
        ray.get(counter.inc.remote())
        sys.exit(3)

    @ray.remote
    def fine():
        return "ok"

    counter = Counter.remote()
    with pytest.raises(ray.exceptions.WorkerCrashedError) as info:
        ray.get(exiter.remote(counter))
    assert not isinstance(info.value, SystemExit)
    assert ray.get(counter.get.remote()) == 2  # the first run and one retry
    assert ray.get(fine.remote()) == "ok"
