"""studies/sb3_peer.py: the 20 arms as Stable-Baselines3's vectorised environments.

SB3 is not in the default install (README, "Benchmarks and studies"); without it these tests
skip."""

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from studies.sb3_peer import STEPS_PER_EPISODE, ReacherSB3VecEnv  # noqa: E402


def test_episode_end_follows_sb3s_time_limit_convention():
    env = ReacherSB3VecEnv(seed=0)
    env.reset()
    rng = np.random.default_rng(0)
    total = np.zeros(env.num_envs)
    steps, dones = 0, np.zeros(env.num_envs, bool)
    while not dones.any() and steps < STEPS_PER_EPISODE + 1:
        env.step_async(rng.uniform(-1, 1, (env.num_envs, 4)).astype(np.float32))
        observations, rewards, dones, infos = env.step_wait()
        total += rewards
        steps += 1
    assert steps == STEPS_PER_EPISODE and dones.all()
    assert all(info["TimeLimit.truncated"] for info in infos)  # a time limit, bootstrapped
    final = np.stack([info["terminal_observation"] for info in infos])
    assert not np.array_equal(final, observations)  # the next episode's first observation
    assert len(env.finished_episodes) == 1
    np.testing.assert_allclose(env.finished_episodes[0], total, rtol=1e-5)


def test_peer_speed_benchmark_times_every_learner_and_prints_its_headline(capsys, monkeypatch):
    import sys

    from benchmarks import peer_speed

    monkeypatch.setattr(sys, "argv", ["peer_speed", "--episodes", "1", "--max-steps", "20"])
    monkeypatch.setenv("REACHER_QUICK", "1")  # the eager update: no compile in a test
    peer_speed.main()
    lines = capsys.readouterr().out.splitlines()
    for name in ("ours, compiled", "ours, eager", "SB3 TD3", "SB3 SAC"):
        assert any(line.strip().startswith(f"{name}:") for line in lines)
    assert lines[-1].startswith("peer_seconds_per_episode: ours ")
    assert "of SB3's TD3" in lines[-1] and "of SB3's SAC" in lines[-1]
