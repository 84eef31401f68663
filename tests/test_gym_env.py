"""The gymnasium VectorEnv adapter around ReacherSim."""

import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, VectorEnv

from reacher.gym_env import ReacherVectorEnv
from reacher.sim import ReacherSim


def test_spaces_and_reset():
    env = ReacherVectorEnv(num_envs=20)
    assert isinstance(env, VectorEnv) and env.num_envs == 20
    assert env.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    assert env.single_observation_space.shape == (33,)
    assert env.single_observation_space.dtype == np.float32
    assert env.single_action_space.shape == (4,)
    np.testing.assert_array_equal(env.single_action_space.low, -1.0)
    np.testing.assert_array_equal(env.single_action_space.high, 1.0)
    assert env.action_space.shape == (20, 4) and env.observation_space.shape == (20, 33)
    obs, infos = env.reset(seed=0)
    assert obs in env.observation_space and infos == {}
    np.testing.assert_array_equal(obs, ReacherSim(num_agents=20, seed=0).reset())


def test_seed_and_options_reach_the_simulator():
    env = ReacherVectorEnv(num_envs=4)
    first, _ = env.reset(seed=5)
    env.reset()
    again, _ = env.reset(seed=5)
    np.testing.assert_array_equal(first, again)
    slow, _ = env.reset(seed=5, options={"goal_speed": 0.25})
    np.testing.assert_array_equal(slow[:, 32], np.float32(0.25) * first[:, 32])
    with pytest.raises(ValueError):
        env.reset(options={"speed": 1.0})


def test_episode_end_is_a_same_step_truncation():
    env = ReacherVectorEnv(num_envs=3)
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(1000):
        obs, rewards, terminations, truncations, infos = env.step(env.action_space.sample())
        assert not terminations.any() and not truncations.any() and infos == {}
    assert obs.dtype == np.float32 and rewards.shape == (3,)
    last = obs
    obs, rewards, terminations, truncations, infos = env.step(np.zeros((3, 4)))
    assert truncations.all() and not terminations.any()
    np.testing.assert_array_equal(infos["_final_obs"], True)
    final = np.stack(infos["final_obs"])
    assert final.shape == (3, 33)
    np.testing.assert_array_equal(final[:, 32], last[:, 32])  # the old episode's goal speed
    np.testing.assert_array_equal(obs[:, :26], env.sim.reset()[:, :26])  # a fresh episode
