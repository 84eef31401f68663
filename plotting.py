"""The learning-curve plot shared by the notebooks."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from train import TrainResult


def plot_scores(
    scores: np.ndarray, window: int = 100, target: float = 30.0, ax: Axes | None = None
) -> Axes:
    """The course's learning curve from every arm's score in every episode (episodes, arms).

    Draws each episode's mean over the arms with the arms' min–max band, the mean of the last
    ``window`` episodes (fewer at the start) and the ``target`` it must reach, and marks the
    episode where it first does: the solve rule of ``train.TrainResult``.
    """
    scores = np.asarray(scores, dtype=np.float64)
    curve = TrainResult(scores, np.zeros(len(scores)), window=window, solve_score=target)
    episodes = np.arange(1, len(scores) + 1)

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5))
    ax.fill_between(
        episodes,
        scores.min(axis=1),
        scores.max(axis=1),
        color="tab:blue",
        alpha=0.2,
        linewidth=0,
        label="min–max over the arms",
    )
    ax.plot(episodes, curve.episode_means, color="tab:blue", label="episode score (arms' mean)")
    ax.plot(episodes, curve.window_means, color="tab:orange", lw=2, label=f"mean of last {window}")
    ax.axhline(target, color="tab:green", ls="--", label=f"target +{target:g}")
    if curve.solved_episode is not None:
        ax.axvline(curve.solved_episode, color="tab:green", lw=1, label="solved")
    ax.set(xlabel="episode", ylabel="score", xlim=(1, max(len(scores), 2)))
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    return ax
