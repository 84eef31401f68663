"""Unity ML-Agents 0.4 Reacher re-created in MuJoCo: all arms in one model, vectorised API.

Every semantic choice follows `docs/environment.md` (the names in parentheses are its sections):
world-frame torques of 150·action on each segment (Action), +0.01 per 0.02 s physics step while
the hand is inside the goal (Reward), a goal circling at radius 8 (Goal motion), Unity's RNG for
the goal draws (Random numbers), universal joints moved by PhysX 3.4's velocity step
(`reacher.physx_step`: drag and the 7 rad/s clamp on each body before the joint solve; Dynamics
fidelity), 4 physics steps per decision and the automatic reset on the 1001st decision (Reset
and episode end), and observations built exactly as Unity's `CollectObservations` builds them, in
Unity's y-up frame (Observation; the frame mapping in The MuJoCo model).
"""

from collections.abc import Mapping
from typing import NamedTuple

import mujoco
import numpy as np
from numpy.typing import ArrayLike

from reacher import (
    ACTION_SIZE,
    DEFAULT_RESET_PARAMETERS,
    NUM_AGENTS,
    OBSERVATION_SIZE,
    RESET_PARAMETER_RANGES,
)
from reacher.mjcf import (
    GOAL_HEIGHT,
    GOAL_RADIUS,
    ROOTS,
    SENSORS_PER_ARM,
    build_mjcf,
    observation_gather,
    reach_distance,
)
from reacher.physx_step import PhysxVelocityStep
from reacher.unity_rng import UnityRandom

PHYSICS_STEPS_PER_DECISION = 4  # numberOfActionsBetweenDecisions (Reset and episode end)
MAX_PHYSICS_STEPS = 4000  # the agents' maxStep; done shows up on the 1001st decision
TORQUE_SCALE = 150.0  # ReacherAgent.AgentAction (Action)
REWARD_PER_PHYSICS_STEP = np.float32(0.01)  # the goal trigger's AddReward(0.01f) (Reward)
FLOAT32_MAX = float(np.finfo(np.float32).max)  # larger actions reach the executable as infinity
_SENSORS_BIT = int(mujoco.mjtDisableBit.mjDSBL_SENSOR)


class ReacherInstabilityError(RuntimeError):
    """MuJoCo's state diverged (NaN, infinity or a huge acceleration); call reset()."""


def _reset_parameter(name: str, value: object) -> float:
    """`value` as a float if it lies in the parameter's range, else a ValueError naming both."""
    allowed, in_range = RESET_PARAMETER_RANGES[name]
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = np.nan  # fails every range check (so does NaN itself)
    if not in_range(number):
        raise ValueError(f"reset parameter {name} must be a number in {allowed}, got {value!r}")
    return number


class StepResult(NamedTuple):
    """What `step` returns: gymnasium's terminated/truncated, with the final observations.

    Every environment of this project speaks it (the in-process simulator, the adapter of the
    genuine `unityagents` client in `environments.py`, the gymnasium `VectorEnv`).
    """

    observations: np.ndarray  # (n, 33) float32; after an episode end: the next one's first
    rewards: np.ndarray  # (n,) float32
    terminated: np.ndarray  # (n,) bool: a true terminal state (never, in Reacher)
    truncated: np.ndarray  # (n,) bool: the time limit ended the episode
    final_observations: np.ndarray | None  # (n, 33) where the episode ended; None if unknown


