"""The figures and tables the notebooks show, drawn from ``scores.TrainResult``s."""

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from scores import SOLVE_SCORE, TrainResult

MAX_EPISODE_SCORE = 40.04  # 1001 steps x 0.04, the most an arm can score


def _axes(ax: Axes | None, height: float = 4.5) -> Axes:
    return plt.subplots(figsize=(8, height))[1] if ax is None else ax


def _episode_range(ax: Axes, episodes: int) -> None:
    """x from episode 1 with a margin on the right, so a line at the last episode shows."""
    ax.set_xlim(0, episodes + max(3, episodes // 25))


def _legend_below(ax: Axes, columns: int) -> None:
    """The legend under the axes: inside, it would hide part of the curves."""
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=columns, frameon=False)


def plot_scores(result: TrainResult, ax: Axes | None = None) -> Axes:
    """The course's learning curve of a run.

    Draws each episode's score (the mean over the arms) with the arms' min-max band, the mean
    of the last ``result.window`` episodes (fewer at the start), the ``solve_score`` it must
    reach, and marks the window end, where it first does.
    """
    ax = _axes(ax)
    scores = result.scores
    episodes = np.arange(1, len(scores) + 1)
    ax.fill_between(
        episodes,
        scores.min(axis=1),
        scores.max(axis=1),
        color="tab:blue",
        alpha=0.2,
        linewidth=0,
        label="min–max over the arms",
    )
    ax.plot(episodes, result.episode_means, color="tab:blue", label="episode score (arms' mean)")
    ax.plot(
        episodes,
        result.window_means,
        color="tab:orange",
        lw=2,
        label=f"mean of the last {result.window} episodes",
    )
    ax.axhline(result.solve_score, color="tab:green", ls="--", label=f"+{result.solve_score:g}")
    end = result.solved_episode
    if end is not None:
        ax.axvline(end, color="tab:green", lw=1)
        ax.plot(end, result.window_means[end - 1], "o", color="tab:green", ms=7, zorder=3)
        ax.annotate(
            f"solved: window end {end}",
            (end, result.window_means[end - 1]),
            xytext=(-10, -30),
            textcoords="offset points",
            ha="right",
            color="tab:green",
        )
    ax.set(xlabel="episode", ylabel="score")
    _episode_range(ax, len(scores))
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    return ax


def plot_seed_curves(results: Sequence[TrainResult], ax: Axes | None = None) -> Axes:
    """Several seeds' runs: mean ± std over the seeds while every seed runs, then each seed.

    Runs that stop when solved end at different episodes; a mean over the seeds still running
    would change its make-up where each one stops, so it ends with the shortest run and every
    seed's own 100-episode mean goes on from there.
    """
    ax = _axes(ax)
    shortest = min(len(r.scores) for r in results)
    episodes = np.arange(1, shortest + 1)
    for curve, label, color in (
        ("episode_means", "episode score", "tab:blue"),
        ("window_means", f"mean of the last {results[0].window} episodes", "tab:orange"),
    ):
        data = np.array([getattr(r, curve)[:shortest] for r in results])
        mean, std = data.mean(axis=0), data.std(axis=0)
        ax.plot(episodes, mean, color=color, label=f"{label}: mean ± std of {len(results)} seeds")
        ax.fill_between(episodes, mean - std, mean + std, color=color, alpha=0.25, linewidth=0)
    for i, r in enumerate(results):
        ax.plot(
            np.arange(shortest, len(r.scores) + 1),
            r.window_means[shortest - 1 :],
            color="tab:orange",
            lw=0.8,
            label=f"each seed's mean of the last {r.window} after episode {shortest}"
            if i == 0
            else None,
        )
    ax.axvline(shortest, color="gray", ls=":", lw=1)
    ax.axhline(results[0].solve_score, color="tab:green", ls="--", label="+30")
    ax.set(xlabel="episode", ylabel="score")
    _episode_range(ax, max(len(r.scores) for r in results))
    _legend_below(ax, columns=2)
    ax.grid(alpha=0.3)
    return ax


def plot_algorithms(groups: dict[str, Sequence[TrainResult]], ax: Axes | None = None) -> Axes:
    """Several algorithms on one plot: for each, the median episode score over its seeds with
    the min-max band, as long as all its seeds run, then each seed that ran on as a thin line
    (the same make-up throughout, as in ``plot_seed_curves``)."""
    ax = _axes(ax)
    for i, (label, results) in enumerate(groups.items()):
        color = f"C{i}"
        shortest = min(len(r.scores) for r in results)
        data = np.array([r.episode_means[:shortest] for r in results])
        episodes = np.arange(1, shortest + 1)
        ax.plot(episodes, np.median(data, axis=0), color=color, lw=2, label=f"{label}: median")
        ax.fill_between(
            episodes,
            data.min(axis=0),
            data.max(axis=0),
            color=color,
            alpha=0.2,
            linewidth=0,
            label=f"{label}: min–max of {len(results)} seeds",
        )
        longer = [r for r in results if len(r.scores) > shortest]
        for k, r in enumerate(longer):
            ax.plot(
                np.arange(shortest, len(r.scores) + 1),
                r.episode_means[shortest - 1 :],
                color=color,
                lw=0.7,
                label=f"{label}: each of {len(longer)} seeds run longer" if k == 0 else None,
            )
    ax.axhline(SOLVE_SCORE, color="gray", ls="--", label=f"+{SOLVE_SCORE:g}")
    ax.set(xlabel="episode", ylabel="episode score (arms' mean)")
    _episode_range(ax, max(len(r.scores) for results in groups.values() for r in results))
    _legend_below(ax, columns=2)
    ax.grid(alpha=0.3)
    return ax


def plot_greedy(result: TrainResult, ax: Axes | None = None) -> Axes:
    """Greedy evaluation episodes: each episode's score with the arms' min-max band."""
    ax = _axes(ax, height=3.5)
    episodes = np.arange(1, len(result.scores) + 1)
    ax.fill_between(
        episodes, result.scores.min(axis=1), result.scores.max(axis=1), alpha=0.2, linewidth=0
    )
    ax.plot(episodes, result.episode_means, "o-", ms=3, label="episode score (band: min–max arm)")
    ax.axhline(MAX_EPISODE_SCORE, color="gray", ls=":", label=f"ceiling {MAX_EPISODE_SCORE}")
    ax.axhline(result.solve_score, color="tab:green", ls="--", label=f"+{result.solve_score:g}")
    ax.set(xlabel="greedy episode", ylabel="score")
    _legend_below(ax, columns=3)
    ax.grid(alpha=0.3)
    return ax


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table, for ``IPython.display.Markdown``."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)
