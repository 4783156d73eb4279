"""Parameter server: synchronous and asynchronous training of a (tiny) torch model.

In the style of Ray's "Parameter Server" example: a ``ParameterServer`` actor holds the
model and an SGD optimizer; ``DataWorker`` actors compute gradients on their own data
shards with the weights they are given.

* Synchronous: each iteration, every worker computes a gradient from the current weights
  (a ref: workers start as soon as the server has produced it), and the server applies the
  sum of all of them at once: ``ps.apply_gradients.remote(*gradients)`` receives the refs as
  ``*args``, resolved to the gradients.
* Asynchronous: the server applies each gradient as soon as it arrives (``ray.wait`` loop)
  and the worker that produced it immediately starts on the new weights.

The synchronous run is fully deterministic (seeded data and initialisation, gradients summed
in worker order), so its losses are printed. The asynchronous run applies gradients in
completion order, which depends on timing: only its update count and a reached accuracy are
reported.
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import ray

NUM_WORKERS = 2
ITERATIONS = 30
BATCH_SIZE = 32
LR = 0.2
IN_DIM, HIDDEN, NUM_CLASSES = 8, 16, 3


def make_dataset(seed, n):
    """A separable 3-class problem: the label is the argmax of three fixed projections."""
    g = torch.Generator().manual_seed(seed)
    proj = torch.Generator().manual_seed(1234)
    w = torch.randn(IN_DIM, NUM_CLASSES, generator=proj)
    x = torch.randn(n, IN_DIM, generator=g)
    y = (x @ w).argmax(dim=1)
    return x, y


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(IN_DIM, HIDDEN)
        self.fc2 = nn.Linear(HIDDEN, NUM_CLASSES)

    def forward(self, x):
        return F.log_softmax(self.fc2(F.relu(self.fc1(x))), dim=1)

    def get_weights(self):
        return {k: v.cpu() for k, v in self.state_dict().items()}

    def set_weights(self, weights):
        self.load_state_dict(weights)

    def get_gradients(self):
        return [p.grad.data.cpu().numpy() for p in self.parameters()]

    def set_gradients(self, gradients):
        for g, p in zip(gradients, self.parameters()):
            if g is not None:
                p.grad = torch.from_numpy(g)


def new_model():
    torch.manual_seed(0)
    return TinyNet()


def evaluate(model, data):
    x, y = data
    model.eval()
    with torch.no_grad():
        out = model(x)
        loss = F.nll_loss(out, y).item()
        accuracy = (out.argmax(dim=1) == y).float().mean().item()
    return loss, accuracy


@ray.remote
class ParameterServer:
    def __init__(self, lr):
        self.model = new_model()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=lr)
        self.updates = 0

    def apply_gradients(self, *gradients):
        summed_gradients = [
            np.stack(gradient_zip).sum(axis=0) for gradient_zip in zip(*gradients)
        ]
        self.optimizer.zero_grad()
        self.model.set_gradients(summed_gradients)
        self.optimizer.step()
        self.updates += 1
        return self.model.get_weights()

    def get_weights(self):
        return self.model.get_weights()

    def num_updates(self):
        return self.updates


@ray.remote
class DataWorker:
    def __init__(self, worker_index):
        self.model = new_model()
        self.x, self.y = make_dataset(seed=100 + worker_index, n=BATCH_SIZE * 8)
        self.batch = 0

    def compute_gradients(self, weights):
        self.model.set_weights(weights)
        start = (self.batch % 8) * BATCH_SIZE
        self.batch += 1
        data, target = self.x[start:start + BATCH_SIZE], self.y[start:start + BATCH_SIZE]
        self.model.zero_grad()
        output = self.model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        return self.model.get_gradients()


if __name__ == "__main__":
    ray.init()
    torch.set_num_threads(1)
    test_data = make_dataset(seed=7, n=500)
    model = new_model()
    loss0, acc0 = evaluate(model, test_data)
    print(f"initial: loss {loss0:.4f} accuracy {acc0:.3f}")

    # ------------------------------------------------------------------ synchronous
    ps = ParameterServer.remote(LR)
    workers = [DataWorker.remote(i) for i in range(NUM_WORKERS)]

    current_weights = ps.get_weights.remote()
    for i in range(ITERATIONS):
        gradients = [worker.compute_gradients.remote(current_weights) for worker in workers]
        # Calculate the updated weights.
        current_weights = ps.apply_gradients.remote(*gradients)
        if i % 10 == 9:
            model.set_weights(ray.get(current_weights))
            loss, accuracy = evaluate(model, test_data)
            print(f"sync iteration {i + 1}: loss {loss:.4f} accuracy {accuracy:.3f}")

    sync_loss, sync_accuracy = evaluate(model, test_data)
    assert ray.get(ps.num_updates.remote()) == ITERATIONS
    assert sync_loss < loss0 and sync_accuracy >= 0.8, (sync_loss, sync_accuracy)

    # The same training done serially in the driver gives the same weights.
    serial = new_model()
    shards = [make_dataset(seed=100 + w, n=BATCH_SIZE * 8) for w in range(NUM_WORKERS)]
    for i in range(ITERATIONS):
        grads = []
        for x, y in shards:
            s = (i % 8) * BATCH_SIZE
            serial.zero_grad()
            F.nll_loss(serial(x[s:s + BATCH_SIZE]), y[s:s + BATCH_SIZE]).backward()
            grads.append([p.grad.detach().numpy().copy() for p in serial.parameters()])
        summed = [np.stack(z).sum(axis=0) for z in zip(*grads)]
        with torch.no_grad():  # plain SGD step, as torch.optim.SGD(lr=LR) does it
            for p, g in zip(serial.parameters(), summed):
                p.add_(torch.from_numpy(g), alpha=-LR)
    for k, v in serial.get_weights().items():
        assert torch.allclose(v, model.get_weights()[k], atol=1e-6), k
    print("sync weights match a serial run")

    # ------------------------------------------------------------------ asynchronous
    # A fresh server (new model); the same data workers.
    ps = ParameterServer.remote(LR)

    current_weights = ps.get_weights.remote()
    gradients = {}
    for worker in workers:
        gradients[worker.compute_gradients.remote(current_weights)] = worker

    for i in range(ITERATIONS * NUM_WORKERS):
        ready_gradient_list, _ = ray.wait(list(gradients))
        ready_gradient_id = ready_gradient_list[0]
        worker = gradients.pop(ready_gradient_id)

        # Compute and apply gradients.
        current_weights = ps.apply_gradients.remote(*[ready_gradient_id])
        gradients[worker.compute_gradients.remote(current_weights)] = worker

    model.set_weights(ray.get(current_weights))
    async_loss, async_accuracy = evaluate(model, test_data)
    async_updates = ray.get(ps.num_updates.remote())
    assert async_updates == ITERATIONS * NUM_WORKERS
    assert async_loss < loss0 and async_accuracy >= 0.8, (async_loss, async_accuracy)
    ray.get(list(gradients))  # the last gradients, computed but never applied
    print(f"async: {async_updates} updates applied, accuracy >= 0.8")
    print("parameter_server: OK")
