"""A tree of actors: actors creating actors.

In the style of Ray's pattern "Using a supervisor actor to manage a tree of actors": a
``Supervisor`` actor creates ``Worker`` actors in its constructor and spreads work over
them; here the tree is two levels deep (supervisor -> team leads -> workers), and each
team lead also hands the driver its workers' handles (the driver calls them directly).
"""

import ray


@ray.remote
class Worker:
    def __init__(self, name):
        self.name = name
        self.done = 0

    def work(self, x):
        self.done += 1
        return x * x

    def stats(self):
        return self.name, self.done


@ray.remote
class TeamLead:
    def __init__(self, name, num_workers):
        self.name = name
        self.workers = [Worker.remote(f"{name}.w{i}") for i in range(num_workers)]

    def work(self, items):
        refs = [self.workers[i % len(self.workers)].work.remote(x) for i, x in enumerate(items)]
        return sum(ray.get(refs))

    def get_workers(self):
        return self.workers


@ray.remote
class Supervisor:
    def __init__(self, num_leads, workers_per_lead):
        self.leads = [TeamLead.remote(f"lead{i}", workers_per_lead) for i in range(num_leads)]

    def work(self, items):
        shards = [items[i::len(self.leads)] for i in range(len(self.leads))]
        return sum(ray.get([lead.work.remote(shard) for lead, shard in zip(self.leads, shards)]))

    def get_leads(self):
        return self.leads


if __name__ == "__main__":
    ray.init()

    sup = Supervisor.remote(2, 2)
    total = ray.get(sup.work.remote(list(range(100))))
    assert total == sum(x * x for x in range(100))
    print(f"sum of squares of range(100): {total}")

    # Walk the tree from the driver: handles created by actors are usable here too.
    leads = ray.get(sup.get_leads.remote())
    workers = [w for ws in ray.get([lead.get_workers.remote() for lead in leads]) for w in ws]
    stats = sorted(ray.get([w.stats.remote() for w in workers]))
    print(f"workers and their call counts: {stats}")
    assert [n for _, n in stats] == [25, 25, 25, 25]
    assert ray.get(workers[0].work.remote(7)) == 49
    print("tree_of_actors: OK")
