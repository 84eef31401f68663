"""Pictures of the Reacher arms, drawn from their observations alone.

The notebook talks to the simulator through the genuine ``unityagents`` client, a separate
process, so everything here works from the 33-float observations (`docs/environment.md`),
exactly as it would with a real Unity binary: each arm's segment centres and world rotations,
and its goal, all relative to the arm's root. The arms are the simulator's own geoms
(`reacher.mjcf`) re-hung on mocap bodies, rendered offscreen by MuJoCo; without OpenGL a
matplotlib stick drawing stands in.

    frames = render_observations(observations[::4], scores[::4])  # (steps, arms, 33), (steps, arms)
    display(HTML(animation_html(frames, fps=15)))  # inline in Jupyter
    save_gif(frames, "results/arms.gif")
"""

import base64
import io
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image, ImageDraw, ImageFont

from reacher import DEFAULT_RESET_PARAMETERS, NUM_AGENTS, OBSERVATION_SIZE
from reacher.mjcf import ROOTS, build_mjcf, reach_distance

# unityagents sets the root logger to INFO (docs/protocol.md, pitfall 11), and PyOpenGL would then
# announce in every notebook that an optional accelerator module is missing.
logging.getLogger("OpenGL.acceleratesupport").setLevel(logging.WARNING)

HALF_SPAN = 3.0  # a segment's centre to its far joint: A's elbow, B's hand centre
GOAL_OFF_RGBA = (0.35, 0.55, 0.95, 0.35)  # translucent, as Unity's goal sphere
GOAL_ON_RGBA = (0.1, 0.95, 0.2, 0.8)  # Unity shows its "GoalOn" sphere while the hand is in
BACKENDS = ("auto", "mujoco", "matplotlib")
GOAL_SIZE = DEFAULT_RESET_PARAMETERS["goal_size"]

# Unity's Reacher floor ("Stage"), top at Unity y = -15, and a sky; the rest is built
# from the simulator's model. Render-only: no geom collides.
_SCENE = """<mujoco model="reacher render">
  <visual>
    <headlight ambient=".35 .35 .35" diffuse=".5 .5 .5"/>
  </visual>
  <asset>
    <texture name="sky" type="skybox" builtin="gradient" rgb1=".55 .7 .9" rgb2=".95 .97 1"
             width="64" height="64"/>
    <texture name="grid" type="2d" builtin="checker" rgb1=".42 .45 .5" rgb2=".36 .39 .44"
             width="64" height="64"/>
    <material name="floor" texture="grid" texrepeat="10 8"/>
  </asset>
  <default><geom contype="0" conaffinity="0"/></default>
  <worldbody>
    <light pos="0 10 80" dir="0 .3 -1" directional="true" castshadow="true"/>
    <geom name="floor" type="plane" pos="0 25 -15" size="50 40 1" material="floor"/>
  </worldbody>
</mujoco>"""
_CAMERA = {"lookat": (0.0, 28.0, -2.0), "distance": 118.0, "azimuth": 90.0, "elevation": -32.0}


class ArmPoses(NamedTuple):
    """Where everything is, MuJoCo frame (z up), world coordinates; leading shape (..., arms)."""

    segment_pos: np.ndarray  # (..., arms, 2, 3) centres of A and B
    segment_quat: np.ndarray  # (..., arms, 2, 4) their rotations, MuJoCo (w, x, y, z)
    root: np.ndarray  # (..., arms, 3) the base sphere
    elbow: np.ndarray  # (..., arms, 3)
    hand: np.ndarray  # (..., arms, 3)
    goal: np.ndarray  # (..., arms, 3)
    goal_on: np.ndarray  # (..., arms) bool: the hand is in the goal, which lights up


def _rotated_y(quat: np.ndarray) -> np.ndarray:
    """R(q)·(0, 1, 0) for Unity quaternions (x, y, z, w): the segment's long axis."""
    x, y, z, w = np.moveaxis(quat, -1, 0)
    return np.stack([2 * (x * y - w * z), 1 - 2 * (x * x + z * z), 2 * (y * z + w * x)], axis=-1)


