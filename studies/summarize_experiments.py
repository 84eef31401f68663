"""Tabulate the tuning experiments kept under results/experiments/ (one train.py run each).

Each experiment directory holds the ``config.json`` and ``scores.csv`` that
``train.py --out DIR`` wrote, or a trial of ``studies.sweep`` wrote one level deeper
(``results/experiments/<sweep>/<run>/``). The table lists what each run changed relative to
the baseline recipe and its episode score (20-arm mean) at a few episodes; it is written to
``results/experiments/README.md``.

    .venv/bin/python -m studies.summarize_experiments
"""

import json
import math
import statistics
from pathlib import Path

from scores import TrainResult, read_scores

EXPERIMENTS = Path("results/experiments")
# The baseline recipe: the hyper-parameters of the published student solution this project set
# out from (README, Terms). Each experiment's changes from it are listed; a field its config.json
# lacks (the run predates the field) had the recipe's value.
BASELINE_RECIPE = {
    "actor_hidden": [256, 128],
    "critic_hidden": [128, 128],
    "batch_norm": True,
    "output_init": 3e-3,
    "critic_action_input": False,
    "lr_actor": 1e-3,
    "lr_critic": 1e-3,
    "batch_size": 256,
    "tau": 1e-3,
    "gamma": 0.99,
    "learn_every": 20,
    "learn_iterations": 10,
    "n_step": 1,
    "ou_theta": 0.15,
    "ou_sigma": 0.2,
    "noise_scale": 1.0,
    "noise_decay": 1.0,
    "noise_min": 0.0,
    "warmup_steps": 0,
    "twin_critics": False,
    "target_noise": 0.0,
    "policy_delay": 1,
}
MILESTONES = (10, 20, 30, 40, 50)
# The runs made before the simulator took PhysX's velocity step (docs/environment.md, "Dynamics
# fidelity"), on MuJoCo's exact dynamics; every other run is on the PhysX step.
EXACT_DYNAMICS_RUNS = frozenset(
    [
        "a1",
        "a2",
        "e1",
        "e2",
        "e3",
        "e4",
        "e5",
        "g1",
        "g2",
        "n10",
        "n20",
        "u2",
        "u8",
        "fid_td3_exact_s0",
    ]
    + [f"decay098_seed{k}" for k in range(4)]
)


def _first(r: TrainResult) -> str:
    """The first episode scoring >= 30, or "> N" for a run of N episodes that never did."""
    return str(r.first_episode_at_solve_score or f"> {len(r.scores)}")


def _window_end(r: TrainResult) -> str:
    end = r.solved_episode
    return str(end) if end else (f"> {len(r.scores)}" if len(r.scores) >= r.window else "–")


def ablation_row(label: str, runs: list[Path]) -> list[str]:
    """One row of the Report's ablation table: ``label``, the number of seeds, then per seed
    (joined by " / ") the score at episodes 10, 20 and 30, the first episode scoring >= 30 and
    the window end; "> N" where a run of N episodes did not get there, "–" where it stopped
    before the figure exists (an episode not reached, a window end before 100 episodes)."""
    results = [read_scores(run / "scores.csv") for run in runs]

    def per_seed(value) -> str:
        return " / ".join(value(r) for r in results)

    def score_at(k: int):
        return lambda r: f"{r.episode_means[k - 1]:.1f}" if len(r.scores) >= k else "–"

    cells = [per_seed(score_at(k)) for k in (10, 20, 30)]
    return [label, str(len(runs)), *cells, per_seed(_first), per_seed(_window_end)]


def peer_row(label: str, runs: list[Path]) -> list[str]:
    """One algorithm's row of the Report's side-by-side table: ``label``, then per seed
    (joined by " / ") the first episode scoring >= 30, its median over the seeds (a range
    where runs cut short leave it open), the window end, the mean of the first
    100 episodes, the greedy score of the kept actor where the run measured one
    (``greedy_eval.csv``), and the median seconds per training episode."""
    results = [read_scores(run / "scores.csv") for run in runs]
    # A run of N episodes that never scored 30 would have got there at N + 1 at the earliest,
    # or never: the median lies between the two medians.
    low = statistics.median(r.first_episode_at_solve_score or len(r.scores) + 1 for r in results)
    high = statistics.median(r.first_episode_at_solve_score or math.inf for r in results)
    if low == high:
        median_first = f"{low:g}"
    else:
        median_first = f"≥ {low:g}" if math.isinf(high) else f"{low:g}–{high:g}"
    window = [
        f"{r.window_means[r.window - 1]:.2f}" if len(r.scores) >= r.window else "–" for r in results
    ]
    greedy = [
        f"{read_scores(run / 'greedy_eval.csv').episode_means.mean():.2f}"
        if (run / "greedy_eval.csv").is_file()
        else "–"
        for run in runs
    ]
    seconds = statistics.median(r.episode_seconds.mean() for r in results)
    return [
        label,
        " / ".join(_first(r) for r in results),
        median_first,
        " / ".join(_window_end(r) for r in results),
        " / ".join(window),
        " / ".join(greedy),
        f"{seconds:.1f}",
    ]


def main() -> None:
    lines = [
        "# Tuning experiments",
        "",
        "One training run each on the in-process simulator: `train.py --env sim --seed S --set`",
        "with the changes listed (the `decay098_seed*` runs are the workers of an aborted",
        "`studies.solve` study; `course_prev_default` is the course notebook's run through",
        "`unityagents` with the defaults before the `p_*` screens, `course_action_at_second_layer`",
        "its run with the defaults before the `q_*` screens, whose critic took the action at its",
        "second layer, and `course_lr1e3_output_init_3e-3` its run with the defaults of those",
        "screens). Each `config.json` holds the full configuration. Scores are the per-episode",
        "20-arm mean; most runs were stopped once they had answered their question.",
        "`dynamics`: the simulator's exact dynamics of the early runs, or the PhysX velocity step",
        "of the later ones.",
        "",
        "| run | dynamics | changes from the baseline recipe | episodes | "
        + " | ".join(f"ep {k}" for k in MILESTONES)
        + " | first ≥ 30 | best |",
        "|---|---|---|---:|" + "---:|" * (len(MILESTONES) + 2),
    ]
    for run in sorted(p.parent for p in EXPERIMENTS.rglob("scores.csv")):
        config = json.loads((run / "config.json").read_text())["config"]
        result = read_scores(run / "scores.csv")
        means = result.episode_means
        name = str(run.relative_to(EXPERIMENTS))
        dynamics = "exact" if name in EXACT_DYNAMICS_RUNS else "PhysX"
        first = result.first_episode_at_solve_score
        changes = ", ".join(
            f"{key}={config[key]}"
            for key, value in BASELINE_RECIPE.items()
            if config.get(key, value) != value
        )
        at = [f"{means[k - 1]:.2f}" if len(means) >= k else "–" for k in MILESTONES]
        lines.append(
            f"| {name} | {dynamics} | {changes or 'none'} | {len(means)} | "
            f"{' | '.join(at)} | {first or '–'} | {max(means):.2f} |"
        )
    (EXPERIMENTS / "README.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
