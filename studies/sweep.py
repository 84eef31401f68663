"""Hyper-parameter sweep: train over values of any ``DDPGConfig`` fields and compare.

Every trial is one training run of ``studies.runner`` on Ray (here, one per core, or on a
cluster with ``--address``), its files in ``results/experiments/<name>/<run>/`` where
``studies.summarize_experiments`` lists them. Values come from a grid (every combination,
crossed with ``--seeds``), or are drawn ``--samples`` times at random or by Optuna's TPE
(``--optuna``, one seed). Hopeless trials stop early: at each ``--milestones`` episode, a trial
whose 100-episode window mean is below the median of the trials that got there before ends,
and the reason goes to ``stopped.jsonl``. Running the command again resumes an interrupted
sweep. Ends with ``summary.md`` (one row per run, best first) and ``curves.png``; the last line
printed is ``best: RUN window_mean X``.

    .venv/bin/python -m studies.sweep --name tau --episodes 30 --seeds 0 1 \\
        --grid tau 1e-3 5e-3 1e-2
    .venv/bin/python -m studies.sweep --name lr --episodes 30 --samples 8 \\
        --loguniform lr_actor 1e-4 3e-3 --choice batch_size 128 256 [--optuna]
"""

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from ray import tune

from scores import read_scores
from studies.runner import (
    METRIC,
    Study,
    add_cluster_arguments,
    checked_settings,
    command_line,
    run_study,
)
from train import at_least, parse_overrides


def values(key: str, texts: list[str]) -> list[object]:
    """``DDPGConfig`` values of ``key`` from the command line, parsed as ``--set`` parses."""
    return [parse_overrides([f"{key}={text}"])[key] for text in texts]


def search_space(args: argparse.Namespace) -> dict:
    space: dict = {}
    for key, *texts in args.grid:
        space[key] = tune.grid_search(values(key, texts))
    for key, *texts in args.choice:
        space[key] = tune.choice(values(key, texts))
    for kind, sampler in (("uniform", tune.uniform), ("loguniform", tune.loguniform)):
        for key, low, high in getattr(args, kind):
            values(key, [low])  # checks that key is a field
            space[key] = sampler(float(low), float(high))
    return space


def write_summary(out: Path, searched: list[str]) -> str:
    """summary.md and curves.png from the runs' files; returns the best run's name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stopped_log = out / "stopped.jsonl"
    stopped = {}
    if stopped_log.exists():
        for line in stopped_log.read_text().splitlines():
            entry = json.loads(line)
            stopped[entry["run"]] = f"stopped: {entry['reason']}"
    runs = []
    for directory in sorted(p.parent for p in out.glob("*/scores.csv")):
        config = json.loads((directory / "config.json").read_text())
        params = {**config["config"], "seed": config["seed"]}
        runs.append(
            (directory.name, [params[k] for k in searched], read_scores(directory / "scores.csv"))
        )
    runs.sort(key=lambda run: -run[2].window_means[-1])

    lines = [
        f"| run | {' | '.join(searched)} | episodes | last window mean | best window mean | "
        "window end | note |",
        "|---|" + "---:|" * (len(searched) + 4) + "---|",
    ]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, params, result in runs:
        end = result.solved_episode
        lines.append(
            f"| {name} | {' | '.join(map(str, params))} | {len(result.scores)} | "
            f"{result.window_means[-1]:.2f} | {result.best_window[1]:.2f} | "
            f"{'–' if end is None else end} | {stopped.get(name, '')} |"
        )
        ax.plot(np.arange(1, len(result.scores) + 1), result.window_means, label=name)
    ax.axhline(30, color="k", ls="--", lw=1, label="solved: +30")
    ax.set(xlabel="episode", ylabel="100-episode window mean", title=f"sweep {out.name}")
    ax.legend(fontsize="small", loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=120)
    plt.close(fig)
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    best_name, _, best = runs[0]
    print(f"best: {best_name} {METRIC} {best.window_means[-1]:.2f}")
    return best_name


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", required=True, help="results/experiments/NAME")
    parser.add_argument("--out", type=Path, default=None, help="instead of the above")
    parser.add_argument("--episodes", type=at_least(1), default=30)
    parser.add_argument("--max-steps", type=at_least(1), default=None, help="truncate episodes")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    many = {"action": "append", "default": [], "metavar": ("KEY", "VALUE")}
    parser.add_argument("--grid", nargs="+", help="every value of KEY", **many)
    parser.add_argument("--choice", nargs="+", help="one of these values, drawn", **many)
    pair = {"nargs": 3, "action": "append", "default": [], "metavar": ("KEY", "LOW", "HIGH")}
    parser.add_argument("--uniform", help="a value drawn uniformly in [LOW, HIGH]", **pair)
    parser.add_argument("--loguniform", help="... with a uniform logarithm", **pair)
    parser.add_argument("--samples", type=at_least(1), default=1, help="draws (times the grid)")
    parser.add_argument("--optuna", action="store_true", help="draw with Optuna's TPE")
    parser.add_argument("--milestones", type=int, nargs="*", default=[10, 20, 30])
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="fixed fields")
    add_cluster_arguments(parser)
    args = parser.parse_args(argv)
    try:
        space = search_space(args)
    except ValueError as e:
        parser.error(str(e))
    fixed = checked_settings(parser, args.set)
    search_alg = None
    if args.optuna:
        # Optuna proposes each trial from the ones before; it cannot walk a grid.
        if args.grid or len(args.seeds) > 1:
            parser.error("--optuna draws every value: no --grid, one seed")
        from ray.tune.search.optuna import OptunaSearch

        search_alg = OptunaSearch()
        space["seed"] = args.seeds[0]
    else:
        space["seed"] = tune.grid_search(args.seeds)
    grid_sizes = [len(texts) for _, *texts in args.grid] + [1 if args.optuna else len(args.seeds)]
    out = (args.out or Path("results/experiments") / args.name).resolve()
    study = Study(out=out, episodes=args.episodes, max_steps=args.max_steps, fixed=fixed)
    run_study(
        study,
        space,
        total=args.samples * math.prod(grid_sizes),
        command={k: v for k, v in vars(args).items() if k != "address"},
        address=args.address,
        milestones=tuple(args.milestones),
        search_alg=search_alg,
        num_samples=args.samples,
    )
    write_summary(out, sorted(space))


if __name__ == "__main__":
    sys.exit(command_line(main))
