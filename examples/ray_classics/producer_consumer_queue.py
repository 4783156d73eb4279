"""Producers and consumers connected by ``ray.util.queue.Queue``.

In the style of Ray's ``ray.util.queue`` documentation: a bounded queue is created in the
driver and passed to tasks and actors. Two producer tasks put items (blocking while the
queue is full), then one end-of-stream marker per consumer; three consumer actors take
items until they see a marker (two with the blocking ``get``, one async actor with
``await queue.get_async()``). Which consumer got which item depends on timing: only
sorted and summed results are printed.
"""

import ray
from ray.util.queue import Empty, Full, Queue

NUM_PRODUCERS = 2
NUM_CONSUMERS = 3
ITEMS_PER_PRODUCER = 50
DONE = None  # end-of-stream marker


@ray.remote
def producer(queue, producer_id, num_items):
    for i in range(num_items):
        queue.put((producer_id, i))  # blocks while the queue is full
    return num_items


@ray.remote
class Consumer:
    def __init__(self, queue):
        self.queue = queue
        self.consumed = []

    def run(self):
        while True:
            item = self.queue.get(block=True)
            if item is DONE:
                return len(self.consumed)
            self.consumed.append(item)

    def items(self):
        return self.consumed


@ray.remote
class AsyncConsumer:
    def __init__(self, queue):
        self.queue = queue
        self.consumed = []

    async def run(self):
        while True:
            item = await self.queue.get_async(block=True)
            if item is DONE:
                return len(self.consumed)
            self.consumed.append(item)

    async def items(self):
        return self.consumed


if __name__ == "__main__":
    ray.init()

    queue = Queue(maxsize=10)
    consumers = [Consumer.remote(queue) for _ in range(NUM_CONSUMERS - 1)]
    consumers.append(AsyncConsumer.remote(queue))
    consuming = [c.run.remote() for c in consumers]
    produced = ray.get([producer.remote(queue, p, ITEMS_PER_PRODUCER) for p in range(NUM_PRODUCERS)])
    for _ in range(NUM_CONSUMERS):
        queue.put(DONE)
    counts = ray.get(consuming)
    assert sum(counts) == sum(produced) == NUM_PRODUCERS * ITEMS_PER_PRODUCER

    per_consumer = ray.get([c.items.remote() for c in consumers])
    everything = sorted(item for items in per_consumer for item in items)
    assert everything == [(p, i) for p in range(NUM_PRODUCERS) for i in range(ITEMS_PER_PRODUCER)]
    for items in per_consumer:  # FIFO: each producer's items arrive in order
        for p in range(NUM_PRODUCERS):
            mine = [i for q, i in items if q == p]
            assert mine == sorted(mine)
    print(f"consumed {len(everything)} items, sum of indexes {sum(i for _, i in everything)}")
    assert queue.empty() and queue.size() == 0

    # The non-blocking calls, from the driver.
    queue.put_nowait_batch(list(range(10)))
    assert queue.full() and queue.qsize() == 10
    try:
        queue.put_nowait("one too many")
        raise AssertionError("put_nowait on a full queue should raise Full")
    except Full:
        print("put_nowait on a full queue: Full")
    print(f"get_nowait_batch(4): {queue.get_nowait_batch(4)}")
    print(f"get: {queue.get()}, get_nowait: {queue.get_nowait()}, left: {len(queue)}")
    queue.get_nowait_batch(len(queue))
    try:
        queue.get(block=True, timeout=0.5)
        raise AssertionError("get on an empty queue should time out")
    except Empty:
        print("get(timeout=0.5) on an empty queue: Empty")
    queue.shutdown()
    print("producer_consumer_queue: OK")
