import rayreact as ray

# Synchronised parallel Q-learning (the paper's workload), on CartPole-v1.
#
# Each round:
#   1. the learner (in the driver) broadcasts its Q-network weights to 16 RolloutActors;
#   2. every RolloutActor takes --steps-per-round epsilon-greedy steps in its own CartPole
#      and returns its transitions (numpy arrays) and the returns of episodes it finished;
#   3. the driver hands all transitions to one ReplayBufferActor, which stores them in a
#      ring buffer and returns sampled minibatches of --batch-size transitions;
#   4. the learner does one DQN gradient step (Adam, Huber loss, double-DQN target) per
#      minibatch; the target network is synced every --target-every rounds; epsilon decays
#      linearly from 1.0 to --eps-end over --eps-decay-rounds rounds.
#
# The mean return of the episodes finished in each round is printed: it rises from ~20
# (random policy) to several hundred (CartPole-v1 caps episodes at 500 steps).
#
# Runs unchanged under real Ray: replace the first line with ``import ray``.
#
#     python examples/sync_q_learning.py                # 16 actors, defaults below
#     python examples/sync_q_learning.py --rounds 10    # shorter

import argparse
import time

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OBS_DIM = 4
NUM_ACTIONS = 2


class QNetwork(nn.Module):
    def __init__(self, obs_dim=OBS_DIM, hidden=64, num_actions=NUM_ACTIONS):
        super().__init__()
        self.fc1 = nn.Linear(obs_dim, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, num_actions)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.out(x)


def weights_to_numpy(net):
    return {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}


@ray.remote
class RolloutActor:
    def __init__(self, seed, hidden):
        torch.set_num_threads(1)
        torch.manual_seed(seed)
        self.env = gym.make("CartPole-v1")
        self.env.action_space.seed(seed)
        self.rng = np.random.default_rng(seed)
        self.q_net = QNetwork(hidden=hidden)
        self.obs, _ = self.env.reset(seed=seed)
        self.episode_return = 0.0

    def rollout(self, weights, epsilon, num_steps):
        self.q_net.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
        obs_buf = np.empty((num_steps, OBS_DIM), dtype=np.float32)
        next_obs_buf = np.empty((num_steps, OBS_DIM), dtype=np.float32)
        actions = np.empty(num_steps, dtype=np.int64)
        rewards = np.empty(num_steps, dtype=np.float32)
        dones = np.empty(num_steps, dtype=np.float32)
        finished_returns = []
        with torch.no_grad():
            for i in range(num_steps):
                if self.rng.random() < epsilon:
                    action = int(self.rng.integers(NUM_ACTIONS))
                else:
                    q = self.q_net(torch.from_numpy(np.asarray(self.obs, dtype=np.float32)))
                    action = int(q.argmax())
                next_obs, reward, terminated, truncated, _ = self.env.step(action)
                obs_buf[i] = self.obs
                next_obs_buf[i] = next_obs
                actions[i] = action
                rewards[i] = reward
                dones[i] = float(terminated)  # a time-limit truncation is not terminal
                self.episode_return += reward
                if terminated or truncated:
                    finished_returns.append(self.episode_return)
                    self.episode_return = 0.0
                    next_obs, _ = self.env.reset()
                self.obs = next_obs
        transitions = {"obs": obs_buf, "action": actions, "reward": rewards,
                       "next_obs": next_obs_buf, "done": dones}
        return transitions, finished_returns


@ray.remote
class ReplayBufferActor:
    """Ring buffer of transitions; every call adds a batch and returns sampled minibatches."""

    def __init__(self, capacity, seed):
        self.capacity = capacity
        self.rng = np.random.default_rng(seed)
        self.data = {
            "obs": np.zeros((capacity, OBS_DIM), dtype=np.float32),
            "action": np.zeros(capacity, dtype=np.int64),
            "reward": np.zeros(capacity, dtype=np.float32),
            "next_obs": np.zeros((capacity, OBS_DIM), dtype=np.float32),
            "done": np.zeros(capacity, dtype=np.float32),
        }
        self.pos = 0
        self.size = 0

    def add_and_sample(self, transitions, batch_size, num_batches):
        n = len(transitions["action"])
        idx = (self.pos + np.arange(n)) % self.capacity
        for k, v in transitions.items():
            self.data[k][idx] = v
        self.pos = (self.pos + n) % self.capacity
        self.size = min(self.size + n, self.capacity)
        batches = []
        for _ in range(num_batches):
            j = self.rng.integers(0, self.size, size=batch_size)
            batches.append({k: v[j] for k, v in self.data.items()})
        return batches


def dqn_update(q_net, target_net, optimizer, batch, gamma):
    obs = torch.tensor(batch["obs"])
    actions = torch.tensor(batch["action"])
    rewards = torch.tensor(batch["reward"])
    next_obs = torch.tensor(batch["next_obs"])
    dones = torch.tensor(batch["done"])
    q = q_net(obs).gather(1, actions.unsqueeze(1)).squeeze(1)
    with torch.no_grad():
        next_actions = q_net(next_obs).argmax(1, keepdim=True)  # double DQN
        next_q = target_net(next_obs).gather(1, next_actions).squeeze(1)
        target = rewards + gamma * (1.0 - dones) * next_q
    loss = F.smooth_l1_loss(q, target)
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(q_net.parameters(), 10.0)
    optimizer.step()
    return loss.item()