def arm_poses(observations: np.ndarray, goal_size: float = GOAL_SIZE) -> ArmPoses:
    """Poses of every arm from observations (..., arms, 33), in Unity's y-up frame.

    Joint kinematics (elbow and hand sit HALF_SPAN along each segment's axis), then the
    Unity→MuJoCo map (docs/environment.md, The MuJoCo model): positions (x, y, z) → (x, z, y),
    quaternions (x, y, z, w) → (w, −x, −z, −y). A goal is on while the hand sphere touches its
    trigger sphere, as Unity's.
    """
    obs = np.asarray(observations, dtype=np.float64)
    num_agents = obs.shape[-2]
    if obs.shape[-1] != OBSERVATION_SIZE or not 1 <= num_agents <= NUM_AGENTS:
        raise ValueError(f"observations must be (..., arms ≤ 20, 33), got {obs.shape}")
    centres, quats = obs[..., [[0, 1, 2], [13, 14, 15]]], obs[..., [[3, 4, 5, 6], [16, 17, 18, 19]]]
    ends = centres + HALF_SPAN * _rotated_y(quats)  # elbow, hand
    goal = obs[..., 26:29]
    goal_on = np.linalg.norm(ends[..., 1, :] - goal, axis=-1) < reach_distance(goal_size)

    root = ROOTS[:num_agents]
    swap = [0, 2, 1]
    x, y, z, w = np.moveaxis(quats, -1, 0)
    return ArmPoses(
        segment_pos=root[:, None] + centres[..., swap],
        segment_quat=np.stack([w, -x, -z, -y], axis=-1),
        root=np.broadcast_to(root, goal.shape),
        elbow=root + ends[..., 0, swap],
        hand=root + ends[..., 1, swap],
        goal=root + goal[..., swap],
        goal_on=goal_on,
    )


def _copy_geoms(geoms, body, **changes) -> None:
    for geom in geoms:
        keys = ("name", "type", "size", "fromto", "pos", "quat", "rgba")
        body.add_geom(**({key: getattr(geom, key) for key in keys} | changes))


def render_model(
    num_agents: int, goal_size: float = GOAL_SIZE, width: int = 432, height: int = 288
):
    """A MuJoCo model to draw: the scene, and the simulator's geoms on mocap bodies.

    Per arm i: mocap bodies ``A{i}``, ``B{i}`` (with the hand) and ``goal{i}``, carrying the
    simulator's geoms of the same names; the goal sized for ``goal_size``. Nothing collides.
    """
    import mujoco  # here, not at the top: with broken OpenGL this import itself can fail

    simulator = mujoco.MjSpec.from_string(build_mjcf(num_agents))
    spec = mujoco.MjSpec.from_string(_SCENE)
    spec.visual.global_.offwidth, spec.visual.global_.offheight = width, height
    world = spec.worldbody
    _copy_geoms(simulator.worldbody.geoms, world)  # the base spheres
    for i in range(num_agents):
        for name in (f"A{i}", f"B{i}"):
            _copy_geoms(simulator.body(name).geoms, world.add_body(name=name, mocap=True))
        goal = world.add_body(name=f"goal{i}", mocap=True)
        _copy_geoms(simulator.body(f"goal{i}").geoms, goal, size=[0.5 * goal_size, 0, 0])
    return spec.compile()


def pose_model(model, data, poses: ArmPoses) -> None:
    """Put the mocap bodies of ``render_model`` where ``poses`` says and light the goals."""
    import mujoco

    def mocap(prefix: str) -> list[int]:
        return [model.body(f"{prefix}{i}").mocapid[0] for i in range(len(poses.goal))]

    segments = np.array([mocap("A"), mocap("B")]).T  # (arms, 2)
    data.mocap_pos[segments], data.mocap_quat[segments] = poses.segment_pos, poses.segment_quat
    data.mocap_pos[mocap("goal")] = poses.goal
    goal_geoms = [model.geom(f"goal{i}").id for i in range(len(poses.goal))]
    model.geom_rgba[goal_geoms] = np.where(poses.goal_on[:, None], GOAL_ON_RGBA, GOAL_OFF_RGBA)
    mujoco.mj_forward(model, data)


class _MujocoPainter:
    """Offscreen MuJoCo frames of the arms; raises if no OpenGL context can be made."""

    def __init__(self, num_agents: int, goal_size: float, width: int, height: int) -> None:
        import mujoco

        self.model = render_model(num_agents, goal_size, width, height)
        self.data = mujoco.MjData(self.model)
        self.renderer = mujoco.Renderer(self.model, height, width)
        self.camera = mujoco.MjvCamera()
        for key, value in _CAMERA.items():
            setattr(self.camera, key, value)

    def draw(self, poses: ArmPoses) -> np.ndarray:
        pose_model(self.model, self.data, poses)
        self.renderer.update_scene(self.data, self.camera)
        return self.renderer.render()

    def close(self) -> None:
        self.renderer.close()


