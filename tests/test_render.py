"""Rendering from observations: poses against the simulator, frames, GIFs, both backends.

MuJoCo fixes its OpenGL backend when it is first imported, and other test modules import it
before this one, so the MuJoCo backend is exercised in fresh interpreters (`_run`).
"""

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import mujoco
import numpy as np
import pytest
from PIL import Image

from reacher.render import (
    GOAL_ON_RGBA,
    animation_html,
    arm_poses,
    pose_model,
    render_model,
    render_observations,
    save_gif,
)
from reacher.sim import ReacherSim

REPO = Path(__file__).resolve().parents[1]
SIZE = {"width": 240, "height": 160}


def random_episode(goal_size: float, steps: int, seed: int = 2):
    """Observations (steps + 1, 20, 33), running scores and the simulator's own goal_reached.

    A large goal makes some hands reach it and others not within a few random steps.
    """
    sim = ReacherSim(num_agents=20, seed=seed)
    observations, scores, reached = [sim.reset({"goal_size": goal_size})], [np.zeros(20)], []
    reached.append(sim.goal_reached())
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        obs, rewards, *_ = sim.step(rng.uniform(-1, 1, (20, 4)))
        observations.append(obs)
        scores.append(scores[-1] + rewards)
        reached.append(sim.goal_reached())
    return sim, np.array(observations), np.array(scores), np.array(reached)


def lit_pixels(frame: np.ndarray) -> int:
    """Pixels of about the lit goal's colour (greener than anything else drawn)."""
    rgb = np.asarray(frame, dtype=int)
    on = (np.array(GOAL_ON_RGBA[:3]) * 255).astype(int)
    return int((np.abs(rgb - on).max(axis=-1) < 60).sum())


def test_poses_match_the_simulator():
    sim = ReacherSim(num_agents=20, seed=5)
    sim.reset({"goal_size": 20.0})
    rng = np.random.default_rng(0)
    reached_seen = set()
    for _ in range(40):
        obs = sim.step(rng.uniform(-1, 1, (20, 4))).observations
        poses = arm_poses(obs, goal_size=sim.goal_size)
        np.testing.assert_allclose(poses.hand, sim.hand_positions(), atol=1e-4)
        np.testing.assert_allclose(poses.goal, sim.goal_positions(), atol=1e-4)
        bodies = [[sim.model.body(f"{s}{i}").id for s in "AB"] for i in range(20)]
        np.testing.assert_allclose(poses.segment_pos, sim.data.xpos[bodies], atol=1e-4)
        # a quaternion and its negative are the same rotation
        dots = np.abs((poses.segment_quat * sim.data.xquat[bodies]).sum(axis=-1))
        np.testing.assert_allclose(dots, 1.0, atol=1e-5)
        np.testing.assert_array_equal(poses.goal_on, sim.goal_reached())
        reached_seen.update(poses.goal_on.tolist())
    assert reached_seen == {True, False}


def test_render_model_puts_the_simulators_geoms_where_the_simulator_has_them():
    sim, observations, _, reached = random_episode(goal_size=20.0, steps=12)
    model = render_model(20, goal_size=20.0)
    data = mujoco.MjData(model)
    pose_model(model, data, arm_poses(observations[-1], goal_size=20.0))
    names = [
        f"{part}{i}" for i in range(20) for part in ("base", "upper", "forearm", "hand", "goal")
    ]
    drawn = [model.geom(name).id for name in names]
    real = [sim.model.geom(name).id for name in names]
    np.testing.assert_allclose(data.geom_xpos[drawn], sim.data.geom_xpos[real], atol=1e-4)
    np.testing.assert_allclose(data.geom_xmat[drawn], sim.data.geom_xmat[real], atol=1e-4)
    np.testing.assert_allclose(model.geom_size[drawn], sim.model.geom_size[real])
    rgba = model.geom_rgba[[model.geom(f"goal{i}").id for i in range(20)]]
    np.testing.assert_array_equal(np.isclose(rgba, GOAL_ON_RGBA).all(axis=1), reached[-1])
    assert 0 < reached[-1].sum() < 20


def test_reset_pose_of_the_course_printout():
    """The printed first state: arm 0 (root at x = -40) hangs straight down, goal at 46°."""
    first = np.zeros(33)
    first[[1, 3, 6, 14, 16, 19]] = -4, 1, -4.371139e-08, -10, 1, -4.371139e-08
    first[26:33] = 5.754719, -1, 5.557266, 0, 1, 0, -0.16816485
    poses = arm_poses(first[None])
    np.testing.assert_allclose(poses.elbow[0], (-40, 0, -7), atol=1e-6)
    np.testing.assert_allclose(poses.hand[0], (-40, 0, -13), atol=1e-6)
    np.testing.assert_allclose(poses.goal[0], (-40 + 5.754719, 5.557266, -1), atol=1e-6)
    assert not poses.goal_on[0]


@pytest.mark.parametrize("goal_size", [5.0, 10.0])
def test_goal_lights_up_while_the_hand_touches_it(goal_size):
    """On iff hand-goal distance < hand radius 1 + goal radius goal_size / 2."""
    reach = 1.0 + goal_size / 2
    obs = np.zeros((2, 1, 33))
    obs[..., [1, 3, 14, 16]] = -4, 1, -10, 1  # hanging down: hand at Unity (0, -13, 0)
    obs[:, 0, 26:29] = [(0, -13 + reach - 0.01, 0), (0, -13 + reach + 0.01, 0)]
    np.testing.assert_array_equal(arm_poses(obs, goal_size).goal_on, [[True], [False]])


