"""A simple MapReduce with Ray Core: word count.

In the style of Ray's "A Simple MapReduce Example with Ray Core": the corpus is split into
partitions; one map task per partition emits (word, 1) pairs already shuffled into
NUM_PARTITIONS buckets and returns each bucket as a separate object
(``.options(num_returns=NUM_PARTITIONS)``); one reduce task per bucket receives the matching
bucket of every map task as ``*args`` (refs passed as top-level arguments are resolved before
the reduce task runs) and adds up the counts.
"""

import collections

import ray

NUM_PARTITIONS = 3

ZEN = """
Beautiful is better than ugly. Explicit is better than implicit.
Simple is better than complex. Complex is better than complicated.
Flat is better than nested. Sparse is better than dense.
Readability counts. Special cases aren't special enough to break the rules.
Although practicality beats purity. Errors should never pass silently.
Unless explicitly silenced. In the face of ambiguity, refuse the temptation to guess.
There should be one-- and preferably only one --obvious way to do it.
Although that way may not be obvious at first unless you're Dutch.
Now is better than never. Although never is often better than *right* now.
If the implementation is hard to explain, it's a bad idea.
If the implementation is easy to explain, it may be a good idea.
Namespaces are one honking great idea -- let's do more of those!
"""


def map_function(document):
    for word in document.lower().split():
        word = "".join(c for c in word if c.isalpha() or c == "'")
        if word:
            yield word, 1


@ray.remote
def apply_map(corpus, num_partitions=3):
    map_results = [list() for _ in range(num_partitions)]
    for document in corpus:
        for word, count in map_function(document):
            map_results[ord(word[0]) % num_partitions].append((word, count))
    return map_results


@ray.remote
def apply_reduce(*results):
    reduce_results = dict()
    for res in results:
        for key, value in res:
            reduce_results[key] = reduce_results.get(key, 0) + value
    return reduce_results


if __name__ == "__main__":
    ray.init()

    lines = [line for line in ZEN.strip().splitlines()]
    corpus = [lines[i::4] for i in range(4)]  # four map partitions of the documents

    # Each map task returns NUM_PARTITIONS objects: map_results[i][j] is bucket j of task i.
    map_results = [
        apply_map.options(num_returns=NUM_PARTITIONS).remote(data, NUM_PARTITIONS)
        for data in corpus
    ]
    assert all(len(refs) == NUM_PARTITIONS for refs in map_results)
    assert all(isinstance(ref, ray.ObjectRef) for refs in map_results for ref in refs)

    outputs = []
    for i in range(NUM_PARTITIONS):
        outputs.append(apply_reduce.remote(*[partition[i] for partition in map_results]))

    counts = {k: v for output in ray.get(outputs) for k, v in output.items()}

    # Every word landed in exactly one reducer, and the counts match a local count.
    per_reducer = ray.get(outputs)
    assert sum(len(r) for r in per_reducer) == len(counts)
    for i, r in enumerate(per_reducer):
        assert all(ord(w[0]) % NUM_PARTITIONS == i for w in r)
    expected = collections.Counter(w for doc in lines for w, _ in map_function(doc))
    assert counts == dict(expected), "map-reduce counts differ from a local count"

    sorted_counts = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    print(f"distinct words: {len(counts)}, total words: {sum(counts.values())}")
    for word, count in sorted_counts[:10]:
        print(f"{word}: {count}")
    print("map_reduce: OK")