class _MatplotlibPainter:
    """A 3-D stick drawing of the arms with matplotlib's Agg backend: needs no OpenGL."""

    def __init__(self, num_agents: int, goal_size: float, width: int, height: int) -> None:
        self.figure = Figure(figsize=(width / 100, height / 100), dpi=100)
        FigureCanvasAgg(self.figure)
        ax = self.figure.add_axes((0, 0, 1, 1), projection="3d")
        ax.set(xlim=(-50, 50), ylim=(-10, 70), zlim=(-15, 14))
        ax.set_box_aspect((100, 80, 29), zoom=1.25)
        ax.view_init(elev=-_CAMERA["elevation"], azim=_CAMERA["azimuth"] - 180)
        ax.set_axis_off()
        goal_points = 1.5 * goal_size  # marker size, about a goal's size on screen
        blank = ([], [], [])
        self.arms = [
            ax.plot(*blank, "o-", lw=3, ms=3, color="#3366cc")[0] for _ in range(num_agents)
        ]
        self.goals = [ax.plot(*blank, "o", ms=goal_points)[0] for _ in range(num_agents)]

    def draw(self, poses: ArmPoses) -> np.ndarray:
        sticks = np.stack([poses.root, poses.elbow, poses.hand], axis=1)  # (arms, 3 points, xyz)
        for arm, points in zip(self.arms, sticks, strict=True):
            arm.set_data_3d(*points.T)
        for goal, position, on in zip(self.goals, poses.goal, poses.goal_on, strict=True):
            goal.set_data_3d(*position[:, None])
            goal.set_color(GOAL_ON_RGBA if on else GOAL_OFF_RGBA)
        self.figure.canvas.draw()
        return np.asarray(self.figure.canvas.buffer_rgba())[..., :3].copy()

    def close(self) -> None:
        self.figure.clear()


def _open_painter(backend: str, *args):
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "matplotlib":
        return _MatplotlibPainter(*args)
    try:
        return _MujocoPainter(*args)
    except Exception as error:  # no OpenGL at all: the import or the context fails, variously
        if backend == "mujoco":
            raise
        warnings.warn(
            f"MuJoCo cannot render here ({error!r}); drawing the arms with matplotlib instead",
            RuntimeWarning,
            stacklevel=3,
        )
        return _MatplotlibPainter(*args)


def _caption(frame: np.ndarray, text: str) -> np.ndarray:
    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(12, frame.shape[0] // 18))
    left, top, right, bottom = draw.textbbox((10, 8), text, font=font)
    draw.rectangle((left - 6, top - 4, right + 6, bottom + 4), fill=(20, 20, 30))
    draw.text((10, 8), text, font=font, fill=(255, 255, 255))
    return np.asarray(image)


def render_observations(
    observations: np.ndarray | Sequence[np.ndarray],
    scores: np.ndarray | Sequence[np.ndarray] | None = None,
    *,
    goal_size: float = GOAL_SIZE,
    width: int = 432,
    height: int = 288,
    backend: str = "auto",
) -> list[np.ndarray]:
    """One RGB frame (height, width, 3) uint8 per step of observations (steps, arms, 33).

    ``scores`` (steps,) or (steps, arms): the running score; each frame shows its mean over
    the arms, and how many hands are in their goals. ``goal_size`` is the reset parameter the
    episode ran with. ``backend``: "mujoco" (offscreen OpenGL), "matplotlib" (no OpenGL), or
    "auto": MuJoCo, falling back to matplotlib with a warning.
    """
    observations = np.asarray(observations, dtype=np.float64)
    if observations.ndim != 3:
        raise ValueError(f"observations must be (steps, arms, 33), got {observations.shape}")
    steps, num_agents, _ = observations.shape
    poses = arm_poses(observations, goal_size)
    if scores is None:
        scores = np.zeros(steps)
    mean_scores = np.asarray(scores, dtype=np.float64).reshape(steps, -1).mean(axis=1)

    painter = _open_painter(backend, num_agents, goal_size, width, height)
    frames = []
    try:
        for t in range(steps):
            frame = painter.draw(ArmPoses(*(field[t] for field in poses)))
            reached = int(poses.goal_on[t].sum())
            text = f"score {mean_scores[t]:5.2f}   in goal {reached:2d}/{num_agents}"
            frames.append(_caption(frame, text))
    finally:
        painter.close()
    return frames


def _gif_bytes(frames: Sequence[np.ndarray], fps: float) -> bytes:
    """An animated GIF that loops.

    One palette for all frames compresses about twice as well as a palette per frame (pixels
    that do not change keep their index). It is built from every frame, thinned out, so that
    rare colours such as a goal lit for a moment still get an entry (median cut loses them).
    """
    if len(frames) == 0:
        raise ValueError("no frames to animate")
    sample = Image.fromarray(np.concatenate([frame[::4, ::4] for frame in frames]))
    palette = sample.quantize(colors=256, method=Image.Quantize.MAXCOVERAGE)
    images = [Image.fromarray(frame) for frame in frames]
    paletted = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
    buffer = io.BytesIO()
    paletted[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=paletted[1:],
        duration=round(1000 / fps),
        loop=0,
    )
    return buffer.getvalue()


def animation_html(frames: Sequence[np.ndarray], fps: float = 15.0) -> str:
    """An ``<img>`` holding the frames as an embedded animated GIF, for ``IPython.display.HTML``."""
    data = base64.b64encode(_gif_bytes(frames, fps)).decode("ascii")
    return f'<img src="data:image/gif;base64,{data}" alt="Reacher arms"/>'


def save_gif(frames: Sequence[np.ndarray], path: str | Path, fps: float = 15.0) -> Path:
    """Write the frames as an animated GIF; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_gif_bytes(frames, fps))
    return path
