"""``Agent(learn_while_stepping=True)``: updates in a learner thread while the environment steps.

The update of step t starts in ``act`` (its batch sampled there, before step t's transitions are
stored) and ends by the following ``step``; acting never sees a half-updated network, a seed
still gives one run, and a failed update is raised in the training loop.
"""

import tempfile

import numpy as np
import pytest
import torch
from test_reference_training import CONFIG, SyntheticEnv

from ddpg_agent import Agent, DDPGConfig
from train import train


def run(learn_while_stepping: bool) -> tuple[np.ndarray, Agent]:
    torch.set_num_threads(1)
    env = SyntheticEnv()
    config = DDPGConfig(**CONFIG)
    agent = Agent(33, 4, 4, config, seed=7, device="cpu", learn_while_stepping=learn_while_stepping)
    with tempfile.TemporaryDirectory() as directory:
        result = train(env, agent, 3, checkpoint_dir=directory, progress=False)
    return result.scores, agent


def test_a_seed_gives_one_run():
    (scores, agent), (again, other) = run(True), run(True)
    np.testing.assert_array_equal(scores, again)
    for p, q in zip(agent._local_params, other._local_params, strict=True):
        assert torch.equal(p, q)


def test_as_many_updates_as_the_synchronous_loop_and_close_scores():
    (scores, agent), (sync_scores, sync) = run(True), run(False)
    # The first update waits one step for its batch; every later step has one, as before.
    assert agent.updates == sync.updates - CONFIG["learn_iterations"] > 100
    assert agent._pending is None  # the last step waited for its update
    # One step older batches: a different run, but the same learning (scores within 5 %).
    np.testing.assert_allclose(scores.mean(axis=1), sync_scores.mean(axis=1), rtol=0.05)
    assert not np.array_equal(scores, sync_scores)


def test_a_failed_update_is_raised_by_the_next_step(monkeypatch):
    env = SyntheticEnv()
    agent = Agent(33, 4, 4, DDPGConfig(**CONFIG), seed=7, device="cpu", learn_while_stepping=True)

    def broken(batch):
        raise RuntimeError("the learner broke")

    monkeypatch.setattr(agent, "learn", broken)
    states = env.reset()
    with pytest.raises(RuntimeError, match="the learner broke"):
        for _ in range(env.length):
            actions = agent.act(states)
            step = env.step(actions)
            agent.step(states, actions, step.rewards, step.observations, step.terminated)
            states = step.observations
    assert agent._pending is None  # raised once; the agent can be saved
    with tempfile.TemporaryDirectory() as directory:
        agent.save(directory)
