"""A run's scores, the course's solve rule over them, and their file ``scores.csv``.

``TrainResult`` holds every arm's score in every episode and derives what the course asks
for: the episode score (the mean over the arms), the mean of the last 100 episodes, and the
*window end*, the first episode at which that mean reaches +30. ``ScoresLog`` writes
``scores.csv`` row by row while a run goes on; ``write_scores`` writes a finished run;
``read_scores`` reads either back, for the studies, the Report and the tests.
"""

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WINDOW = 100  # episodes in the course's moving window
SOLVE_SCORE = 30.0  # the window mean that solves the environment
COLUMNS = ["episode", "mean", "min", "max", "window_mean", "episode_seconds", "elapsed_seconds"]
ARM_COLUMN = "arm_{}"  # then one column per arm: arm_0, arm_1, ...


@dataclass
class TrainResult:
    """Scores of a run and the course's solve rule, all derived from ``scores``."""

    scores: np.ndarray  # (episodes, num_agents): every arm's score in every episode
    episode_seconds: np.ndarray  # wall-clock of every episode
    window: int = WINDOW
    solve_score: float = SOLVE_SCORE
    interrupted: bool = False  # stopped by Ctrl-C

    @property
    def episode_means(self) -> np.ndarray:
        """Per-episode mean over the arms: the course's episode score."""
        return self.scores.mean(axis=1)

    @property
    def window_means(self) -> np.ndarray:
        """Mean episode score over the last ``window`` episodes (fewer at the start)."""
        sums = np.concatenate(([0.0], np.cumsum(self.episode_means)))
        end = np.arange(1, len(self.scores) + 1)
        start = np.maximum(0, end - self.window)
        return (sums[end] - sums[start]) / (end - start)

    @property
    def solved_episode(self) -> int | None:
        """Window end: the first episode (>= window) whose window mean reaches solve_score."""
        full = self.window_means[self.window - 1 :]
        hits = np.flatnonzero(full >= self.solve_score)
        return int(hits[0]) + self.window if len(hits) else None

    @property
    def first_episode_at_solve_score(self) -> int | None:
        """The first episode whose own score (the arms' mean) reaches solve_score: how soon the
        agent is good, where the window end also counts how long it stays good."""
        hits = np.flatnonzero(self.episode_means >= self.solve_score)
        return int(hits[0]) + 1 if len(hits) else None

    @property
    def episodes_to_solve(self) -> int | None:
        """The course notebook's printout: window end minus the window ("episodes - 100")."""
        end = self.solved_episode
        return None if end is None else end - self.window

    @property
    def seconds_to_solve(self) -> float | None:
        """Wall-clock of the episodes up to and including the window end."""
        end = self.solved_episode
        return None if end is None else float(self.episode_seconds[:end].sum())

    @property
    def best_window(self) -> tuple[int, float] | None:
        """(episode, mean) of the best full window; best running mean if no window is full."""
        means = self.window_means
        if len(means) == 0:
            return None
        first = self.window - 1 if len(means) >= self.window else 0
        i = first + int(np.argmax(means[first:]))
        return i + 1, float(means[i])


def _header(num_agents: int) -> list[str]:
    return COLUMNS + [ARM_COLUMN.format(i) for i in range(num_agents)]


def _row(result: TrainResult, i: int, elapsed_seconds: float) -> list[str]:
    """The CSV row of episode ``i`` (0-based)."""
    arms = result.scores[i]
    stats = (arms.mean(), arms.min(), arms.max(), result.window_means[i])
    return (
        [str(i + 1)]
        + [f"{x:.4f}" for x in stats]
        + [f"{result.episode_seconds[i]:.3f}", f"{elapsed_seconds:.3f}"]
        + [f"{x:.4f}" for x in arms]
    )


class ScoresLog:
    """``scores.csv`` of a run in progress: one row per episode, flushed at once, so that an
    interrupted run keeps every finished episode's scores."""

    def __init__(self, path: str | Path, num_agents: int, append: bool = False) -> None:
        """``append``: continue the file of a resumed run (its rows are the result's first)."""
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a" if append else "w", newline="")  # noqa: SIM115 (close())
        self._writer = csv.writer(self._file)
        if not append:
            self._writer.writerow(_header(num_agents))

    def append(self, result: TrainResult, elapsed_seconds: float) -> None:
        """Write the row of ``result``'s last episode; ``elapsed_seconds`` since the start."""
        self._writer.writerow(_row(result, len(result.scores) - 1, elapsed_seconds))
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def write_scores(path: str | Path, result: TrainResult) -> None:
    """Write a finished run (the elapsed time is the sum of the episodes' seconds)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(_header(result.scores.shape[1]))
        elapsed = np.cumsum(result.episode_seconds)
        writer.writerows(_row(result, i, elapsed[i]) for i in range(len(result.scores)))


def read_scores(
    path: str | Path, window: int = WINDOW, solve_score: float = SOLVE_SCORE
) -> TrainResult:
    """The run in a ``scores.csv``: every arm's score and every episode's seconds."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path} holds no episodes")
    arms = [key for key in rows[0] if key.startswith(ARM_COLUMN.format(""))]
    scores = np.array([[float(row[key]) for key in arms] for row in rows])
    seconds = np.array([float(row["episode_seconds"]) for row in rows])
    return TrainResult(scores, seconds, window, solve_score)
