"""Batch inference with ``ray.util.ActorPool``.

In the style of Ray's ActorPool documentation and its batch-inference pattern: a few
``Model`` actors each load a (small, seeded) NumPy model once, and an ``ActorPool`` spreads
batches of inputs over them:

* ``pool.map`` yields the results in input order;
* ``pool.map_unordered`` yields them as they finish (sorted here before printing);
* ``pool.submit`` / ``pool.get_next`` feed and drain the pool one batch at a time
  (``has_next`` says when everything was collected); ``get_next_unordered`` takes whichever
  is ready first;
* ``push`` adds an actor to the pool, ``pop_idle`` takes idle ones out.
"""

import numpy as np

import ray
from ray.util import ActorPool

IN_DIM, OUT_DIM = 16, 4


def make_batches(num_batches, batch_size, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((batch_size, IN_DIM)) for _ in range(num_batches)]


def load_model():
    rng = np.random.default_rng(1234)  # every actor "loads" the same weights
    return rng.standard_normal((IN_DIM, OUT_DIM)), rng.standard_normal(OUT_DIM)


@ray.remote
class Model:
    def __init__(self):
        self.w, self.b = load_model()
        self.num_batches = 0

    def predict(self, batch):
        self.num_batches += 1
        return (batch @ self.w + self.b).argmax(axis=1)

    def predict_with_id(self, item):
        batch_id, batch = item
        return batch_id, self.predict(batch)

    def count(self):
        return self.num_batches


if __name__ == "__main__":
    ray.init()

    actors = [Model.remote() for _ in range(3)]
    pool = ActorPool(actors)
    batches = make_batches(num_batches=12, batch_size=64)
    w, b = load_model()
    expected = [(batch @ w + b).argmax(axis=1) for batch in batches]

    # map: results in input order.
    predictions = list(pool.map(lambda actor, batch: actor.predict.remote(batch), batches))
    assert len(predictions) == len(batches)
    assert all(np.array_equal(p, e) for p, e in zip(predictions, expected))
    print(f"map: class counts per batch {[np.bincount(p, minlength=OUT_DIM).tolist() for p in predictions[:4]]} ...")

    # map_unordered: completion order; tag each result with its batch id.
    unordered = list(pool.map_unordered(
        lambda actor, item: actor.predict_with_id.remote(item), list(enumerate(batches))))
    assert sorted(i for i, _ in unordered) == list(range(len(batches)))
    for i, p in unordered:
        assert np.array_equal(p, expected[i])
    print(f"map_unordered: {len(unordered)} batches, ids {sorted(i for i, _ in unordered)}")

    # submit / get_next: ordered, one at a time.
    for batch in batches[:5]:
        pool.submit(lambda actor, batch: actor.predict.remote(batch), batch)
    ordered = []
    while pool.has_next():
        ordered.append(pool.get_next())
    assert all(np.array_equal(p, e) for p, e in zip(ordered, expected[:5]))
    print(f"submit/get_next: {len(ordered)} results in order, totals {[int(p.sum()) for p in ordered]}")

    # submit / get_next_unordered.
    for i in range(5, 12):
        pool.submit(lambda actor, item: actor.predict_with_id.remote(item), (i, batches[i]))
    got = []
    while pool.has_next():
        got.append(pool.get_next_unordered())
    assert sorted(i for i, _ in got) == list(range(5, 12))
    print(f"submit/get_next_unordered: ids {sorted(i for i, _ in got)}")

    # Every batch was run by one of the pool's actors.
    counts = ray.get([actor.count.remote() for actor in actors])
    assert sum(counts) == 12 + 12 + 5 + 7 and all(c > 0 for c in counts), counts
    print(f"batches run by the pool: {sum(counts)}")

    # Grow the pool with push, shrink it with pop_idle.
    extra = Model.remote()
    pool.push(extra)
    assert pool.has_free()
    predictions = list(pool.map(lambda actor, batch: actor.predict.remote(batch), batches[:8]))
    assert all(np.array_equal(p, e) for p, e in zip(predictions, expected[:8]))
    assert ray.get(extra.count.remote()) > 0  # the first 4 batches went to 4 idle actors
    removed = [pool.pop_idle() for _ in range(4)]
    assert all(a is not None for a in removed) and pool.pop_idle() is None
    assert not pool.has_free()
    print("push / pop_idle: the pool grew to 4 actors and was emptied")
    print("actor_pool_inference: OK")
