"""Multi-seed study: how many episodes and how much wall-clock the default agent needs to solve.

Each seed trains the default ``DDPGConfig`` (plus any ``--set`` overrides) on the in-process
simulator until the course's rule is met (the mean of the per-episode 20-arm mean over 100
consecutive episodes >= 30) or ``--max-episodes`` runs out, then plays ``--eval-episodes``
greedy episodes (no noise) with the saved actor on a simulator seeded differently from
training: the best of the greedy checks every ``--greedy-every`` episodes
(``train.GreedyChecks``, on seeds of their own), or the final one with ``--greedy-every 0``.
Each seed is one trial of ``studies.runner`` on Ray: side by side, one per core, on this
machine or on a cluster (``--address``); running the command again resumes an interrupted
study.

Writes under ``--out``: ``seed_<k>/scores.csv`` (the trainer's per-episode log),
``seed_<k>/config.json``, ``seed_<k>/greedy_eval.csv``, ``seed_<k>/checkpoint_*.pth``,
``seed_<k>/greedy_checks.csv``, ``seed_<k>/last/`` (the final networks),
``summary.csv``, ``summary.md``, ``study.json`` and ``curves.png`` (mean ± std over seeds of
the per-episode score and of the 100-episode window). The last line printed is
``median_window_end: N``.

    .venv/bin/python -m studies.solve --seeds 0 1 2 3 4 --out results/solve
"""

import argparse
import csv
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from ray import tune

from scores import read_scores
from studies.runner import (
    Study,
    add_cluster_arguments,
    checked_settings,
    command_line,
    run_study,
)
from train import at_least


@dataclasses.dataclass
class SeedResult:
    seed: int
    episodes: int
    window_end: int | None  # first episode whose 100-episode window mean >= 30 (floor 100)
    first_episode_ge_30: int | None  # first episode whose own 20-arm score >= 30
    episodes_minus_100: int | None  # the course notebook's printout convention
    seconds_to_solve: float | None  # training wall-clock up to and including window_end
    seconds_total: float
    best_window_mean: float
    greedy_mean: float  # mean over eval episodes of the per-episode 20-arm mean
    greedy_std: float


def seed_result(seed: int, directory: Path) -> SeedResult:
    """The seed's figures, from the files its trial wrote."""
    result = read_scores(directory / "scores.csv")
    greedy = read_scores(directory / "greedy_eval.csv")
    end = result.solved_episode
    return SeedResult(
        seed=seed,
        episodes=len(result.scores),
        window_end=end,
        first_episode_ge_30=result.first_episode_at_solve_score,
        episodes_minus_100=result.episodes_to_solve,
        seconds_to_solve=result.seconds_to_solve,
        seconds_total=float(result.episode_seconds.sum()),
        best_window_mean=result.best_window[1],
        greedy_mean=float(greedy.episode_means.mean()),
        greedy_std=float(greedy.episode_means.std()),
    )


def plot_curves(out: Path, seeds: list[int]) -> None:
    """``curves.png``: the seeds' learning curves (``plotting.plot_seed_curves``)."""
    import matplotlib

    matplotlib.use("Agg")
    from plotting import plot_seed_curves

    ax = plot_seed_curves([read_scores(out / f"seed_{s}" / "scores.csv") for s in seeds])
    ax.figure.savefig(out / "curves.png", dpi=120, bbox_inches="tight")


def write_summary(out: Path, results: list[SeedResult], meta: dict) -> None:
    fields = [f.name for f in dataclasses.fields(SeedResult)]
    with open(out / "summary.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(dataclasses.asdict(r) for r in results)
    (out / "study.json").write_text(json.dumps(meta, indent=2) + "\n")

    def fmt(x: float | int | None, spec: str = "", missing: str = "not solved") -> str:
        return missing if x is None else format(x, spec)

    lines = [
        "| seed | window end | first episode ≥ 30 | episodes − 100 | minutes to solve | "
        "best 100-window | greedy score (mean ± std) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        minutes = None if r.seconds_to_solve is None else r.seconds_to_solve / 60
        lines.append(
            f"| {r.seed} | {fmt(r.window_end)} | {fmt(r.first_episode_ge_30, missing='never')} | "
            f"{fmt(r.episodes_minus_100)} | "
            f"{fmt(minutes, '.1f')} | {r.best_window_mean:.2f} | "
            f"{r.greedy_mean:.2f} ± {r.greedy_std:.2f} |"
        )
    (out / "summary.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--max-episodes", type=at_least(1), default=200)
    parser.add_argument("--eval-episodes", type=at_least(1), default=10)
    parser.add_argument("--max-steps", type=at_least(1), default=None, help="truncate episodes")
    parser.add_argument(
        "--greedy-every",
        type=at_least(0),
        default=5,
        help="episodes between greedy checks choosing each seed's saved actor (0: the last)",
    )
    parser.add_argument("--out", type=Path, default=Path("results/solve"))
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    add_cluster_arguments(parser)
    args = parser.parse_args(argv)
    if len(set(args.seeds)) != len(args.seeds):  # two trials would write one seed_<k>/
        parser.error(f"--seeds must differ, got {' '.join(map(str, args.seeds))}")

    overrides = checked_settings(parser, args.set)
    out = args.out.resolve()
    study = Study(
        out=out,
        episodes=args.max_episodes,
        max_steps=args.max_steps,
        fixed=overrides,
        stop_when_solved=True,
        eval_episodes=args.eval_episodes,
        greedy_every=args.greedy_every,
        by_trial=False,  # seed_<k>/
    )
    start = time.perf_counter()
    command = {k: v for k, v in vars(args).items() if k != "address"}
    space = {"seed": tune.grid_search(args.seeds)}
    jobs = run_study(study, space, total=len(args.seeds), command=command, address=args.address)
    results = [seed_result(s, out / f"seed_{s}") for s in args.seeds]
    meta = {
        "seeds": args.seeds,
        "jobs": jobs,  # seeds at a time: the CPUs Ray offered
        "cpus": os.cpu_count(),  # of the machine that ran the study
        "address": args.address or "local",
        "max_episodes": args.max_episodes,
        "eval_episodes": args.eval_episodes,
        "max_steps": args.max_steps,
        "overrides": overrides,
        "study_seconds": time.perf_counter() - start,
    }
    write_summary(out, results, meta)
    plot_curves(out, args.seeds)
    print((out / "summary.md").read_text())
    ends = [r.window_end for r in results]
    solved = [e for e in ends if e is not None]
    minutes = [r.seconds_to_solve / 60 for r in results if r.seconds_to_solve is not None]
    print(f"solved: {len(solved)} of {len(ends)} seeds")
    if minutes:
        print(f"median_minutes_to_solve: {np.median(minutes):.1f}")
    # An unsolved seed counts as worse than any solved one in the median.
    median = np.median([e if e is not None else np.inf for e in ends])
    firsts = [r.first_episode_ge_30 for r in results]
    print(f"median_first_episode_ge_30: {np.median([f or np.inf for f in firsts]):g}")
    print(f"median_window_end: {median:g}")


if __name__ == "__main__":
    sys.exit(command_line(main))
