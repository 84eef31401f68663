"""A fixed seed trains as it did before the learner moved to public PyTorch API (commit 7d8b11c).

``tests/data/reference_training.json`` holds the scores and a fingerprint of every network
after two short episodes on a synthetic environment (no physics, so changes to the simulator
do not touch it), recorded with the code of commit 7d8b11c. On the CPU the run is bit-identical
to it; the tolerance only allows for other CPUs' rounding. Any change in what the agent
computes, or in the order it draws random numbers, moves these figures far beyond it.
Regenerate (only for an intended change of behaviour) with
``PYTHONPATH=. python tests/test_reference_training.py``.
"""

import json
import tempfile
from pathlib import Path

import numpy as np
import torch

from ddpg_agent import Agent, DDPGConfig
from reacher.sim import StepResult
from train import train

REFERENCE = Path(__file__).resolve().parent / "data" / "reference_training.json"
# Learns from the 9th step on; the last four are the defaults of commit 7d8b11c.
CONFIG = {"batch_size": 32, "buffer_size": 10_000, "n_step": 3}
CONFIG |= {"learn_iterations": 2, "gamma": 0.99, "noise_decay": 1.0, "noise_min": 0.0}
NETWORKS = ("actor_local", "critic_local", "actor_target", "critic_target")


class SyntheticEnv:
    """4 arms, random states, a reward that depends on the actions, 30-step episodes."""

    num_agents, state_size, action_size, length = 4, 33, 4, 30

    def __init__(self) -> None:
        self.episodes = 0

    def _states(self) -> np.ndarray:
        return self._rng.standard_normal((self.num_agents, self.state_size), dtype=np.float32)

    def reset(self) -> np.ndarray:
        self._rng = np.random.default_rng(self.episodes)
        self.episodes += 1
        self.t = 0
        return self._states()

    def step(self, actions: np.ndarray) -> StepResult:
        self.t += 1
        rewards = (0.04 * np.exp(-np.square(actions - 0.3).sum(axis=1))).astype(np.float32)
        states, never = self._states(), np.zeros(self.num_agents, bool)
        if self.t < self.length:
            return StepResult(states, rewards, never, never, None)
        return StepResult(self.reset(), rewards, never, ~never, states)


def fingerprint() -> dict[str, list[float]]:
    torch.set_num_threads(1)
    env = SyntheticEnv()
    agent = Agent(
        env.state_size, env.action_size, env.num_agents, DDPGConfig(**CONFIG), seed=7, device="cpu"
    )
    with tempfile.TemporaryDirectory() as directory:
        result = train(env, agent, 2, checkpoint_dir=directory, progress=False)
    figures = {"scores": result.scores.ravel().tolist(), "updates": [agent.updates]}
    for name in NETWORKS:
        for key, tensor in getattr(agent, name).state_dict().items():
            values = tensor.double().ravel()
            figures[f"{name}.{key}"] = [values.sum().item(), values.abs().sum().item()]
            figures[f"{name}.{key}"] += values[:4].tolist()
    return figures


def test_fixed_seed_trains_as_before_the_refactor():
    expected = json.loads(REFERENCE.read_text())
    actual = fingerprint()
    assert actual.keys() == expected.keys()
    assert actual["updates"] == expected["updates"] and expected["updates"][0] > 50
    for key, values in expected.items():
        np.testing.assert_allclose(actual[key], values, rtol=1e-5, atol=1e-7, err_msg=key)


if __name__ == "__main__":
    REFERENCE.write_text(json.dumps(fingerprint(), indent=1) + "\n")