class ReacherSim:
    """The 20-arm (or fewer) Reacher as a vectorised, in-process environment.

    `reset()` returns the (n, 33) float32 observations; `step(actions)` applies (n, 4) actions
    for 4 physics steps and returns a `StepResult`. On the 1001st step of an episode every arm
    is truncated, the returned observations are already the next episode's reset state (as
    Unity's), and `final_observations` holds the observations reached before that reset.
    """

    state_size = OBSERVATION_SIZE  # the course's name for it
    action_size = ACTION_SIZE

    def __init__(self, num_agents: int = NUM_AGENTS, seed: int = 0) -> None:
        if not 1 <= num_agents <= NUM_AGENTS:
            raise ValueError(f"num_agents must be in [1, {NUM_AGENTS}], got {num_agents}")
        n = self.num_agents = num_agents
        self.model = mujoco.MjModel.from_xml_string(build_mjcf(num_agents))
        self.data = mujoco.MjData(self.model)
        self.reset_parameters = dict(DEFAULT_RESET_PARAMETERS)
        self._rng = UnityRandom(seed)

        m, d = self.model, self.data
        arm_bodies = [m.body(f"{seg}{i}").id for i in range(n) for seg in "AB"]
        if arm_bodies != list(range(1, 2 * n + 1)) or m.nq != 4 * n or m.nmocap != n:
            raise AssertionError("unexpected model layout")  # the views below rely on it
        # Per arm the hinges are (A_z, A_x, B_z, B_x); the world torques on A and B are
        # (x, y, 0) in MuJoCo's frame (Unity's X and Z axes).
        self._torques = np.zeros((n, 2, 3))
        # The velocity update of each physics step; studies swap in variants (same interface:
        # reset, apply, record), see studies/dynamics_fidelity.py.
        self.velocity_step = PhysxVelocityStep(m, d, n)
        self._hand_ids = np.array([m.geom(f"hand{i}").id for i in range(n)])
        self._goal_geom_ids = np.array([m.geom(f"goal{i}").id for i in range(n)])
        self._roots = ROOTS[:n]
        self._warnings = d.warning.number  # live view of MuJoCo's warning counters

        source, sign = observation_gather()
        self._obs_index = (np.arange(n)[:, None] * SENSORS_PER_ARM + source).ravel()
        self._obs_sign = np.tile(sign, n)
        self._obs = np.zeros((n, OBSERVATION_SIZE), dtype=np.float32)
        self._obs[:, 30] = 1.0  # hand.localPosition is the constant (0, 1, 0) (Observation)

        # Per-episode state, set by reset().
        self._goal_degree = np.zeros(n, dtype=np.float32)  # Unity keeps goalDegree in float32
        self._goal_speed = np.zeros(n, dtype=np.float32)
        self._goal_size = np.float32(DEFAULT_RESET_PARAMETERS["goal_size"])
        self._physics_steps = 0
        self._needs_reset = True

        # Preallocated buffers for the per-step work.
        self._degrees = np.zeros((PHYSICS_STEPS_PER_DECISION, n), dtype=np.float32)
        self._hands = np.zeros((PHYSICS_STEPS_PER_DECISION, n, 3))
        self._goal_offsets = np.full((PHYSICS_STEPS_PER_DECISION, n, 3), GOAL_HEIGHT)
        # Reward for 0..4 rewarded physics steps: float32 sums of 0.01f, as Unity accumulates.
        quanta = np.full(PHYSICS_STEPS_PER_DECISION + 1, REWARD_PER_PHYSICS_STEP)
        quanta[0] = 0.0
        self._reward_table = np.cumsum(quanta, dtype=np.float32)

    # ------------------------------------------------------------------ public API

    @property
    def goal_size(self) -> float:
        """The goal diameter in effect (Unity's goal_size; the trigger radius is half of it)."""
        return float(self._goal_size)

    def seed(self, seed: int) -> None:
        """Re-seed Unity's RNG (`Random.InitState`); takes effect at the next reset."""
        self._rng.init_state(seed)

    @property
    def rng_state(self) -> tuple[int, int, int, int]:
        """Unity's RNG as it stands: every later episode's goals follow from it (snapshots)."""
        return self._rng.state

    @rng_state.setter
    def rng_state(self, words: tuple[int, int, int, int]) -> None:
        self._rng.state = words

    def reset(self, config: Mapping[str, float] | None = None) -> np.ndarray:
        """Start a new episode for every arm; `config` updates the sticky reset parameters."""
        if config:
            unknown = set(config) - set(DEFAULT_RESET_PARAMETERS)
            if unknown:
                raise ValueError(
                    f"unknown reset parameters {sorted(unknown)}; "
                    f"expected {sorted(DEFAULT_RESET_PARAMETERS)}"
                )
            self.reset_parameters.update({k: _reset_parameter(k, v) for k, v in config.items()})
        self._reset_episode()
        return self._obs.copy()

    def step(self, actions: ArrayLike) -> StepResult:
        """Apply `actions` (n, 4) for 4 physics steps."""
        if self._needs_reset:
            raise RuntimeError("call reset() before step()")
        actions = self._validated(actions)

        # Unity re-applies the same torques on each of the 4 physics steps (Action).
        np.multiply(actions.reshape(-1, 2, 2), -TORQUE_SCALE, out=self._torques[:, :, :2])
        self._advance_goals()
        m, d = self.model, self.data
        flags = m.opt.disableflags & ~_SENSORS_BIT
        for k in range(PHYSICS_STEPS_PER_DECISION):
            # Split step: PhysX's velocity update (torques, drag, clamp, joint solve), MuJoCo's
            # contacts and integration, then the new state's kinematics, so everything read
            # afterwards is current. Only the last physics step's sensors are read.
            self.velocity_step.apply(self._torques)
            mujoco.mj_step2(m, d)
            self.velocity_step.record()
            last = k == PHYSICS_STEPS_PER_DECISION - 1
            m.opt.disableflags = flags if last else flags | _SENSORS_BIT
            mujoco.mj_step1(m, d)
            np.take(d.geom_xpos, self._hand_ids, axis=0, out=self._hands[k])
        self._physics_steps += PHYSICS_STEPS_PER_DECISION
        self._check_stable()
        rewards = self._rewards()
        self._observe()

        n = self.num_agents
        done = self._physics_steps > MAX_PHYSICS_STEPS
        final_observations = self._obs.copy() if done else None
        if done:  # Unity resets the arms before sending the done step's observation
            self._reset_episode()
        never = np.zeros(n, dtype=bool)
        return StepResult(self._obs.copy(), rewards, never, np.full(n, done), final_observations)

    def hand_positions(self) -> np.ndarray:
        """(n, 3) world positions of the hand centres, MuJoCo frame (z up)."""
        return self.data.geom_xpos[self._hand_ids].copy()

    def goal_positions(self) -> np.ndarray:
        """(n, 3) world positions of the goal centres, MuJoCo frame (z up)."""
        return self.data.mocap_pos.copy()

    def goal_reached(self) -> np.ndarray:
        """(n,) bool: the hand centre is within the reward distance of the goal centre now."""
        distance = np.linalg.norm(self.hand_positions() - self.goal_positions(), axis=1)
        return distance < self._reward_distance()

    # ------------------------------------------------------------------ internals

    def _validated(self, actions: ArrayLike) -> np.ndarray:
        n = self.num_agents
        try:
            actions = np.asarray(actions, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(f"actions must be numbers of shape ({n}, 4): {error}") from None
        if actions.shape not in ((n, ACTION_SIZE), (n * ACTION_SIZE,)):
            raise ValueError(
                f"actions must have shape ({n}, {ACTION_SIZE}) or ({n * ACTION_SIZE},), "
                f"got {actions.shape}"
            )
        if not (np.abs(actions) <= FLOAT32_MAX).all():  # False for NaN too
            raise ValueError("actions must be finite float32 numbers (got NaN, inf or > 3.4e38)")
        return np.clip(actions, -1.0, 1.0)  # Unity clamps each action to [-1, 1] (Action)

    def _reward_distance(self) -> float:
        return reach_distance(float(self._goal_size))

    def _reset_episode(self) -> None:
        """Unity's AgentReset for every arm: arms hang at rest, new goal angle and speed (Reset)."""
        m, d = self.model, self.data
        mujoco.mj_resetData(m, d)  # all hinge angles 0 = hanging straight down, at rest
        self.velocity_step.reset()
        goal_speed = np.float32(self.reset_parameters["goal_speed"])
        self._goal_size = np.float32(self.reset_parameters["goal_size"])
        m.geom_size[self._goal_geom_ids, 0] = 0.5 * self._goal_size
        for i in range(self.num_agents):  # two draws per agent, in agent order (Random numbers)
            self._goal_degree[i] = self._rng.range_int(0, 360)
            self._goal_speed[i] = self._rng.range_float(-1.0, 1.0) * goal_speed
        self._obs[:, 32] = self._goal_speed
        self._set_goal_bodies(self._goal_degree)
        mujoco.mj_step1(m, d)
        self._physics_steps = 0
        self._needs_reset = False
        self._observe()

    def _set_goal_bodies(self, degrees: np.ndarray) -> None:
        radians = np.radians(degrees, dtype=np.float64)
        goals = self.data.mocap_pos
        goals[:] = self._roots
        goals[:, 0] += GOAL_RADIUS * np.sin(radians)
        goals[:, 1] += GOAL_RADIUS * np.cos(radians)
        goals[:, 2] += GOAL_HEIGHT

    def _advance_goals(self) -> None:
        """goalDegree += goalSpeed before each physics step, in float32 (Goal motion)."""
        degree = self._goal_degree
        for k in range(PHYSICS_STEPS_PER_DECISION):
            degree = np.add(degree, self._goal_speed, out=self._degrees[k])
        self._goal_degree[:] = degree
        # The goal has no physics, so the mocap bodies only need the final pose (for the
        # observation and renderers); rewards use every substep's pose (see _rewards).
        self._set_goal_bodies(degree)

    def _check_stable(self) -> None:
        if self._warnings.any() or not np.isfinite(self.data.qvel).all():
            self._needs_reset = True
            counts = {mujoco.mjtWarning(k).name: int(c) for k, c in enumerate(self._warnings) if c}
            raise ReacherInstabilityError(
                f"MuJoCo diverged after {self._physics_steps} physics steps of this episode "
                f"(warnings: {counts}); the state is invalid, call reset()"
            )

    def _rewards(self) -> np.ndarray:
        """+0.01 for each of the 4 physics steps that ended with the hand in the goal (Reward)."""
        radians = np.radians(self._degrees, dtype=np.float64)
        goals = self._goal_offsets  # (4, n, 3) goal relative to its root; z stays GOAL_HEIGHT
        np.multiply(np.sin(radians), GOAL_RADIUS, out=goals[..., 0])
        np.multiply(np.cos(radians), GOAL_RADIUS, out=goals[..., 1])
        gap = self._hands - self._roots - goals
        inside = np.einsum("kij,kij->ki", gap, gap) < self._reward_distance() ** 2
        return self._reward_table[inside.sum(axis=0)]

    def _observe(self) -> None:
        """Fill observation[:, 0:29] from MuJoCo's sensors (the rest is constant per episode)."""
        values = self.data.sensordata[self._obs_index] * self._obs_sign
        self._obs[:, :29] = values.reshape(self.num_agents, 29)
