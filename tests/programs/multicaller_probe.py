"""Several callers of one actor, for tests/test_determinism.py: tasks and actors the driver
called, tasks those started, and the driver itself, all call one ``Logger`` actor,
synchronously and not. Prints
the logger's log as JSON: with ordering by logical tag it is the order a serial run would
make the calls in, whatever the timing.

    python multicaller_probe.py NUM_CPUS [deterministic(0|1)]
"""

import json
import sys

import rayreact as ray


@ray.remote
class Logger:
    def __init__(self):
        self.log = []

    def record(self, *item):
        self.log.append(list(item))
        return len(self.log)

    def get(self):
        return self.log


@ray.remote
def task_writer(logger, i, n):
    for j in range(n):
        ray.get(logger.record.remote("task", i, j))
    logger.record.remote("task-no-wait", i)
    return i


@ray.remote
def spawner(logger, i):
    # Calls from several processes within one driver call: its subtasks call the logger.
    return ray.get([task_writer.remote(logger, 10 * i + k, 2) for k in range(3)])


@ray.remote
class ActorWriter:
    def __init__(self, i, logger):
        self.i = i
        self.logger = logger

    def run(self, n):
        refs = [self.logger.record.remote("actor", self.i, j) for j in range(n)]
        return ray.get(refs)[-1]

    def fan_out(self):
        # An actor whose tasks call the logger, while the actor calls it too.
        refs = [task_writer.remote(self.logger, 100 * self.i + k, 1) for k in range(2)]
        self.logger.record.remote("fan-out", self.i)
        return ray.get(refs)


def main():
    num_cpus = int(sys.argv[1])
    deterministic = len(sys.argv) < 3 or sys.argv[2] == "1"
    ray.init(num_cpus=num_cpus, deterministic=deterministic)
    logger = Logger.remote()
    writers = [ActorWriter.remote(i, logger) for i in range(3)]
    logger.record.remote("driver", 0)
    refs = [task_writer.remote(logger, i, 3) for i in range(4)]
    arefs = [w.run.remote(2) for w in writers]
    logger.record.remote("driver", 1)
    ray.get(refs + arefs)
    for t in range(3):  # rounds: the writers in turn
        ray.get([w.run.remote(1) for w in writers])
    ray.get([spawner.remote(logger, i) for i in range(2)])
    ray.get([w.fan_out.remote() for w in writers[:2]])
    logger.record.remote("driver", 2)
    print(json.dumps(ray.get(logger.get.remote())))
    ray.shutdown()


if __name__ == "__main__":
    main()
