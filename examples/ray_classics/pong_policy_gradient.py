"""Learning to play Pong: policy gradients computed by actors, a NumPy policy in the driver.

In the style of Ray's "Learning to Play Pong" example (itself adapted from Andrej Karpathy's
policy-gradient Pong): a two-layer NumPy policy network lives in the driver; each iteration
the driver ``ray.put``s its weights once and every ``RolloutWorker`` actor plays an episode
of ``ALE/Pong-v5`` with them and returns the policy gradient of that episode. The driver
collects the gradients with ``ray.wait`` as they finish, adds them up in worker order (so the
run is reproducible) and takes one RMSProp step.

To run in seconds, episodes are capped at MAX_STEPS agent steps and the run is ITERATIONS
iterations long: the point is the shape of the program, not a trained agent. Every random
choice is seeded (the environment with ``reset(seed=...)``, the action sampling with a
NumPy generator per episode), so the printed results are the same on every run.
"""

import gymnasium as gym
import numpy as np

import ray

NUM_WORKERS = 3
ITERATIONS = 4
MAX_STEPS = 250  # agent steps per episode (4 frames each)
H = 200  # hidden units
D = 80 * 80  # input dimensionality: an 80x80 grid
GAMMA = 0.99  # discount factor for reward
DECAY_RATE = 0.99  # RMSProp decay
LEARNING_RATE = 1e-4


def preprocess(img):
    """210x160x3 uint8 frame -> 6400 (80x80) 1D float vector."""
    img = img[35:195]  # crop
    img = img[::2, ::2, 0]  # downsample by a factor of 2
    img = img.copy()
    img[img == 144] = 0  # erase background (type 1)
    img[img == 109] = 0  # erase background (type 2)
    img[img != 0] = 1  # everything else (paddles, ball) is set to 1
    return img.astype(np.float64).ravel()


def process_rewards(r):
    """Discounted returns; the sum is reset at each point scored (game boundary)."""
    discounted_r = np.zeros_like(r)
    running_add = 0.0
    for t in reversed(range(0, r.size)):
        if r[t] != 0:
            running_add = 0.0
        running_add = running_add * GAMMA + r[t]
        discounted_r[t] = running_add
    return discounted_r


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def policy_forward(weights, x):
    h = np.dot(weights["W1"], x)
    h[h < 0] = 0  # ReLU
    logp = np.dot(weights["W2"], h)
    return sigmoid(logp), h


def policy_backward(weights, eph, epx, epdlogp):
    dW2 = np.dot(eph.T, epdlogp).ravel()
    dh = np.outer(epdlogp, weights["W2"])
    dh[eph <= 0] = 0  # backprop through the ReLU
    dW1 = np.dot(dh.T, epx)
    return {"W1": dW1, "W2": dW2}


def rollout_gradient(env, weights, seed):
    """Play one (capped) episode with the policy; return its gradient and statistics."""
    rng = np.random.default_rng(seed)
    observation, _ = env.reset(seed=seed)
    prev_x = None
    xs, hs, dlogps, drs = [], [], [], []
    for _ in range(MAX_STEPS):
        cur_x = preprocess(observation)
        x = cur_x - prev_x if prev_x is not None else np.zeros(D)
        prev_x = cur_x
        aprob, h = policy_forward(weights, x)
        action = 2 if rng.uniform() < aprob else 3  # 2: up, 3: down
        xs.append(x)
        hs.append(h)
        y = 1 if action == 2 else 0  # a "fake label"
        dlogps.append(y - aprob)  # grad of the log-probability of the action taken
        observation, reward, terminated, truncated, _ = env.step(action)
        drs.append(reward)
        if terminated or truncated:
            break
    epx, eph = np.vstack(xs), np.vstack(hs)
    epdlogp, epr = np.vstack(dlogps), np.vstack(drs)
    discounted_epr = process_rewards(epr)
    discounted_epr -= np.mean(discounted_epr)
    std = np.std(discounted_epr)
    if std > 0:
        discounted_epr /= std
    epdlogp *= discounted_epr  # modulate the gradient with the advantage
    return policy_backward(weights, eph, epx, epdlogp), float(epr.sum()), len(drs)


