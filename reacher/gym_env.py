"""gymnasium `VectorEnv` adapter: each Reacher arm is one sub-environment of a `ReacherSim`."""

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numpy.typing import ArrayLike

from reacher import ACTION_SIZE, NUM_AGENTS, OBSERVATION_SIZE
from reacher.sim import ReacherSim


class ReacherVectorEnv(VectorEnv):
    """All arms of one `ReacherSim` as a gymnasium vector environment.

    Unity ends every episode after 1001 decisions for all arms at once; that is a time limit, so
    it is reported as truncation (terminations are always False). Arms reset in the same step
    (`AutoresetMode.SAME_STEP`): the returned observation starts the next episode and
    `infos["final_obs"]` holds the last observation of the finished one.

    `reset(seed=s)` re-seeds Unity's RNG (goal angles and speeds); `options` are Unity's reset
    parameters (`goal_size`, `goal_speed`), sticky across resets as in Unity.
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, num_envs: int = NUM_AGENTS, seed: int = 0) -> None:
        self.sim = ReacherSim(num_agents=num_envs, seed=seed)
        self.num_envs = num_envs
        self.single_observation_space = spaces.Box(
            -np.inf, np.inf, shape=(OBSERVATION_SIZE,), dtype=np.float32
        )
        self.single_action_space = spaces.Box(-1.0, 1.0, shape=(ACTION_SIZE,), dtype=np.float32)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self.sim.seed(seed)
        return self.sim.reset(options), {}

    def step(
        self, actions: ArrayLike
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        step = self.sim.step(actions)
        infos: dict[str, Any] = {}
        if step.final_observations is not None:
            final_obs = np.empty(self.num_envs, dtype=object)
            for i, row in enumerate(step.final_observations):
                final_obs[i] = row  # gymnasium's convention: an object array of rows
            infos = {"final_obs": final_obs, "_final_obs": step.terminated | step.truncated}
        rewards = step.rewards.astype(np.float64)
        return step.observations, rewards, step.terminated, step.truncated, infos
