import ray

# Synchronised parallel Q-learning, the paper's shape (its public benchmark code, on Blackjack-v1).
#
# Each round:
#   1. the learner (in the driver) broadcasts its Q-network weights (a state dict of numpy
#      arrays) to NUM_ACTORS RolloutActors;
#   2. every RolloutActor takes 100 epsilon-greedy (epsilon 0.1) steps in its own Blackjack-v1
#      and returns its experiences;
#   3. the driver hands all experiences (1,600) to one ReplayBufferActor, which stores them and
#      returns a random batch of B;
#   4. the learner takes one gradient step (Adam, lr 0.01, gamma 0.99, MSE loss) on that batch;
#      the target network is synced every 10 rounds.
# The Q-network is a 3-32-2 MLP. Time per round is the metric.

import time

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn

OBS_DIM = 3
NUM_ACTIONS = 2


class QNetwork(nn.Module):
    def __init__(self, input_size=OBS_DIM, hidden_size=32, output_size=NUM_ACTIONS):
        super().__init__()
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.fc2 = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


@ray.remote
class RolloutActor:
    def __init__(self, seed):
        torch.set_num_threads(1)
        self.env = gym.make("Blackjack-v1")
        self.env.action_space.seed(seed)
        self.rng = np.random.default_rng(seed)
        self.q_net = QNetwork()
        self.state, _ = self.env.reset(seed=seed)

    def rollout(self, weights, epsilon, num_steps):
        self.q_net.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
        states = np.empty((num_steps, OBS_DIM), dtype=np.float32)
        next_states = np.empty((num_steps, OBS_DIM), dtype=np.float32)
        actions = np.empty(num_steps, dtype=np.int64)
        rewards = np.empty(num_steps, dtype=np.float32)
        dones = np.empty(num_steps, dtype=np.float32)
        with torch.no_grad():
            for i in range(num_steps):
                states[i] = self.state
                if self.rng.random() < epsilon:
                    action = int(self.rng.integers(NUM_ACTIONS))
                else:
                    action = int(self.q_net(torch.from_numpy(states[i])).argmax())
                next_state, reward, terminated, truncated, _ = self.env.step(action)
                next_states[i] = next_state
                actions[i] = action
                rewards[i] = reward
                dones[i] = float(terminated or truncated)
                if terminated or truncated:
                    next_state, _ = self.env.reset()
                self.state = next_state
        return {"state": states, "action": actions, "reward": rewards,
                "next_state": next_states, "done": dones}


@ray.remote
class ReplayBufferActor:
    """The paper's deque of experiences (maxlen 20,000), as a ring of numpy arrays."""

    def __init__(self, capacity, seed):
        self.capacity = capacity
        self.rng = np.random.default_rng(seed)
        self.data = None
        self.pos = 0
        self.size = 0

    def add_and_sample(self, experiences, batch_size):
        if self.data is None:
            self.data = {k: np.zeros((self.capacity,) + v.shape[1:], dtype=v.dtype)
                         for k, v in experiences[0].items()}
        for exp in experiences:
            n = len(exp["action"])
            idx = (self.pos + np.arange(n)) % self.capacity
            for k, v in exp.items():
                self.data[k][idx] = v
            self.pos = (self.pos + n) % self.capacity
            self.size = min(self.size + n, self.capacity)
        j = self.rng.integers(0, self.size, size=min(batch_size, self.size))
        return {k: v[j] for k, v in self.data.items()}


class Learner:
    def __init__(self, seed, lr=0.01, gamma=0.99):
        torch.manual_seed(seed)
        self.q_net = QNetwork()
        self.target_net = QNetwork()
        self.target_net.load_state_dict(self.q_net.state_dict())
        self.optimizer = torch.optim.Adam(self.q_net.parameters(), lr=lr)
        self.gamma = gamma
        self.rounds = 0

    def weights(self):
        return {k: v.detach().numpy().copy() for k, v in self.q_net.state_dict().items()}

    def update(self, batch):
        states = torch.tensor(batch["state"])
        actions = torch.tensor(batch["action"])
        rewards = torch.tensor(batch["reward"])
        next_states = torch.tensor(batch["next_state"])
        dones = torch.tensor(batch["done"])
        q = self.q_net(states).gather(1, actions.unsqueeze(-1)).squeeze(-1)
        with torch.no_grad():
            target = rewards + self.gamma * self.target_net(next_states).max(1)[0] * (1 - dones)
        loss = nn.functional.mse_loss(q, target)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.rounds += 1
        if self.rounds % 10 == 0:
            self.target_net.load_state_dict(self.q_net.state_dict())
        return loss.item()


def setup(num_actors, steps_per_round=100, buffer_capacity=20_000, seed=0):
    torch.set_num_threads(1)
    learner = Learner(seed)
    actors = [RolloutActor.remote(seed + 1 + i) for i in range(num_actors)]
    buffer = ReplayBufferActor.remote(buffer_capacity, seed)
    state = {"learner": learner, "actors": actors, "buffer": buffer,
             "steps_per_round": steps_per_round}
    _rounds(state, 1, batch_size=32)  # waits for every actor to be up
    return state


def teardown(state):
    # Explicitly: a handle kept alive elsewhere (e.g. by a torn-down compiled graph) would
    # otherwise keep the actor running through the next workloads.
    for actor in state["actors"] + [state["buffer"]]:
        ray.kill(actor)
    state.clear()


def _rounds(state, rounds, batch_size, epsilon=0.1):
    learner, actors, buffer = state["learner"], state["actors"], state["buffer"]
    reward_sum = 0.0
    loss = float("nan")
    for _ in range(rounds):
        weights = learner.weights()
        experiences = ray.get([a.rollout.remote(weights, epsilon, state["steps_per_round"])
                               for a in actors])
        reward_sum += float(sum(e["reward"].sum() for e in experiences))
        batch = ray.get(buffer.add_and_sample.remote(experiences, batch_size))
        loss = learner.update(batch)
    return reward_sum, loss


def measure(state, batch_size, rounds):
    t0 = time.perf_counter()
    reward_sum, loss = _rounds(state, rounds, batch_size)
    elapsed = time.perf_counter() - t0
    return {"rounds": rounds, "seconds": elapsed, "s_per_round": elapsed / rounds,
            "reward_sum": round(reward_sum, 6), "loss": round(loss, 6)}
