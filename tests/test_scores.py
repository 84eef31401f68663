"""scores.py: the course's solve rule, and scores.csv written and read back."""

from pathlib import Path

import numpy as np
import pytest

from scores import ScoresLog, TrainResult, read_scores, write_scores


def result_of(episode_means) -> TrainResult:
    means = np.asarray(episode_means, dtype=float)
    scores = np.stack([means - 1, means + 1], axis=1)  # two arms around each mean
    return TrainResult(scores, np.ones(len(means)))


def test_solve_rule_reports_window_end_and_episodes_minus_100():
    result = result_of(np.linspace(0, 40, 200))  # window mean crosses 30 late
    means = result.episode_means
    expected = next(e for e in range(100, 201) if means[e - 100 : e].mean() >= 30)
    assert result.solved_episode == expected
    assert result.episodes_to_solve == expected - 100
    assert result.seconds_to_solve == expected  # one second per episode
    np.testing.assert_allclose(result.window_means[-1], means[-100:].mean())


def test_solve_rule_has_a_floor_of_100_episodes():
    result = result_of([35.0] * 120)
    assert result.solved_episode == 100 and result.episodes_to_solve == 0
    assert result_of([35.0] * 99).solved_episode is None
    unsolved = result_of([29.9] * 150)
    assert unsolved.solved_episode is None and unsolved.seconds_to_solve is None


def test_first_episode_at_solve_score_is_the_first_episode_mean_at_30():
    assert result_of([10.0, 29.9, 30.0, 12.0, 31.0]).first_episode_at_solve_score == 3
    assert result_of([29.9] * 150).first_episode_at_solve_score is None


def test_best_window_is_the_running_mean_until_a_window_is_full():
    assert result_of([3.0, 5.0, 1.0]).best_window == (2, 4.0)
    ramp = result_of([50.0] + [0.0] * 98 + [10.0] * 20)  # early luck beats no full window
    episode, mean = ramp.best_window
    assert episode == 119 and mean == pytest.approx(np.mean([0.0] * 80 + [10.0] * 20))


def test_scores_csv_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    result = TrainResult(rng.uniform(0, 40, (5, 3)).round(4), rng.uniform(1, 2, 5).round(3))
    log = ScoresLog(tmp_path / "live.csv", num_agents=3)
    for k in range(1, 6):  # as the trainer writes it: a row after every episode
        log.append(TrainResult(result.scores[:k], result.episode_seconds[:k]), elapsed_seconds=k)
    log.close()
    write_scores(tmp_path / "at_once.csv", result)
    for name in ("live.csv", "at_once.csv"):
        back = read_scores(tmp_path / name)
        np.testing.assert_array_equal(back.scores, result.scores)
        np.testing.assert_array_equal(back.episode_seconds, result.episode_seconds)
    header = (tmp_path / "live.csv").read_text().splitlines()[0]
    assert header.startswith("episode,mean,min,max,window_mean,") and header.endswith(",arm_2")


def test_committed_scores_files_read_back():
    result = read_scores(Path(__file__).resolve().parents[1] / "results" / "scores.csv")
    assert result.scores.shape[1] == 20 and result.solved_episode is not None
