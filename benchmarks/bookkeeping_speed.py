"""What continuing and choosing cost: a snapshot and a greedy check against training, in one run.

``train.py`` writes a snapshot (``snapshot.py``: the whole training state, the replay buffer
above all) every 10 episodes and plays a greedy check (``train.GreedyChecks``: 2 greedy
episodes) every 5. This times, in one process on one thread: training episodes of the default
agent on the in-process simulator (compiled update where possible; the first episode is a
warm-up), then, with its replay buffer filled to capacity as it is from episode 50 on, the
snapshot written and read back, and one greedy check. The last line is the headline:
``bookkeeping_overhead: P % of training (snapshots: S %, greedy checks: G %)``, each the cost
at those intervals as a share of the training time over the same episodes.

    python -m benchmarks.bookkeeping_speed [--episodes 2] [--repeats 3]
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ddpg_agent import Agent, DDPGConfig
from reacher.sim import ReacherSim
from snapshot import restore_snapshot, save_snapshot
from train import GreedyChecks, run_episode

SNAPSHOT_EVERY, CHECK_EVERY = 10, 5  # train.py's defaults


def fill(agent: Agent, rng: np.random.Generator, chunk: int = 100_000) -> None:
    """Fill the replay buffer to capacity with random rows (their values do not matter)."""
    s, a = agent.state_size, agent.action_size
    while len(agent.memory) < agent.memory.capacity:
        n = min(chunk, agent.memory.capacity - len(agent.memory))
        states = rng.standard_normal((n, s), dtype=np.float32)
        rewards = rng.random(n, dtype=np.float32)
        agent.memory.add(states, states[:, :a], rewards, states, rewards)


def timed(fn, repeats: int) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` calls."""
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=2, help="timed training episodes")
    parser.add_argument("--repeats", type=int, default=3, help="timed snapshots and checks")
    args = parser.parse_args()
    torch.set_num_threads(1)

    env = ReacherSim(num_agents=20, seed=0)
    agent = Agent(env.state_size, env.action_size, 20, DDPGConfig(), seed=0, compiled=True)
    run_episode(env, agent)  # warm-up: fills the buffer past a batch and compiles
    episode_s = timed(lambda: run_episode(env, agent), args.episodes)

    fill(agent, np.random.default_rng(0))
    other = Agent(env.state_size, env.action_size, 20, DDPGConfig(), seed=1)
    checks = GreedyChecks(seed=2000)
    with tempfile.TemporaryDirectory(prefix="bookkeeping-") as directory:
        path = save_snapshot(Path(directory), agent, 1, env)
        size_mb = path.stat().st_size / 1e6
        save_s = timed(lambda: save_snapshot(Path(directory), agent, 1, env), args.repeats)
        load_s = timed(lambda: restore_snapshot(path, other, env), args.repeats)
        checks.start(Path(directory), 0)
        check_s = timed(lambda: checks.check(agent, 1, Path(directory)), args.repeats)

    snapshots = save_s / (SNAPSHOT_EVERY * episode_s)
    greedy = check_s / (CHECK_EVERY * episode_s)
    print(f"torch {torch.__version__}, 1 thread, compiled update: {agent.compiled}")
    print(f"training episode: {episode_s:.2f} s (median of {args.episodes})")
    print(f"snapshot, full buffer: {size_mb:.0f} MB, write {save_s:.2f} s, read {load_s:.2f} s")
    print(f"greedy check ({checks.episodes} episodes): {check_s:.2f} s")
    print(
        f"bookkeeping_overhead: {100 * (snapshots + greedy):.1f} % of training "
        f"(snapshots: {100 * snapshots:.1f} %, greedy checks: {100 * greedy:.1f} %)"
    )


if __name__ == "__main__":
    main()
