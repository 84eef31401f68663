"""Learner speed: DDPG updates per second and the cost of acting, ours next to a naive reference.

Both learners use the same networks (model.py), batch size and a buffer filled with the same
number of transitions; blocks of the two alternate so that machine noise hits both alike.
- ours: ``ddpg_agent.Agent`` (pre-allocated ring buffer, fused Adam, ``_foreach_lerp_``
  soft update, actor gradients only in the actor update, batched acting);
- naive: the course template (deque of namedtuples + ``random.sample`` + ``np.vstack``,
  default Adam, Python-loop soft update, ``eval()``/``no_grad``/``train()`` acting).
One update = sample a batch, critic update (grad-norm clip 1), actor update, soft update.

    python benchmarks/learner_speed.py [--batch 256] [--fill 100000] [--threads 1]

The last line is ``updates_per_s: N`` (ours, median block).
"""

import argparse
import random
import statistics
import sys
import time
from collections import deque, namedtuple
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (the course template's spelling)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ddpg_agent import Agent, DDPGConfig  # noqa: E402
from model import Actor, Critic  # noqa: E402

S, A, N_ARMS = 33, 4, 20
Experience = namedtuple("Experience", "state action reward next_state done")


class NaiveLearner:
    """The course template's learner, kept to its essentials."""

    def __init__(self, batch_size: int, gamma: float = 0.99, tau: float = 1e-3) -> None:
        self.batch_size, self.gamma, self.tau = batch_size, gamma, tau
        self.actor_local, self.actor_target = Actor(S, A), Actor(S, A)
        self.critic_local, self.critic_target = Critic(S, A), Critic(S, A)
        self.actor_optimizer = torch.optim.Adam(self.actor_local.parameters(), lr=1e-3)
        self.critic_optimizer = torch.optim.Adam(self.critic_local.parameters(), lr=1e-3)
        self.memory: deque[Experience] = deque(maxlen=1_000_000)

    def act(self, states: np.ndarray) -> np.ndarray:
        self.actor_local.eval()
        with torch.no_grad():
            actions = self.actor_local(torch.from_numpy(states).float()).numpy()
        self.actor_local.train()
        return np.clip(actions + 0.2 * np.random.standard_normal(actions.shape), -1, 1)

    def sample(self):
        batch = random.sample(self.memory, k=self.batch_size)
        return tuple(
            torch.from_numpy(np.vstack([getattr(e, field) for e in batch])).float()
            for field in Experience._fields
        )

    def learn(self) -> None:
        states, actions, rewards, next_states, dones = self.sample()
        with torch.no_grad():
            q_next = self.critic_target(next_states, self.actor_target(next_states))
        q_targets = rewards + self.gamma * q_next * (1 - dones)
        critic_loss = F.mse_loss(self.critic_local(states, actions), q_targets)
        self.critic_optimizer.zero_grad()
        critic_loss.backward()
        torch.nn.utils.clip_grad_norm_(self.critic_local.parameters(), 1)
        self.critic_optimizer.step()
        actor_loss = -self.critic_local(states, self.actor_local(states)).mean()
        self.actor_optimizer.zero_grad()
        actor_loss.backward()
        self.actor_optimizer.step()
        for local, target in (
            (self.critic_local, self.critic_target),
            (self.actor_local, self.actor_target),
        ):
            for t, p in zip(target.parameters(), local.parameters(), strict=True):
                t.data.copy_(self.tau * p.data + (1.0 - self.tau) * t.data)


def random_transitions(n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    return (
        rng.standard_normal((n, S), dtype=np.float32),
        rng.uniform(-1, 1, (n, A)).astype(np.float32),
        rng.uniform(0, 0.04, n).astype(np.float32),
        rng.standard_normal((n, S), dtype=np.float32),
        np.zeros(n, dtype=np.float32),
    )


def per_second(fn, seconds: float) -> float:
    """Calls of fn per second over a block of about `seconds`."""
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn()
        calls += 1
    return calls / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--fill", type=int, default=100_000, help="transitions in the buffers")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--block-seconds", type=float, default=2.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    random.seed(0)
    rng = np.random.default_rng(0)

    ours = Agent(S, A, N_ARMS, DDPGConfig(batch_size=args.batch), seed=0, device="cpu")
    naive = NaiveLearner(args.batch)
    data = random_transitions(args.fill, rng)
    ours.memory.add(*data)
    naive.memory.extend(
        Experience(s, a, np.float32([r]), s2, np.float32([d]))
        for s, a, r, s2, d in zip(*data, strict=True)
    )
    del data

    def ours_update() -> None:
        ours.learn(ours.memory.sample(args.batch))

    states = rng.standard_normal((N_ARMS, S), dtype=np.float32)
    benchmarks = {
        "ours updates/s": ours_update,
        "naive updates/s": naive.learn,
        "ours act calls/s": lambda: ours.act(states),
        "naive act calls/s": lambda: naive.act(states),
    }
    rates: dict[str, list[float]] = {name: [] for name in benchmarks}
    for fn in benchmarks.values():  # warm-up
        per_second(fn, 0.3)
    for _ in range(args.blocks):
        for name, fn in benchmarks.items():
            rates[name].append(per_second(fn, args.block_seconds))
    median = {name: statistics.median(r) for name, r in rates.items()}

    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), batch {args.batch}")
    print(f"buffers filled with {args.fill} transitions; {args.blocks} blocks per figure")
    for name, r in rates.items():
        print(
            f"{name:>18}: median {median[name]:8.1f}  (blocks {', '.join(f'{x:.0f}' for x in r)})"
        )
    for who in ("ours", "naive"):
        update_ms = 1e3 / median[f"{who} updates/s"]
        act_us = 1e6 / median[f"{who} act calls/s"]
        print(
            f"{who:>5}: {update_ms:.2f} ms per update, {act_us:.0f} us to act for {N_ARMS} states"
        )
    speedup = median["ours updates/s"] / median["naive updates/s"]
    act_speedup = median["ours act calls/s"] / median["naive act calls/s"]
    print(f"speed-up: updates x{speedup:.2f}, acting x{act_speedup:.2f}")
    print(f"updates_per_s: {median['ours updates/s']:.0f}")


if __name__ == "__main__":
    main()
