"""Timeouts: ``ray.get(..., timeout=...)`` and ``ray.wait(..., timeout=...)``.

In the style of Ray's "ray.get with a timeout" tip: ``ray.get(ref, timeout=t)`` raises
``GetTimeoutError`` (also a ``TimeoutError``) if the object is not ready within ``t``
seconds, and the work keeps running: a later ``ray.get`` returns its result. The long
running task here waits for a ``Signal`` actor the driver sends only after the timeout, so
the outcome does not depend on how fast the machine is.
"""

import asyncio

import ray
from ray.exceptions import GetTimeoutError


@ray.remote
class Signal:
    def __init__(self):
        self.ready_event = asyncio.Event()

    def send(self):
        self.ready_event.set()

    async def wait(self):
        await self.ready_event.wait()


@ray.remote
def long_running_function(signal):
    ray.get(signal.wait.remote())
    return "done"


@ray.remote
def quick(x):
    return x + 1


if __name__ == "__main__":
    ray.init()
    signal = Signal.remote()

    obj_ref = long_running_function.remote(signal)
    try:
        ray.get(obj_ref, timeout=0.5)
        raise AssertionError("get should have timed out")
    except GetTimeoutError:
        print("`get` timed out.")
    try:
        ray.get([quick.remote(1), obj_ref], timeout=0.2)  # a list times out as a whole
        raise AssertionError("get should have timed out")
    except TimeoutError:  # GetTimeoutError is a TimeoutError
        print("`get` of a list timed out (as a TimeoutError).")

    # ray.wait with a timeout returns what is ready so far.
    fast = quick.remote(41)
    assert ray.get(fast) == 42  # now it is ready for sure
    ready, not_ready = ray.wait([fast, obj_ref], num_returns=2, timeout=0.5)
    assert ready == [fast] and not_ready == [obj_ref]
    print(f"wait: {len(ready)} ready, {len(not_ready)} not ready; ready value {ray.get(ready[0])}")

    # A timeout of 0 just checks.
    assert ray.get(fast, timeout=0) == 42
    assert ray.wait([obj_ref], timeout=0) == ([], [obj_ref])

    # Release the task: the same ref now gives its result.
    ray.get(signal.send.remote())
    print(f"after the signal: {ray.get(obj_ref, timeout=60)}")
    print("get_timeout: OK")
