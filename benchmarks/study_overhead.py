"""What the Ray study runner costs: the same trials run directly and through it, one core.

Runs ``--trials`` seeds of ``--episodes`` episodes (``--max-steps`` steps each; default full
1001-step episodes) twice in this process's machine: first one after another by calling the
trial function (``studies.runner.train_run``) directly, then as a study of
``studies.runner`` on a local Ray instance given one CPU, so both do the same work one trial
at a time. The runner's time includes starting and stopping Ray. The last line printed is
``overhead_ratio: R``, the runner's wall-clock over the direct one.

    .venv/bin/python -m benchmarks.study_overhead [--trials 2] [--episodes 1] [--max-steps N]
"""

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import ray
from ray import tune

from scores import read_scores
from studies.runner import Study, connect, run_study, train_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--episodes", type=int, default=1)
    parser.add_argument("--max-steps", type=int, default=None)
    args = parser.parse_args()
    seeds = list(range(args.trials))
    with tempfile.TemporaryDirectory(dir="/tmp") as temp:  # short: Ray's socket paths
        direct = Study(Path(temp) / "direct", args.episodes, args.max_steps, by_trial=False)
        start = time.perf_counter()
        for seed in seeds:
            train_run(direct, {"seed": seed}, f"seed_{seed}", report=lambda metrics: None)
        direct_seconds = time.perf_counter() - start
        episode = read_scores(direct.out / "seed_0" / "scores.csv").episode_seconds.mean()

        start = time.perf_counter()
        connect(None, num_cpus=1, _temp_dir=f"{temp}/ray")
        ray_start = time.perf_counter() - start
        runner = dataclasses.replace(direct, out=Path(temp) / "runner")
        space = {"seed": tune.grid_search(seeds)}
        run_study(runner, space, total=len(seeds), command=vars(args))
        ray.shutdown()
        runner_seconds = time.perf_counter() - start

    steps = args.max_steps or 1001
    print(f"{args.trials} trials x {args.episodes} episodes x {steps} steps, one at a time")
    print(f"one episode, direct: {episode:.1f} s")
    print(f"direct: {direct_seconds:.1f} s")
    print(f"runner: {runner_seconds:.1f} s, of which starting Ray {ray_start:.1f} s")
    print(f"overhead: {runner_seconds - direct_seconds:.1f} s in all")
    print(f"overhead_ratio: {runner_seconds / direct_seconds:.2f}")


if __name__ == "__main__":
    main()
