"""Monte Carlo estimation of pi, with a progress actor.

In the style of Ray's "Monte Carlo Estimation of π" example: sampling tasks throw random
points into the square [-1, 1]^2 and count those inside the unit circle; each task reports
its progress to a ``ProgressActor`` whose handle is passed to it as an argument, and the
driver watches the progress while the tasks run.

Each task seeds its own generator with its task id, so the estimate is the same on every
run. The tasks wait for their *last* progress report to be recorded before returning, so
once all results are in, the progress is exactly 100%.
"""

import math
import random

import ray

NUM_SAMPLING_TASKS = 4
NUM_SAMPLES_PER_TASK = 100_000
TOTAL_NUM_SAMPLES = NUM_SAMPLING_TASKS * NUM_SAMPLES_PER_TASK
REPORT_EVERY = 10_000


@ray.remote
class ProgressActor:
    def __init__(self, total_num_samples: int):
        self.total_num_samples = total_num_samples
        self.num_samples_completed_per_task = {}

    def report_progress(self, task_id: int, num_samples_completed: int) -> None:
        self.num_samples_completed_per_task[task_id] = num_samples_completed

    def get_progress(self) -> float:
        return (
            sum(self.num_samples_completed_per_task.values()) / self.total_num_samples
        )


@ray.remote
def sampling_task(num_samples: int, task_id: int, progress_actor: ray.actor.ActorHandle) -> int:
    rng = random.Random(task_id)
    num_inside = 0
    for i in range(num_samples):
        x, y = rng.uniform(-1, 1), rng.uniform(-1, 1)
        if math.hypot(x, y) <= 1:
            num_inside += 1

        # Report progress every REPORT_EVERY samples (fire and forget).
        if (i + 1) % REPORT_EVERY == 0:
            progress_actor.report_progress.remote(task_id, i + 1)

    # The last report is awaited: it is recorded before this task's result is ready.
    ray.get(progress_actor.report_progress.remote(task_id, num_samples))
    return num_inside


if __name__ == "__main__":
    ray.init()

    # Create the progress actor.
    progress_actor = ProgressActor.remote(TOTAL_NUM_SAMPLES)

    # Create and execute all sampling tasks in parallel.
    results = [
        sampling_task.remote(NUM_SAMPLES_PER_TASK, i, progress_actor)
        for i in range(NUM_SAMPLING_TASKS)
    ]

    # Query progress periodically until every task is done (not printed: how far the
    # tasks got at a given moment depends on timing).
    observed = []
    pending = list(results)
    while pending:
        _, pending = ray.wait(pending, num_returns=len(pending), timeout=0.2)
        observed.append(ray.get(progress_actor.get_progress.remote()))
    assert all(0.0 <= p <= 1.0 for p in observed)
    assert observed == sorted(observed), "progress went backwards"
    progress = ray.get(progress_actor.get_progress.remote())
    print(f"Progress: {int(progress * 100)}%")
    assert progress == 1.0

    # Get all the sampling tasks results.
    per_task = ray.get(results)
    total_num_inside = sum(per_task)
    pi = (total_num_inside * 4) / TOTAL_NUM_SAMPLES
    print(f"samples inside the circle per task: {per_task}")
    print(f"Estimated value of π is: {pi}")

    # The same sampling done in the driver gives the same counts.
    def count_inside(task_id):
        rng = random.Random(task_id)
        return sum(
            math.hypot(rng.uniform(-1, 1), rng.uniform(-1, 1)) <= 1
            for _ in range(NUM_SAMPLES_PER_TASK)
        )

    assert per_task == [count_inside(i) for i in range(NUM_SAMPLING_TASKS)]
    assert abs(pi - math.pi) < 0.02, pi
    print("monte_carlo_pi: OK")
