"""A tree of tasks: recursive, nested remote functions.

In the style of Ray's pattern "Using nested tasks to achieve nested parallelism": a
distributed quicksort where each task partitions its input and sorts the two halves in two
child tasks, then waits for them (``ray.get`` inside a task). A second tree sums a range by
splitting it in halves, passing the children's refs on instead of waiting for them: the
parent returns ``[left_ref, right_ref]`` and the driver walks the tree of refs.
"""

import random

import ray

LEAF_SIZE = 1000


@ray.remote
def quick_sort_distributed(collection):
    if len(collection) <= LEAF_SIZE:
        return sorted(collection)
    pivot = collection[0]
    lesser = [x for x in collection[1:] if x <= pivot]
    greater = [x for x in collection[1:] if x > pivot]
    lesser = quick_sort_distributed.remote(lesser)
    greater = quick_sort_distributed.remote(greater)
    return ray.get(lesser) + [pivot] + ray.get(greater)


@ray.remote
def count_tasks(depth, fanout):
    """A full tree of the given depth and fanout: returns the number of tasks in it."""
    if depth == 0:
        return 1
    children = [count_tasks.remote(depth - 1, fanout) for _ in range(fanout)]
    return 1 + sum(ray.get(children))


@ray.remote
def tree_sum(lo, hi):
    """Sum of range(lo, hi): a leaf returns an int, an inner node the refs of its halves."""
    if hi - lo <= 1000:
        return sum(range(lo, hi))
    mid = (lo + hi) // 2
    return [tree_sum.remote(lo, mid), tree_sum.remote(mid, hi)]


def resolve(node):
    value = ray.get(node)
    if isinstance(value, list):
        return sum(resolve(child) for child in value)
    return value


if __name__ == "__main__":
    ray.init()

    rng = random.Random(42)
    unsorted = [rng.randint(0, 10**6) for _ in range(10_000)]
    result = ray.get(quick_sort_distributed.remote(unsorted))
    assert result == sorted(unsorted)
    print(f"sorted {len(result)} numbers: first {result[:3]} last {result[-3:]}")

    n = ray.get(count_tasks.remote(3, 2))
    assert n == 1 + 2 + 4 + 8
    print(f"a tree of depth 3 and fanout 2 ran {n} tasks")

    total = resolve(tree_sum.remote(0, 10_000))
    assert total == sum(range(10_000))
    print(f"tree sum of range(10000): {total}")
    print("tree_of_tasks: OK")
