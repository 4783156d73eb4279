"""Stopping work: ``ray.cancel`` for tasks, ``ray.kill`` for actors.

In the style of Ray's "Cancelling tasks" and "Terminating actors" guides:

* ``ray.cancel(ref)`` on a running task that is blocked (here: waiting on a ``Signal`` actor
  that never fires; a second ``Signal`` tells the driver the task has started) makes
  ``ray.get(ref)`` raise ``TaskCancelledError``, for one task or many;
* ``ray.cancel(ref, force=True)`` kills the worker running the task: ``ray.get`` raises
  ``TaskCancelledError`` (or ``WorkerCrashedError``, as Ray's documentation allows);
* ``ray.kill(actor)`` ends an actor at once: the call it was running and every later call
  raise ``RayActorError`` (``ActorDiedError``); other actors and tasks are unaffected.
"""

import asyncio

import ray
from ray.exceptions import RayActorError, TaskCancelledError, WorkerCrashedError


@ray.remote(num_cpus=0)
class Signal:
    def __init__(self):
        self.ready_event = asyncio.Event()

    def send(self):
        self.ready_event.set()

    async def wait(self):
        await self.ready_event.wait()


@ray.remote
def blocking_operation(signal, started=None):
    if started is not None:
        started.send.remote()  # tell the driver this task is running
    ray.get(signal.wait.remote())  # blocks until the signal is sent
    return "finished"


@ray.remote
def add(a, b):
    return a + b


@ray.remote
class Worker:
    def __init__(self):
        self.calls = 0

    def work(self, x):
        self.calls += 1
        return x * 2

    def block(self, signal, started):
        started.send.remote()
        ray.get(signal.wait.remote())
        return "unblocked"


if __name__ == "__main__":
    ray.init()
    never = Signal.remote()  # never sent

    # Cancel a running task, blocked in ray.get.
    started = Signal.remote()
    obj_ref = blocking_operation.remote(never, started)
    ray.get(started.wait.remote())  # the task is running now
    ray.cancel(obj_ref)
    try:
        ray.get(obj_ref)
        raise AssertionError("a cancelled task should not return")
    except TaskCancelledError:
        print("Object reference was cancelled.")

    # Cancel many running tasks: all of them are cancelled. Each is cancelled once it has
    # started: Ray 2.60 may hang a ray.get on a task cancelled while its worker is being
    # handed the task (ray-project/ray#46157 and kin), a race this program must not depend on.
    starts = [Signal.remote() for _ in range(6)]
    refs = [blocking_operation.remote(never, s) for s in starts]
    ray.get([s.wait.remote() for s in starts])  # all six are running now
    for ref in refs:
        ray.cancel(ref)
    outcomes = []
    for ref in refs:
        try:
            ray.get(ref)
            outcomes.append("finished")
        except TaskCancelledError:
            outcomes.append("cancelled")
    print(f"cancelled tasks: {outcomes}")
    assert outcomes == ["cancelled"] * 6

    # Force-cancel: the worker running the task is killed.
    started = Signal.remote()
    obj_ref = blocking_operation.remote(never, started)
    ray.get(started.wait.remote())
    ray.cancel(obj_ref, force=True)
    try:
        ray.get(obj_ref)
        raise AssertionError("a force-cancelled task should not return")
    except (TaskCancelledError, WorkerCrashedError):
        print("force-cancelled task: cancelled")

    # Tasks still run normally afterwards.
    assert ray.get(add.remote(1, 2)) == 3

    # Kill an actor: its running call and later calls fail; others are unaffected.
    worker = Worker.remote()
    bystander = Worker.remote()
    assert ray.get(worker.work.remote(21)) == 42
    started = Signal.remote()
    running = worker.block.remote(never, started)
    ray.get(started.wait.remote())  # the call is running now
    ray.kill(worker)
    for name, ref in [("running call", running), ("later call", worker.work.remote(1))]:
        try:
            ray.get(ref)
            raise AssertionError(f"{name} on a killed actor should fail")
        except RayActorError:
            print(f"{name} on a killed actor: RayActorError")
    assert ray.get(bystander.work.remote(5)) == 10
    print(f"bystander actor still works: {ray.get(bystander.work.remote(50))}")
    print("cancel_and_kill: OK")
