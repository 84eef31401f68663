"""Tabulate the tuning experiments kept under results/experiments/ (one train.py run each).

Each experiment directory holds the ``config.json`` and ``scores.csv`` that
``train.py --out DIR`` wrote, or a trial of ``studies.sweep`` wrote one level deeper
(``results/experiments/<sweep>/<run>/``). The table lists what each run changed relative to
the baseline recipe and its episode score (20-arm mean) at a few episodes; it is written to
``results/experiments/README.md``.

    .venv/bin/python -m studies.summarize_experiments
"""

import json
from pathlib import Path

from scores import read_scores

EXPERIMENTS = Path("results/experiments")
# The baseline recipe: the hyper-parameters of the published student solution this project set
# out from (README, Terms). Each experiment's changes from it are listed.
BASELINE_RECIPE = {
    "actor_hidden": [256, 128],
    "critic_hidden": [128, 128],
    "batch_norm": True,
    "lr_actor": 1e-3,
    "lr_critic": 1e-3,
    "batch_size": 256,
    "tau": 1e-3,
    "gamma": 0.99,
    "learn_every": 20,
    "learn_iterations": 10,
    "n_step": 1,
    "noise_scale": 1.0,
    "noise_decay": 1.0,
}
MILESTONES = (10, 20, 30, 40, 50)


def main() -> None:
    lines = [
        "# Tuning experiments",
        "",
        "One training run each on the in-process simulator: `train.py --env sim --seed S --set`",
        "with the changes listed (the `decay098_seed*` runs are the workers of an aborted",
        "`studies.solve` study). Each `config.json` holds the full configuration. Scores are",
        "the per-episode 20-arm mean; most runs were stopped once they had answered",
        "their question.",
        "",
        "| run | changes from the baseline recipe | episodes | "
        + " | ".join(f"ep {k}" for k in MILESTONES)
        + " | best |",
        "|---|---|---:|" + "---:|" * (len(MILESTONES) + 1),
    ]
    for run in sorted(p.parent for p in EXPERIMENTS.rglob("scores.csv")):
        config = json.loads((run / "config.json").read_text())["config"]
        means = read_scores(run / "scores.csv").episode_means
        changes = ", ".join(
            f"{key}={config[key]}" for key, value in BASELINE_RECIPE.items() if config[key] != value
        )
        at = [f"{means[k - 1]:.2f}" if len(means) >= k else "–" for k in MILESTONES]
        lines.append(
            f"| {run.relative_to(EXPERIMENTS)} | {changes or 'none'} | {len(means)} | "
            f"{' | '.join(at)} | {max(means):.2f} |"
        )
    (EXPERIMENTS / "README.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
