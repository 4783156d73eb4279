import ray

# Multi-agent inference, the paper's shape: one PolicyActor per agent.
#
# Every step the driver sends the joint observation (one row per agent) to every PolicyActor;
# each runs its policy network (Linear(obs, 64)-ReLU-Linear(64, n_actions)-softmax, argmax) on
# its own row and returns its action; the driver steps the joint environment:
#
#     actions = ray.get([p.act.remote(joint_obs) for p in policies[:agents]])
#
# The paper used ma-gym's TrafficJunction (not installable here); GridJunction, the same
# stand-in as examples/multi_agent_inference.py, is used instead. One set of MAX_AGENTS actors
# serves every case: a case with fewer agents uses the first ones (the observation size does
# not depend on the number of agents).

import time

import numpy as np
import torch
import torch.nn as nn

# action -> (dx, dy): stay, up, down, left, right
MOVES = np.array([[0, 0], [0, -1], [0, 1], [-1, 0], [1, 0]], dtype=np.int64)
VIEW_RADIUS = 2
OBS_DIM = 6 + (2 * VIEW_RADIUS + 1) ** 2


class GridJunction:
    """N agents on a size x size grid, each heading for its own goal cell (see
    examples/multi_agent_inference.py): own position, goal, offset and a 5x5 occupancy window."""

    def __init__(self, n_agents, size=12, max_steps=100, seed=0):
        self.n_agents = n_agents
        self.size = size
        self.r = VIEW_RADIUS
        self.max_steps = max_steps
        self.n_actions = len(MOVES)
        self.rng = np.random.default_rng(seed)

    def _free_cells(self, k):
        cells = self.rng.choice(self.size * self.size, size=k, replace=False)
        return np.array([[c % self.size, c // self.size] for c in cells], dtype=np.int64)

    def reset(self):
        self.t = 0
        self.pos = self._free_cells(self.n_agents)
        self.goal = self._free_cells(self.n_agents)
        return self._observe()

    def _observe(self):
        s, r = self.size, self.r
        occ = np.zeros((s + 2 * r, s + 2 * r), dtype=np.float32)
        occ[self.pos[:, 1] + r, self.pos[:, 0] + r] = 1.0
        obs = np.empty((self.n_agents, OBS_DIM), dtype=np.float32)
        obs[:, 0:2] = self.pos / s
        obs[:, 2:4] = self.goal / s
        obs[:, 4:6] = (self.goal - self.pos) / s
        for i, (x, y) in enumerate(self.pos):
            window = occ[y:y + 2 * r + 1, x:x + 2 * r + 1].copy()
            window[r, r] = 0.0
            obs[i, 6:] = window.ravel()
        return obs

    def step(self, actions):
        self.t += 1
        rewards = np.full(self.n_agents, -0.01, dtype=np.float32)
        occupied = {(int(x), int(y)) for x, y in self.pos}
        for i in range(self.n_agents):
            x, y = self.pos[i]
            nx, ny = np.clip(self.pos[i] + MOVES[int(actions[i])], 0, self.size - 1)
            if (nx, ny) != (x, y):
                if (int(nx), int(ny)) in occupied:
                    rewards[i] -= 0.1
                else:
                    occupied.discard((int(x), int(y)))
                    occupied.add((int(nx), int(ny)))
                    self.pos[i] = (nx, ny)
            if (self.pos[i] == self.goal[i]).all():
                rewards[i] += 1.0
                self.goal[i] = self._free_cells(1)[0]
        return self._observe(), rewards, self.t >= self.max_steps


class PolicyNetwork(nn.Module):
    def __init__(self, obs_dim, n_actions, hidden=64):
        super().__init__()
        self.fc = nn.Linear(obs_dim, hidden)
        self.action_head = nn.Linear(hidden, n_actions)

    def forward(self, x):
        return torch.softmax(self.action_head(torch.relu(self.fc(x))), dim=-1)


@ray.remote
class PolicyActor:
    def __init__(self, agent_idx, obs_dim, n_actions, seed):
        torch.set_num_threads(1)
        torch.manual_seed(seed * 1000 + agent_idx)
        self.agent_idx = agent_idx
        self.policy = PolicyNetwork(obs_dim, n_actions)
        self.policy.eval()

    def act(self, joint_obs):
        x = torch.tensor(joint_obs[self.agent_idx]).unsqueeze(0)
        with torch.no_grad():
            probs = self.policy(x)
        return int(torch.argmax(probs, dim=-1).item())


def setup(max_agents, seed=0):
    torch.set_num_threads(1)
    policies = [PolicyActor.remote(i, OBS_DIM, len(MOVES), seed) for i in range(max_agents)]
    obs = np.zeros((max_agents, OBS_DIM), dtype=np.float32)
    ray.get([p.act.remote(obs) for p in policies])  # waits for every actor to be up
    return {"policies": policies, "envs": {}, "seed": seed}


def teardown(state):
    # Explicitly: a handle kept alive elsewhere (e.g. by a torn-down compiled graph) would
    # otherwise keep the actor running through the next workloads.
    for actor in state["policies"]:
        ray.kill(actor)
    state.clear()


def _env(state, agents):
    """One joint environment per agent count, kept across measurements."""
    if agents not in state["envs"]:
        env = GridJunction(agents, seed=state["seed"])
        state["envs"][agents] = [env, env.reset()]
    return state["envs"][agents]


def _result(steps, elapsed, total_reward, counts):
    return {"steps": steps, "seconds": elapsed, "steps_per_s": steps / elapsed,
            "total_reward": round(total_reward, 4), "action_counts": counts.tolist()}


def measure(state, agents, steps):
    policies = state["policies"][:agents]
    entry = _env(state, agents)
    env, obs = entry
    total_reward = 0.0
    counts = np.zeros(len(MOVES), dtype=np.int64)
    t0 = time.perf_counter()
    for _ in range(steps):
        actions = ray.get([p.act.remote(obs) for p in policies])
        counts += np.bincount(actions, minlength=len(MOVES))
        obs, rewards, done = env.step(actions)
        total_reward += float(rewards.sum())
        if done:
            obs = env.reset()
    elapsed = time.perf_counter() - t0
    entry[1] = obs
    return _result(steps, elapsed, total_reward, counts)


def cg_measure(state, agents, steps):
    """The same steps through a Ray Compiled Graph: ``execute(joint_obs)`` per step (one
    graph per agent count, living for the turn: bench/cgraph.py)."""
    from ray.dag import InputNode, MultiOutputNode

    from bench.cgraph import compiled

    policies = state["policies"][:agents]
    entry = _env(state, agents)
    env, obs = entry

    def build():
        with InputNode() as inp:
            return MultiOutputNode([p.act.bind(inp) for p in policies])

    graph = compiled(state, agents, build, warm=[(obs,)])
    total_reward = 0.0
    counts = np.zeros(len(MOVES), dtype=np.int64)
    t0 = time.perf_counter()
    for _ in range(steps):
        actions = ray.get(graph.execute(obs))
        counts += np.bincount(actions, minlength=len(MOVES))
        obs, rewards, done = env.step(actions)
        total_reward += float(rewards.sum())
        if done:
            obs = env.reset()
    elapsed = time.perf_counter() - t0
    entry[1] = obs
    return _result(steps, elapsed, total_reward, counts)
