"""Training speed per episode: the default agent next to the earlier defaults, in one run.

Each agent (the default; the default before, with learning rates 1e-3 and output layers in
±3e-3; the one before it, with the action at the critic's second layer; the previous default,
with two updates per step) trains on its own in-process 20-arm simulator, eagerly; their
episodes alternate, so that machine noise (a shared CPU, a neighbour's job) hits all alike.
The first episode of each is a warm-up and is not counted. An episode's cost is its CPU time
on this thread (torch runs one thread): on a quiet machine that is its wall-clock time. The
last line is the headline: ``seconds_per_episode: N (xR of the previous default)``, R < 1
meaning faster.

    python -m benchmarks.train_speed [--episodes 3] [--max-steps 1001]
"""

import argparse
import dataclasses
import statistics
import time
from collections.abc import Callable

import torch

from ddpg_agent import Agent, DDPGConfig
from reacher.sim import ReacherSim
from train import run_episode

# The default before learning rates 2e-3 and PyTorch's output initialisation
# (results/solve_lr1e3_output_init_3e-3).
DEFAULT_BEFORE = DDPGConfig(lr_actor=1e-3, lr_critic=1e-3, output_init=3e-3)
# The one before the critic took the action at its input (results/solve_action_at_second_layer).
SECOND_LAYER_DEFAULT = dataclasses.replace(DEFAULT_BEFORE, critic_action_input=False)
# The defaults before the solve-at-the-floor study (the Report's "What made it fast"): two
# gradient updates per env step, gamma 0.99, OU noise without decay.
PREVIOUS_DEFAULT = dataclasses.replace(
    SECOND_LAYER_DEFAULT, learn_iterations=2, gamma=0.99, noise_decay=1.0, noise_min=0.0
)


def our_trainer(
    config: DDPGConfig, max_steps: int | None, compiled: bool = False
) -> Callable[[], object]:
    """One training episode per call of an agent with ``config`` on its own simulator (seed 0)."""
    env = ReacherSim(num_agents=20, seed=0)
    agent = Agent(env.state_size, env.action_size, 20, config, seed=0, compiled=compiled)
    return lambda: run_episode(env, agent, max_steps)


def time_alternately(
    trainers: dict[str, Callable[[], object]], episodes: int, noun: str
) -> dict[str, float]:
    """Train one episode of each trainer in turn, ``episodes`` + 1 rounds (the first a warm-up,
    not counted); print each one's CPU seconds per episode and return their medians."""
    seconds: dict[str, list[float]] = {name: [] for name in trainers}
    for episode in range(episodes + 1):
        for name, train_one_episode in trainers.items():
            start = time.process_time()
            train_one_episode()
            if episode > 0:
                seconds[name].append(time.process_time() - start)
    print(f"torch {torch.__version__}, 1 thread, {episodes} timed episodes per {noun}")
    medians = {name: statistics.median(s) for name, s in seconds.items()}
    width = max(map(len, trainers))
    for name, values in seconds.items():
        each = ", ".join(f"{s:.1f}" for s in values)
        print(f"{name:>{width}}: {medians[name]:6.2f} s per episode (episodes {each})")
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=3, help="timed episodes per agent")
    parser.add_argument("--max-steps", type=int, default=None, help="truncate episodes")
    args = parser.parse_args()
    torch.set_num_threads(1)

    agents = {
        "default": DDPGConfig(),
        "default before": DEFAULT_BEFORE,
        "second-layer default": SECOND_LAYER_DEFAULT,
        "previous default": PREVIOUS_DEFAULT,
    }
    trainers = {name: our_trainer(config, args.max_steps) for name, config in agents.items()}
    medians = time_alternately(trainers, args.episodes, "agent")
    for name in ("default before", "second-layer default"):
        print(f"default / {name}: x{medians['default'] / medians[name]:.2f}")
    ratio = medians["default"] / medians["previous default"]
    print(f"seconds_per_episode: {medians['default']:.2f} (x{ratio:.2f} of the previous default)")


if __name__ == "__main__":
    main()
