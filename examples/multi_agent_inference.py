import rayreact as ray

# Multi-agent inference (the paper's workload): one PolicyActor per agent.
#
# Every step the driver sends the joint observation (one numpy array, one row per agent)
# to every PolicyActor; each actor runs its own policy network on its row
# (Linear(obs, 64) - ReLU - Linear(64, n_actions) - softmax, argmax) and returns its action:
#
#     actions = ray.get([p.act.remote(joint_obs) for p in policies])
#
# The driver then steps a joint environment with the joint action. The paper used ma-gym's
# TrafficJunction; here a small deterministic numpy stand-in, GridJunction, is defined below:
# agents move on a grid towards their own goals and block each other.
#
# Runs unchanged under real Ray: replace the first line with ``import ray``.
#
#     python examples/multi_agent_inference.py                 # 10 agents, 1000 steps
#     python examples/multi_agent_inference.py --agents 4 --steps 5000

import argparse
import time

import numpy as np
import torch
import torch.nn as nn

# action -> (dx, dy): stay, up, down, left, right
MOVES = np.array([[0, 0], [0, -1], [0, 1], [-1, 0], [1, 0]], dtype=np.int64)


class GridJunction:
    """N agents on a size x size grid, each heading for its own goal cell.

    Observation of agent i (float32): own position, own goal, the offset to the goal (all
    scaled by the grid size) and a (2r+1)x(2r+1) occupancy window of the other agents around
    it. Moves are resolved in agent order; an agent bumping into another stays put and is
    penalised. Reaching the goal pays +1 and draws a new goal. Episodes last ``max_steps``.
    Everything is drawn from one seeded generator, so a run is a function of the seed and
    the actions only.
    """

    def __init__(self, n_agents=10, size=12, view_radius=2, max_steps=100, seed=0):
        self.n_agents = n_agents
        self.size = size
        self.r = view_radius
        self.max_steps = max_steps
        self.n_actions = len(MOVES)
        self.obs_dim = 6 + (2 * view_radius + 1) ** 2
        self.rng = np.random.default_rng(seed)

    def _free_cells(self, k, exclude=()):
        cells = self.rng.choice(self.size * self.size, size=k + len(exclude), replace=False)
        cells = [c for c in cells if c not in exclude][:k]
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
        obs = np.empty((self.n_agents, self.obs_dim), dtype=np.float32)
        obs[:, 0:2] = self.pos / s
        obs[:, 2:4] = self.goal / s
        obs[:, 4:6] = (self.goal - self.pos) / s
        for i, (x, y) in enumerate(self.pos):
            window = occ[y:y + 2 * r + 1, x:x + 2 * r + 1].copy()
            window[r, r] = 0.0  # not counting itself
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
                    rewards[i] -= 0.1  # collision: stay
                else:
                    occupied.discard((int(x), int(y)))
                    occupied.add((int(nx), int(ny)))
                    self.pos[i] = (nx, ny)
            if (self.pos[i] == self.goal[i]).all():
                rewards[i] += 1.0
                self.goal[i] = self._free_cells(1)[0]
        done = self.t >= self.max_steps
        return self._observe(), rewards, done


class PolicyNetwork(nn.Module):
    def __init__(self, obs_dim, n_actions, hidden=64):
        super().__init__()
        self.fc = nn.Linear(obs_dim, hidden)
        self.action_head = nn.Linear(hidden, n_actions)

    def forward(self, x):
        x = torch.relu(self.fc(x))
        return torch.softmax(self.action_head(x), dim=-1)


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


def run(agents=10, steps=1000, size=12, seed=0):
    """Run ``steps`` joint steps; returns a result dict. Needs ``ray.init()`` first."""
    torch.set_num_threads(1)
    env = GridJunction(n_agents=agents, size=size, seed=seed)
    t0 = time.perf_counter()
    policies = [PolicyActor.remote(i, env.obs_dim, env.n_actions, seed) for i in range(agents)]
    obs = env.reset()
    # First step (untimed) also waits for every actor to be up.
    actions = ray.get([p.act.remote(obs) for p in policies])
    obs, rewards, done = env.step(actions)
    setup_s = time.perf_counter() - t0

    total_reward = float(rewards.sum())
    episodes = 0
    action_counts = np.zeros(env.n_actions, dtype=np.int64)
    t1 = time.perf_counter()
    for _ in range(steps):
        if done:
            episodes += 1
            obs = env.reset()
        actions = ray.get([p.act.remote(obs) for p in policies])
        action_counts += np.bincount(actions, minlength=env.n_actions)
        obs, rewards, done = env.step(actions)
        total_reward += float(rewards.sum())
    elapsed = time.perf_counter() - t1
    del policies
    return {
        "agents": agents,
        "steps": steps,
        "seconds": elapsed,
        "steps_per_s": steps / elapsed if elapsed > 0 else float("inf"),
        "setup_s": setup_s,
        "episodes": episodes,
        "total_reward": round(total_reward, 4),
        "action_counts": action_counts.tolist(),
    }


def main():
    parser = argparse.ArgumentParser(
        description="Multi-agent inference: one policy actor per agent, joint environment.")
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--size", type=int, default=12, help="grid side")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    ray.init()
    try:
        r = run(args.agents, args.steps, args.size, args.seed)
    finally:
        ray.shutdown()
    print(f"{r['agents']} agents x {r['steps']} joint steps in {r['seconds']:.2f} s "
          f"(actor start-up {r['setup_s']:.2f} s)")
    print(f"episodes: {r['episodes']}, total reward: {r['total_reward']:.2f}, "
          f"actions taken (stay/up/down/left/right): {r['action_counts']}")
    print(f"throughput: {r['steps_per_s']:.1f} steps/s")


if __name__ == "__main__":
    main()