def epsilon_at(round_idx, eps_start, eps_end, decay_rounds):
    frac = min(1.0, round_idx / max(1, decay_rounds))
    return eps_start + frac * (eps_end - eps_start)


def run(num_actors=16, rounds=50, steps_per_round=100, batch_size=500, updates_per_round=64,
        lr=5e-4, gamma=0.98, target_every=2, eps_start=1.0, eps_end=0.02, eps_decay_rounds=15,
        buffer_capacity=100_000, hidden=128, lr_end_factor=0.1, seed=0, verbose=True):
    """Train for ``rounds`` rounds; returns a result dict. Needs ``ray.init()`` first."""
    if rounds < 1:
        raise ValueError("rounds must be >= 1")
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    q_net = QNetwork(hidden=hidden)
    target_net = QNetwork(hidden=hidden)
    target_net.load_state_dict(q_net.state_dict())
    optimizer = torch.optim.Adam(q_net.parameters(), lr=lr)
    # Learning rate decays linearly to lr * lr_end_factor over the run.
    scheduler = torch.optim.lr_scheduler.LinearLR(optimizer, 1.0, lr_end_factor,
                                                  total_iters=rounds)

    t_start = time.perf_counter()
    actors = [RolloutActor.remote(seed + 1 + i, hidden) for i in range(num_actors)]
    buffer = ReplayBufferActor.remote(buffer_capacity, seed)

    curve = []
    env_steps = 0
    loss = float("nan")
    t_first = None
    for r in range(rounds):
        epsilon = epsilon_at(r, eps_start, eps_end, eps_decay_rounds)
        weights = weights_to_numpy(q_net)
        results = ray.get([a.rollout.remote(weights, epsilon, steps_per_round) for a in actors])
        finished = [ret for _, rets in results for ret in rets]
        transitions = {k: np.concatenate([tr[k] for tr, _ in results]) for k in results[0][0]}
        env_steps += len(transitions["action"])

        batches = ray.get(buffer.add_and_sample.remote(transitions, batch_size,
                                                      updates_per_round))
        for batch in batches:
            loss = dqn_update(q_net, target_net, optimizer, batch, gamma)
        scheduler.step()
        if (r + 1) % target_every == 0:
            target_net.load_state_dict(q_net.state_dict())

        if r == 0:
            t_first = time.perf_counter()  # round 1 also waits for the actors to start
        mean_ret = float(np.mean(finished)) if finished else float("nan")
        curve.append(mean_ret)
        if verbose:
            shown = f"{mean_ret:6.1f}" if finished else "   n/a"
            print(f"round {r + 1:3d}  eps {epsilon:.2f}  episodes {len(finished):3d}  "
                  f"mean return {shown}  loss {loss:.3f}  "
                  f"t {time.perf_counter() - t_start:6.1f}s", flush=True)
    t_end = time.perf_counter()
    elapsed = t_end - t_start
    del actors, buffer

    tail = [x for x in curve[-5:] if x == x]
    return {
        "num_actors": num_actors,
        "rounds": rounds,
        "env_steps": env_steps,
        "seconds": elapsed,
        "first_round_s": t_first - t_start,
        "later_rounds_s": t_end - t_first,
        "curve": curve,
        "final_mean_return": float(np.mean(tail)) if tail else float("nan"),
        "best_mean_return": float(np.nanmax(curve)) if any(x == x for x in curve) else float("nan"),
    }


def main():
    parser = argparse.ArgumentParser(
        description="Synchronised parallel Q-learning (DQN) on CartPole-v1.")
    parser.add_argument("--num-actors", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--steps-per-round", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--updates-per-round", type=int, default=64,
                        help="gradient steps per round (one sampled batch each)")
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--lr-end-factor", type=float, default=0.1,
                        help="the learning rate decays linearly to lr * this")
    parser.add_argument("--gamma", type=float, default=0.98)
    parser.add_argument("--target-every", type=int, default=2, help="rounds between target syncs")
    parser.add_argument("--eps-end", type=float, default=0.02)
    parser.add_argument("--eps-decay-rounds", type=int, default=15)
    parser.add_argument("--hidden", type=int, default=128, help="Q-network width (4-H-H-2 MLP)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    ray.init()
    try:
        r = run(num_actors=args.num_actors, rounds=args.rounds,
                steps_per_round=args.steps_per_round, batch_size=args.batch_size,
                updates_per_round=args.updates_per_round, lr=args.lr, gamma=args.gamma,
                target_every=args.target_every, eps_end=args.eps_end,
                eps_decay_rounds=args.eps_decay_rounds, hidden=args.hidden,
                lr_end_factor=args.lr_end_factor, seed=args.seed)
    finally:
        ray.shutdown()
    print(f"{r['rounds']} rounds, {r['env_steps']} env steps in {r['seconds']:.1f} s "
          f"(first round incl. actor start-up {r['first_round_s']:.1f} s); "
          f"best round mean return {r['best_mean_return']:.1f}")
    print(f"final mean return (last 5 rounds): {r['final_mean_return']:.1f}")


if __name__ == "__main__":
    main()
