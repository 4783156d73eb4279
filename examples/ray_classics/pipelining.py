"""Pipelining: actors that call other actors.

Two patterns from Ray's documentation:

1. "Using pipelining to increase throughput": a ``WorkQueue`` actor hands out work items;
   ``Worker`` actors (given the queue's handle) pull from it. The pipelined worker asks
   for the next item *before* processing the current one, so fetching overlaps work.
2. A chain of stage actors (preprocess -> model -> postprocess): each stage holds the
   handle of the next one and calls it from inside its own method, returning the final
   result to the driver.

Which worker processed which item depends on timing, so only sorted results are printed.
"""

import ray


@ray.remote
class WorkQueue:
    def __init__(self, num_items):
        self.queue = list(range(num_items))

    def get_work_item(self):
        if self.queue:
            return self.queue.pop(0)
        else:
            return None


def process(work_item):
    return work_item * work_item


@ray.remote
class WorkerWithoutPipelining:
    def __init__(self, work_queue):
        self.work_queue = work_queue

    def run(self):
        done = []
        while True:
            # Get the work item from the remote queue, then process it.
            work_item = ray.get(self.work_queue.get_work_item.remote())
            if work_item is None:
                break
            done.append((work_item, process(work_item)))
        return done


@ray.remote
class WorkerWithPipelining:
    def __init__(self, work_queue):
        self.work_queue = work_queue

    def run(self):
        done = []
        self.work_item_ref = self.work_queue.get_work_item.remote()
        while True:
            # Get the work item from the remote queue.
            work_item = ray.get(self.work_item_ref)
            if work_item is None:
                break
            # Request the next item before processing this one: the fetch overlaps the work.
            self.work_item_ref = self.work_queue.get_work_item.remote()
            done.append((work_item, process(work_item)))
        return done


@ray.remote
class Postprocess:
    def run(self, scores):
        return {"label": max(range(len(scores)), key=scores.__getitem__), "scores": scores}


@ray.remote
class Model:
    def __init__(self, post):
        self.post = post
        self.weights = [[1, -1, 2], [0, 3, -1], [2, 1, 0]]
        self.calls = 0

    def run(self, features):
        self.calls += 1
        scores = [sum(w * f for w, f in zip(row, features)) for row in self.weights]
        # Call the next stage and wait for it.
        return ray.get(self.post.run.remote(scores))

    def num_calls(self):
        return self.calls


@ray.remote
class Preprocess:
    def __init__(self, model):
        self.model = model

    def run(self, text):
        features = [len(text), text.count("a"), sum(map(ord, text)) % 7]
        # Return the next stage's ref: the driver's ray.get resolves it.
        return self.model.run.remote(features)


if __name__ == "__main__":
    ray.init()
    NUM_ITEMS = 30

    # 1. One queue, two workers of each kind pulling from it concurrently.
    work_queue = WorkQueue.remote(NUM_ITEMS)
    workers = [WorkerWithoutPipelining.remote(work_queue) for _ in range(2)]
    workers += [WorkerWithPipelining.remote(work_queue) for _ in range(2)]
    per_worker = ray.get([worker.run.remote() for worker in workers])
    everything = sorted(pair for done in per_worker for pair in done)
    assert [item for item, _ in everything] == list(range(NUM_ITEMS)), "lost or duplicated items"
    for done in per_worker:  # each worker got its items in queue order
        assert [item for item, _ in done] == sorted(item for item, _ in done)
    print(f"processed {len(everything)} items, sum of results {sum(r for _, r in everything)}")
    assert ray.get(work_queue.get_work_item.remote()) is None

    # 2. A chain of actors: Preprocess -> Model -> Postprocess.
    post = Postprocess.remote()
    model = Model.remote(post)
    pre = Preprocess.remote(model)
    texts = ["banana", "ray", "pipeline", "actor", "a"]
    outer_refs = [pre.run.remote(text) for text in texts]
    inner_refs = ray.get(outer_refs)  # each is a ref returned by Model.run
    assert all(isinstance(ref, ray.ObjectRef) for ref in inner_refs)
    results = ray.get(inner_refs)
    for text, result in zip(texts, results):
        print(f"{text}: label {result['label']} scores {result['scores']}")
    assert ray.get(model.num_calls.remote()) == len(texts)
    print("pipelining: OK")
