"""Limiting the number of pending tasks with a ``ray.wait`` back-pressure loop.

In the style of Ray's pattern "Using ray.wait to limit the number of pending tasks":
submitting thousands of calls at once queues them all (and all their arguments); instead,
keep at most MAX_NUM_PENDING_TASKS in flight and wait for one to finish before submitting
the next. Shown with an actor (calls queue at the actor) and with tasks, where results are
also processed as they finish (the pattern "Using ray.wait to process results in
finishing order").
"""

import ray

NUM_TASKS = 1000
MAX_NUM_PENDING_TASKS = 100


@ray.remote
class Actor:
    def __init__(self):
        self.calls = 0

    def heavy_compute(self, i):
        self.calls += 1
        return sum(range(i % 100))

    def num_calls(self):
        return self.calls


@ray.remote
def square(x):
    return x * x


if __name__ == "__main__":
    ray.init()

    # An actor: at most MAX_NUM_PENDING_TASKS calls are pending at any time.
    actor = Actor.remote()
    result_refs = []
    total = 0
    max_pending = 0
    for i in range(NUM_TASKS):
        if len(result_refs) > MAX_NUM_PENDING_TASKS:
            # update result_refs to only track the remaining tasks.
            ready_refs, result_refs = ray.wait(result_refs, num_returns=1)
            total += sum(ray.get(ready_refs))
        result_refs.append(actor.heavy_compute.remote(i))
        max_pending = max(max_pending, len(result_refs))
    total += sum(ray.get(result_refs))
    assert max_pending <= MAX_NUM_PENDING_TASKS + 1
    assert total == sum(sum(range(i % 100)) for i in range(NUM_TASKS))
    assert ray.get(actor.num_calls.remote()) == NUM_TASKS
    print(f"actor: {NUM_TASKS} calls, at most {MAX_NUM_PENDING_TASKS + 1} pending, total {total}")

    # Tasks: a window of 20, results consumed in the order they finish.
    window = 20
    pending = []
    results = []
    for x in range(300):
        if len(pending) >= window:
            done, pending = ray.wait(pending, num_returns=1)
            results.extend(ray.get(done))
        pending.append(square.remote(x))
        assert len(pending) <= window
    while pending:
        done, pending = ray.wait(pending, num_returns=min(5, len(pending)))
        results.extend(ray.get(done))
    assert sorted(results) == [x * x for x in range(300)]
    print(f"tasks: {len(results)} results, sum {sum(results)}")
    print("limit_pending_tasks: OK")
