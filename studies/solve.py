"""Multi-seed study: how many episodes and how much wall-clock the default agent needs to solve.

Each seed trains the default ``DDPGConfig`` (plus any ``--set`` overrides) on the in-process
simulator until the course's rule is met (the mean of the per-episode 20-arm mean over 100
consecutive episodes >= 30) or ``--max-episodes`` runs out, then plays ``--eval-episodes``
greedy episodes (no noise) with the final actor on a simulator seeded differently from
training. Seeds run in parallel worker processes (``--jobs``), one torch thread each.

Writes under ``--out``: ``seed_<k>/scores.csv`` (the trainer's per-episode log),
``seed_<k>/checkpoint_*.pth``, ``summary.csv``, ``summary.md`` and ``curves.png`` (mean ± std
over seeds of the per-episode score and of the 100-episode window). The last line printed is
``median_window_end: N``.

    .venv/bin/python -m studies.solve --seeds 0 1 2 3 4 --jobs 2 --out results/solve
"""

import argparse
import csv
import dataclasses
import json
import multiprocessing
import os
import time
from pathlib import Path

import numpy as np

EVAL_SEED_OFFSET = 1000  # greedy evaluation uses sim seeds never used in training


@dataclasses.dataclass
class SeedResult:
    seed: int
    episodes: int
    window_end: int | None  # first episode whose 100-episode window mean >= 30 (floor 100)
    episodes_minus_100: int | None  # the course notebook's printout convention
    seconds_to_solve: float | None  # training wall-clock up to and including window_end
    seconds_total: float
    best_window_mean: float
    greedy_mean: float  # mean over eval episodes of the per-episode 20-arm mean
    greedy_std: float


def run_seed(seed: int, overrides: dict, max_episodes: int, eval_episodes: int, out: str):
    """Train one seed until solved (or max_episodes), then evaluate greedily. In a worker."""
    import torch

    torch.set_num_threads(1)
    from ddpg_agent import Agent, DDPGConfig
    from reacher.sim import ReacherSim
    from train import SimEnv, evaluate, train

    directory = Path(out) / f"seed_{seed}"
    env = SimEnv(ReacherSim(num_agents=20, seed=seed))
    agent = Agent(env.state_size, env.action_size, env.num_agents, DDPGConfig(**overrides), seed)
    result = train(
        env,
        agent,
        max_episodes,
        checkpoint_dir=directory,
        log_path=directory / "scores.csv",
        progress=False,
        stop_when_solved=True,
    )
    greedy = evaluate(SimEnv(ReacherSim(20, seed + EVAL_SEED_OFFSET)), agent, eval_episodes)
    end = result.solved_episode
    return SeedResult(
        seed=seed,
        episodes=len(result.scores),
        window_end=end,
        episodes_minus_100=result.episodes_to_solve,
        seconds_to_solve=None if end is None else float(result.episode_seconds[:end].sum()),
        seconds_total=float(result.episode_seconds.sum()),
        best_window_mean=result.best_window[1],
        greedy_mean=float(greedy.mean(axis=1).mean()),
        greedy_std=float(greedy.mean(axis=1).std()),
    )


def read_episode_means(path: Path) -> np.ndarray:
    with open(path) as f:
        return np.array([float(row["mean"]) for row in csv.DictReader(f)])


def plot_curves(out: Path, seeds: list[int]) -> None:
    """Mean ± std over seeds of the episode score and the 100-episode window."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from train import TrainResult  # the course's window means, as the trainer computes them

    curves = [read_episode_means(out / f"seed_{s}" / "scores.csv") for s in seeds]
    length = max(len(c) for c in curves)
    # A seed that stopped early (solved) is padded with NaN and the mean is over the seeds
    # still running, so the band shows where each run ended.
    padded = np.full((len(curves), length), np.nan)
    windows = np.full((len(curves), length), np.nan)
    for i, c in enumerate(curves):
        padded[i, : len(c)] = c
        windows[i, : len(c)] = TrainResult(c[:, None], np.zeros(len(c))).window_means
    episodes = np.arange(1, length + 1)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for data, label in ((padded, "episode score (20-arm mean)"), (windows, "100-episode mean")):
        mean, std = np.nanmean(data, axis=0), np.nanstd(data, axis=0)
        ax.plot(episodes, mean, label=f"{label}, mean of {len(seeds)} seeds")
        ax.fill_between(episodes, mean - std, mean + std, alpha=0.25)
    ax.axhline(30, color="k", ls="--", lw=1, label="solved: +30")
    ax.set(xlabel="episode", ylabel="score", title="DDPG on the 20-arm Reacher: mean ± std")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=120)
    plt.close(fig)


def write_summary(out: Path, results: list[SeedResult], meta: dict) -> None:
    fields = [f.name for f in dataclasses.fields(SeedResult)]
    with open(out / "summary.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(dataclasses.asdict(r) for r in results)
    (out / "study.json").write_text(json.dumps(meta, indent=2) + "\n")

    def fmt(x: float | int | None, spec: str = "") -> str:
        return "not solved" if x is None else format(x, spec)

    lines = [
        "| seed | window end | episodes − 100 | minutes to solve | best 100-window | "
        "greedy score (mean ± std) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        minutes = None if r.seconds_to_solve is None else r.seconds_to_solve / 60
        lines.append(
            f"| {r.seed} | {fmt(r.window_end)} | {fmt(r.episodes_minus_100)} | "
            f"{fmt(minutes, '.1f')} | {r.best_window_mean:.2f} | "
            f"{r.greedy_mean:.2f} ± {r.greedy_std:.2f} |"
        )
    (out / "summary.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--jobs", type=int, default=2, help="parallel worker processes")
    parser.add_argument("--max-episodes", type=int, default=200)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("results/solve"))
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()

    from train import parse_overrides  # imports torch; keep --help fast

    overrides = parse_overrides(args.set)
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    # spawn: each worker is a fresh interpreter with one torch thread and its own RNG state.
    context = multiprocessing.get_context("spawn")
    with context.Pool(args.jobs) as pool:
        jobs = [
            pool.apply_async(
                run_seed, (s, overrides, args.max_episodes, args.eval_episodes, str(args.out))
            )
            for s in args.seeds
        ]
        results = [job.get() for job in jobs]
    meta = {
        "seeds": args.seeds,
        "jobs": args.jobs,
        "cpus": os.cpu_count(),
        "max_episodes": args.max_episodes,
        "eval_episodes": args.eval_episodes,
        "overrides": overrides,
        "study_seconds": time.perf_counter() - start,
    }
    write_summary(args.out, results, meta)
    plot_curves(args.out, args.seeds)
    print((args.out / "summary.md").read_text())
    ends = [r.window_end for r in results]
    solved = [e for e in ends if e is not None]
    minutes = [r.seconds_to_solve / 60 for r in results if r.seconds_to_solve is not None]
    print(f"solved: {len(solved)} of {len(ends)} seeds")
    if minutes:
        print(f"median_minutes_to_solve: {np.median(minutes):.1f}")
    # An unsolved seed counts as worse than any solved one in the median.
    median = np.median([e if e is not None else np.inf for e in ends])
    print(f"median_window_end: {median:g}")


if __name__ == "__main__":
    main()