def make_env():
    import ale_py

    gym.register_envs(ale_py)
    return gym.make("ALE/Pong-v5")


@ray.remote
class RolloutWorker:
    def __init__(self, worker_index):
        self.env = make_env()
        self.worker_index = worker_index
        self.episodes = 0

    def compute_gradient(self, weights):
        # `weights` was passed as the ref of ray.put: it arrives as the dict itself.
        seed = 1000 * self.worker_index + self.episodes
        self.episodes += 1
        grad, reward_sum, steps = rollout_gradient(self.env, weights, seed)
        return grad, reward_sum, steps, seed


def weights_checksum(weights):
    return sum(float(np.abs(v).sum()) for v in weights.values())


if __name__ == "__main__":
    ray.init()

    rng = np.random.default_rng(0)
    model = {
        "W1": rng.standard_normal((H, D)) / np.sqrt(D),  # "Xavier" initialisation
        "W2": rng.standard_normal(H) / np.sqrt(H),
    }
    initial_model = {k: v.copy() for k, v in model.items()}
    grad_buffer = {k: np.zeros_like(v) for k, v in model.items()}
    rmsprop_cache = {k: np.zeros_like(v) for k, v in model.items()}

    actors = [RolloutWorker.remote(i) for i in range(NUM_WORKERS)]
    print(f"initial weights checksum: {weights_checksum(model):.6f}")

    first_results = None
    for i in range(1, ITERATIONS + 1):
        weights_id = ray.put(model)
        gradient_ids = [actor.compute_gradient.remote(weights_id) for actor in actors]
        worker_of = {ref: j for j, ref in enumerate(gradient_ids)}

        # Take the gradients as they finish...
        results = {}
        pending = list(gradient_ids)
        while pending:
            [grad_id], pending = ray.wait(pending)
            results[worker_of[grad_id]] = ray.get(grad_id)
        assert sorted(results) == list(range(NUM_WORKERS))
        if i == 1:
            first_results = results

        # ... and add them up in worker order, so the sum is the same whatever the order.
        for j in range(NUM_WORKERS):
            grad, reward_sum, steps, seed = results[j]
            assert grad["W1"].shape == (H, D) and grad["W2"].shape == (H,)
            assert np.all(np.isfinite(grad["W1"])) and np.all(np.isfinite(grad["W2"]))
            assert -21 <= reward_sum <= 21 and 1 <= steps <= MAX_STEPS
            assert seed == 1000 * j + (i - 1)
            for k in model:
                grad_buffer[k] += grad[k]

        for k, v in model.items():
            g = grad_buffer[k]
            rmsprop_cache[k] = DECAY_RATE * rmsprop_cache[k] + (1 - DECAY_RATE) * g**2
            model[k] += LEARNING_RATE * g / (np.sqrt(rmsprop_cache[k]) + 1e-5)
            grad_buffer[k] = np.zeros_like(v)

        rewards = [results[j][1] for j in range(NUM_WORKERS)]
        steps = [results[j][2] for j in range(NUM_WORKERS)]
        print(
            f"iteration {i}: rewards {rewards} steps {steps} "
            f"weights checksum {weights_checksum(model):.6f}"
        )

    # Checks: the policy moved, and a gradient computed remotely equals the gradient the
    # driver computes itself for the same weights and seed.
    assert not np.array_equal(model["W1"], initial_model["W1"])
    local_grad, local_reward, local_steps = rollout_gradient(make_env(), initial_model, 0)
    remote_grad, remote_reward, remote_steps, _ = first_results[0]
    assert (local_reward, local_steps) == (remote_reward, remote_steps)
    for k in local_grad:
        assert np.allclose(local_grad[k], remote_grad[k], rtol=1e-7, atol=1e-12), k
    print("remote gradient matches a local recomputation")
    print("pong_policy_gradient: OK")