def test_matplotlib_frames_show_arms_lit_goals_and_score():
    _, observations, scores, reached = random_episode(goal_size=20.0, steps=12)
    assert reached.any(axis=1).any() and not reached[0].any()
    lit = int(np.flatnonzero(reached.any(axis=1))[0])
    picked = [0, lit, lit]
    frame_scores = scores[picked]
    frame_scores[2] += 10.0  # only the caption differs from the frame before
    frames = render_observations(
        observations[picked], frame_scores, goal_size=20.0, backend="matplotlib", **SIZE
    )
    assert [(f.shape, f.dtype) for f in frames] == [((160, 240, 3), np.uint8)] * 3
    assert lit_pixels(frames[0]) == 0 < lit_pixels(frames[1])
    difference = np.abs(frames[2].astype(int) - frames[1]).max(axis=-1) > 0
    rows, cols = np.nonzero(difference)
    assert rows.max() < 40 and cols.max() < 200  # the caption, top left


def test_gif_keeps_every_frame_and_the_lit_goals(tmp_path):
    _, observations, scores, reached = random_episode(goal_size=20.0, steps=12)
    frames = render_observations(observations, scores, goal_size=20.0, backend="matplotlib", **SIZE)
    path = save_gif(frames, tmp_path / "sub" / "arms.gif", fps=10)
    html = animation_html(frames, fps=10)
    prefix = '<img src="data:image/gif;base64,'
    assert html.startswith(prefix)
    assert base64.b64decode(html[len(prefix) :].split('"')[0]) == path.read_bytes()

    gif = Image.open(path)
    assert gif.n_frames == len(frames) and gif.info["duration"] == 100
    for t in range(len(frames)):
        gif.seek(t)
        shown = lit_pixels(np.asarray(gif.convert("RGB")))
        assert (shown > 0) == (lit_pixels(frames[t]) > 0)


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="33"):
        arm_poses(np.zeros((3, 20, 32)))
    with pytest.raises(ValueError, match="steps, arms, 33"):
        render_observations(np.zeros((20, 33)))
    with pytest.raises(ValueError, match="backend"):
        render_observations(np.zeros((1, 20, 33)), backend="vulkan")
    with pytest.raises(ValueError, match="no frames"):
        animation_html([])


# Renders observations in a fresh interpreter, saves the frames and their GIF, prints warnings.
_RENDER_SCRIPT = """
import json, sys, warnings
import numpy as np
from reacher.render import render_observations, save_gif
data = np.load(sys.argv[1])
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    frames = render_observations(data["obs"], data["scores"], goal_size=float(data["goal_size"]),
                                 width=240, height=160, backend=sys.argv[2])
np.save(sys.argv[1] + ".frames.npy", np.array(frames))
save_gif(frames, sys.argv[1] + ".gif")
print(json.dumps([str(w.message) for w in caught]))
"""


def _run(tmp_path, backend, observations, scores, goal_size, **env) -> subprocess.CompletedProcess:
    inputs = tmp_path / "inputs.npz"
    np.savez(inputs, obs=observations, scores=scores, goal_size=goal_size)
    environment = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return subprocess.run(
        [sys.executable, "-c", _RENDER_SCRIPT, str(inputs), backend],
        cwd=REPO,
        env={**environment, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_mujoco_backend_renders_headless_with_egl(tmp_path):
    """A random episode at the default goal size: goals light up rarely, for a frame or two."""
    _, observations, scores, _ = random_episode(goal_size=5.0, steps=120, seed=1)
    observations, scores = observations[::4], scores[::4]
    result = _run(tmp_path, "mujoco", observations, scores, 5.0, MUJOCO_GL="egl")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
    frames = np.load(tmp_path / "inputs.npz.frames.npy")
    assert frames.shape == (len(observations), 160, 240, 3)
    on = arm_poses(observations).goal_on.any(axis=1)
    assert 0 < on.sum() < len(on) / 4
    np.testing.assert_array_equal([lit_pixels(f) > 0 for f in frames], on)
    arm_blue = np.abs(frames[0].astype(int) - (51, 102, 204)).max(axis=-1) < 60  # arms' colour
    assert arm_blue.sum() > 200
    gif = Image.open(tmp_path / "inputs.npz.gif")
    shown = []
    for t in range(len(frames)):
        gif.seek(t)
        shown.append(lit_pixels(np.asarray(gif.convert("RGB"))) > 0)
    np.testing.assert_array_equal(shown, on)  # the GIF's palette kept the lit goal's colour


def test_auto_falls_back_to_matplotlib_without_opengl(tmp_path):
    """No display and no headless backend: GLFW cannot make a context, as on a bare server."""
    _, observations, scores, reached = random_episode(goal_size=20.0, steps=12)
    picked = [0, int(np.flatnonzero(reached.any(axis=1))[0])]  # an unlit and a lit frame
    inputs = observations[picked], scores[picked], 20.0
    result = _run(tmp_path, "auto", *inputs, MUJOCO_GL="glfw")
    assert result.returncode == 0, result.stderr
    fallbacks = [w for w in json.loads(result.stdout) if "drawing the arms with matplotlib" in w]
    assert len(fallbacks) == 1  # GLFW's own warnings may come too
    unlit, lit = np.load(tmp_path / "inputs.npz.frames.npy")
    assert lit_pixels(unlit) == 0 < lit_pixels(lit)

    strict = _run(tmp_path, "mujoco", *inputs, MUJOCO_GL="glfw")
    assert strict.returncode != 0 and "Error" in strict.stderr
