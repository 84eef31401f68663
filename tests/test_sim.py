"""ReacherSim behaviour beyond test_sim_fidelity.py's checks: RNG, determinism, stability, reset
parameters, bad input, and the contract other modules code against."""

import mujoco
import numpy as np
import pytest

from reacher.physx_step import PhysxVelocityStep
from reacher.sim import ReacherInstabilityError, ReacherSim
from reacher.unity_rng import UnityRandom


def run_episodes(sim: ReacherSim, episodes: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    observations = [sim.reset()]
    for _ in range(episodes * 1001):
        observations.append(sim.step(rng.uniform(-1, 1, size=(sim.num_agents, 4))).observations)
    return np.array(observations)


def test_unity_random_reproduces_seed_zero_draws():
    rng = UnityRandom(0)
    assert rng.range_int(0, 360) == 46
    assert rng.range_float(-1.0, 1.0) == np.float32(-0.16816485)
    rng.init_state(0)
    assert rng.range_int(0, 360) == 46  # re-seeding restarts the stream


def test_same_seed_gives_identical_observations_over_two_episodes():
    first = run_episodes(ReacherSim(num_agents=20, seed=3), episodes=2, seed=7)
    second = run_episodes(ReacherSim(num_agents=20, seed=3), episodes=2, seed=7)
    np.testing.assert_array_equal(first, second)
    other = ReacherSim(num_agents=20, seed=4).reset()
    assert not np.array_equal(other[:, 26:], first[0, :, 26:])


def test_seed_method_restarts_unity_stream():
    sim = ReacherSim(num_agents=20, seed=0)
    first = sim.reset()
    sim.reset()
    sim.seed(0)
    np.testing.assert_array_equal(sim.reset(), first)


# Each style maps (rng, step index, previous actions) to the next (20, 4) actions.
ACTION_STYLES = {
    # Saturated torques whose signs switch every 50 steps.
    "bang_bang": lambda rng, t, a: np.sign(rng.standard_normal((20, 4))) if t % 50 == 0 else a,
    "uniform": lambda rng, t, a: rng.uniform(-1, 1, size=(20, 4)),
    # One random action held for a whole episode.
    "constant": lambda rng, t, a: rng.uniform(-1, 1, size=(20, 4)) if t % 1001 == 0 else a,
}


@pytest.mark.parametrize("style", ACTION_STYLES)
def test_no_instability_under_extreme_actions(style):
    sim = ReacherSim(num_agents=20, seed=0)
    rng = np.random.default_rng(0)
    sim.reset()
    actions = None
    for t in range(3000):
        actions = ACTION_STYLES[style](rng, t, actions)
        obs = sim.step(actions).observations
        assert np.isfinite(obs).all()
    assert not sim.data.warning.number.any()


@pytest.mark.parametrize("spin, expected", [(2.0, 2.0 * 0.999), (10.0, 7.0)])
def test_drag_then_clamp_act_on_each_bodys_unconstrained_angular_speed(spin, expected):
    # Unity's angular drag (x0.999 per physics step) and the 7 rad/s clamp act on each body's
    # world ω before the joint solve, as in PhysX.
    sim = ReacherSim(num_agents=1, seed=0)
    sim.reset()
    velocities = PhysxVelocityStep(sim.model, sim.data, 1)
    velocities.angular[0] = [[0.0, spin, 0.0], [spin, 0.0, 0.0]]
    _, angular = velocities.unconstrained(np.zeros((1, 2, 3)))
    np.testing.assert_allclose(np.linalg.norm(angular[0], axis=-1), expected, rtol=1e-12)


def test_torque_changes_unconstrained_spin_through_the_world_inertia():
    sim = ReacherSim(num_agents=1, seed=0)
    sim.reset()  # hanging: A's principal axes are the world axes, I_xx = 2.7507353
    velocities = PhysxVelocityStep(sim.model, sim.data, 1)
    _, angular = velocities.unconstrained(np.array([[[10.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]))
    np.testing.assert_allclose(angular[0, 0], [10.0 / 2.7507353 * 0.02 * 0.999, 0.0, 0.0])


def test_joint_solve_never_adds_energy():
    # The converged joint solve is a projection in the kinetic-energy metric: it only ever
    # removes the part of the bodies' velocities that the joints do not allow.
    sim = ReacherSim(num_agents=20, seed=0)
    sim.reset()
    rng = np.random.default_rng(0)
    for _ in range(50):
        sim.step(rng.uniform(-1, 1, (20, 4)))
    sim.model.opt.gravity[:] = 0.0  # no gravity impulse: only the solve changes energy here
    velocities = PhysxVelocityStep(sim.model, sim.data, 20)
    velocities.linear[:] = rng.normal(0.0, 3.0, velocities.linear.shape)
    velocities.angular[:] = rng.normal(0.0, 1.0, velocities.angular.shape)
    mass = sim.model.body_mass[1:41].reshape(20, 2, 1)
    inertia = sim.model.body_inertia[1:41].reshape(20, 2, 3)
    rotation = sim.data.ximat[1:41].reshape(20, 2, 3, 3)

    def energy(linear: np.ndarray, angular: np.ndarray) -> float:
        local = np.einsum("nbji,nbj->nbi", rotation, angular)
        return 0.5 * float((mass * linear**2).sum() + (inertia * local**2).sum())

    before = energy(*velocities.unconstrained(np.zeros((20, 2, 3))))
    velocities.apply(np.zeros((20, 2, 3)))
    mujoco.mj_step2(sim.model, sim.data)
    velocities.record()
    assert energy(velocities.linear, velocities.angular) < before


def test_instability_raises_instead_of_returning_nan(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MuJoCo appends its warnings to ./MUJOCO_LOG.TXT
    sim = ReacherSim(num_agents=2, seed=0)
    sim.reset()
    sim.data.qpos[3] = np.nan  # what a diverged integration would leave behind
    with pytest.raises(ReacherInstabilityError, match="reset"):
        sim.step(np.zeros((2, 4)))
    with pytest.raises(RuntimeError, match="reset"):
        sim.step(np.zeros((2, 4)))
    assert np.isfinite(sim.reset()).all()
    sim.step(np.zeros((2, 4)))


def test_step_before_reset_is_refused():
    with pytest.raises(RuntimeError, match="reset"):
        ReacherSim(num_agents=1).step(np.zeros((1, 4)))


def test_reset_parameters_take_effect_and_stick():
    sim = ReacherSim(num_agents=20, seed=0)
    default = sim.reset()
    assert sim.reset_parameters == {"goal_speed": 1.0, "goal_size": 5.0}
    sim.seed(0)
    slow = sim.reset({"goal_speed": 0.5, "goal_size": 2.0})
    np.testing.assert_array_equal(slow[:, 32], np.float32(0.5) * default[:, 32])
    assert sim.goal_size == 2.0
    assert sim.model.geom_size[sim.model.geom("goal0").id, 0] == 1.0
    assert sim.reset_parameters == {"goal_speed": 0.5, "goal_size": 2.0}
    # Sticky: through a reset without config and through the automatic episode-end reset.
    assert np.abs(sim.reset()[:, 32]).max() <= 0.5
    for _ in range(1001):
        obs, _, _, truncated, _ = sim.step(np.zeros((20, 4)))
    assert truncated.all() and np.abs(obs[:, 32]).max() <= 0.5 and sim.goal_size == 2.0
    still = sim.reset({"goal_speed": 0.0})
    assert np.all(still[:, 32] == 0.0) and sim.goal_size == 2.0
    obs = sim.step(np.zeros((20, 4))).observations
    np.testing.assert_array_equal(obs[:, 26:29], still[:, 26:29])


@pytest.mark.parametrize(
    "config, message",
    [
        ({"goal_sise": 1.0}, "goal_sise"),
        ({"goal_speed": float("nan")}, r"goal_speed must be a number in \[-360, 360\]"),
        ({"goal_size": "big"}, r"goal_size must be a number in \(0, 40\]"),
        # a goal that can never be reached, a speed that overflows float32
        ({"goal_size": 0.0, "goal_speed": 0.5}, r"goal_size .* got 0.0"),
        ({"goal_size": -2.0}, r"goal_size .* got -2.0"),
        ({"goal_speed": 1e39}, r"goal_speed .* got 1e\+39"),
    ],
)
def test_bad_reset_parameters_raise(config, message):
    sim = ReacherSim(num_agents=1)
    with pytest.raises(ValueError, match=message):
        sim.reset(config)
    assert sim.reset_parameters == {"goal_speed": 1.0, "goal_size": 5.0}


@pytest.mark.parametrize(
    "actions, message",
    [
        (np.zeros((3, 3)), r"shape \(3, 4\)"),
        (np.zeros((4, 4)), r"shape \(3, 4\)"),
        (np.zeros(11), r"\(12,\)"),
        (np.full((3, 4), np.nan), "finite"),
        (np.full((3, 4), -np.inf), "finite"),
        (np.full((3, 4), 1e39), "finite"),  # infinity in float32, as sent
        ([["a"] * 4] * 3, "numbers"),
    ],
)
def test_bad_actions_raise_and_leave_state_intact(actions, message):
    sim, twin = ReacherSim(num_agents=3, seed=0), ReacherSim(num_agents=3, seed=0)
    sim.reset()
    twin.reset()
    move = np.full((3, 4), 0.7)
    sim.step(move)
    twin.step(move)
    with pytest.raises(ValueError, match=message):
        sim.step(actions)
    for ours, theirs in zip(sim.step(move), twin.step(move), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_actions_are_clipped_and_flat_actions_accepted():
    sim, twin = ReacherSim(num_agents=2, seed=0), ReacherSim(num_agents=2, seed=0)
    sim.reset()
    twin.reset()
    actions = np.array([[3.0, -7.0, 0.5, 1.0], [-1.5, 0.2, 2.0, -0.3]])
    ours = sim.step(actions.ravel().tolist()).observations
    np.testing.assert_array_equal(ours, twin.step(np.clip(actions, -1, 1)).observations)


def test_contract_types_and_final_observations():
    sim = ReacherSim(num_agents=20, seed=0)
    assert (sim.num_agents, sim.state_size, sim.action_size) == (20, 33, 4)
    obs = sim.reset()
    assert obs.shape == (20, 33) and obs.dtype == np.float32
    assert sim.reset() is not sim.reset()  # fresh arrays, safe to keep
    for _ in range(1000):
        step = sim.step(np.zeros((20, 4)))
    assert step.rewards.dtype == np.float32 and step.rewards.shape == (20,)
    assert step.terminated.dtype == bool and step.truncated.dtype == bool
    assert not (step.terminated.any() or step.truncated.any())
    assert step.final_observations is None
    last = step.observations
    obs, _, terminated, truncated, final = sim.step(np.zeros((20, 4)))
    assert truncated.all() and not terminated.any()  # the time limit, never a terminal state
    # At rest the arm does not move; the goal advanced by one more decision.
    np.testing.assert_array_equal(final[:, :26], last[:, :26])
    assert final.dtype == np.float32
    assert not np.array_equal(final[:, 26:], obs[:, 26:])


def test_positions_for_renderers_follow_observations():
    sim = ReacherSim(num_agents=20, seed=0)
    obs = sim.reset()
    for _ in range(30):
        obs = sim.step(np.full((20, 4), 0.4)).observations
    roots = sim.data.site_xpos[[sim.model.site(f"root{i}").id for i in range(20)]]
    goals = sim.goal_positions() - roots
    np.testing.assert_allclose(goals[:, [0, 2, 1]], obs[:, 26:29], atol=1e-5)  # z-up vs y-up
    hands = sim.hand_positions()
    assert hands.shape == (20, 3) and not np.allclose(hands[:, 2], -13.0)
    distance = np.linalg.norm(hands - sim.goal_positions(), axis=1)
    np.testing.assert_array_equal(sim.goal_reached(), distance < 3.5)
    for name in ("A0", "B19", "goal7"):
        assert mujoco.mj_name2id(sim.model, mujoco.mjtObj.mjOBJ_BODY, name) >= 0
    for name in ("base0", "hand19", "goal7"):
        assert mujoco.mj_name2id(sim.model, mujoco.mjtObj.mjOBJ_GEOM, name) >= 0


def test_single_arm_matches_arm_zero_of_twenty():
    one, twenty = ReacherSim(num_agents=1, seed=0), ReacherSim(num_agents=20, seed=0)
    np.testing.assert_array_equal(one.reset()[0], twenty.reset()[0])
    actions = np.random.default_rng(0).uniform(-1, 1, size=(50, 20, 4))
    for a in actions:
        ours, theirs = one.step(a[:1]).observations, twenty.step(a).observations
        np.testing.assert_allclose(ours[0], theirs[0], atol=1e-5)
    with pytest.raises(ValueError, match="num_agents"):
        ReacherSim(num_agents=21)
