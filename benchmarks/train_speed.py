"""Training speed per episode: the default agent next to the earlier defaults, in one run.

Each agent (the default; the default before, with the action at the critic's second layer;
the previous default, with two updates per step) trains on its own in-process 20-arm
simulator, eagerly; their episodes alternate, so that machine noise (a shared CPU, a
neighbour's job) hits all alike. The first episode of each is
a warm-up and is not counted. An episode's cost is its CPU time on this thread (torch runs one
thread): on a quiet machine that is its wall-clock time. The last line is the headline:
``seconds_per_episode: N (xR of the previous default)``, R < 1 meaning faster.

    python -m benchmarks.train_speed [--episodes 3] [--max-steps 1001]
"""

import argparse
import statistics
import time

import torch

from ddpg_agent import Agent, DDPGConfig
from reacher.sim import ReacherSim
from train import run_episode

# The defaults before the solve-at-the-floor study (the Report's "What made it fast"): two
# gradient updates per env step, gamma 0.99, OU noise without decay, the action at the
# critic's second layer.
PREVIOUS_DEFAULT = DDPGConfig(
    learn_iterations=2, gamma=0.99, noise_decay=1.0, noise_min=0.0, critic_action_input=False
)
# The default before the critic took the action at its input (results/solve_action_at_second_layer).
DEFAULT_BEFORE = DDPGConfig(critic_action_input=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=3, help="timed episodes per agent")
    parser.add_argument("--max-steps", type=int, default=None, help="truncate episodes")
    args = parser.parse_args()
    torch.set_num_threads(1)

    agents = {
        "default": DDPGConfig(),
        "default before": DEFAULT_BEFORE,
        "previous default": PREVIOUS_DEFAULT,
    }
    runs = {}
    for name, config in agents.items():
        env = ReacherSim(num_agents=20, seed=0)
        runs[name] = (env, Agent(env.state_size, env.action_size, 20, config, seed=0))
    seconds: dict[str, list[float]] = {name: [] for name in agents}
    for episode in range(args.episodes + 1):
        for name, (env, agent) in runs.items():
            start = time.process_time()
            run_episode(env, agent, args.max_steps)
            if episode > 0:  # the first is a warm-up
                seconds[name].append(time.process_time() - start)

    print(f"torch {torch.__version__}, 1 thread, {args.episodes} timed episodes per agent")
    medians = {name: statistics.median(s) for name, s in seconds.items()}
    for name, values in seconds.items():
        blocks = ", ".join(f"{s:.1f}" for s in values)
        print(f"{name:>16}: {medians[name]:6.2f} s per episode (episodes {blocks})")
    before = medians["default"] / medians["default before"]
    print(f"default / default before (action at the critic's second layer): x{before:.2f}")
    ratio = medians["default"] / medians["previous default"]
    print(f"seconds_per_episode: {medians['default']:.2f} (x{ratio:.2f} of the previous default)")


if __name__ == "__main__":
    main()
