"""The MuJoCo model of Unity's Reacher arms and how its sensors read out.

MuJoCo works in a z-up frame: Unity (x, y, z) is MuJoCo (x, z, y). Body-local MuJoCo
coordinates are the same swap of Unity's (scaled) local coordinates. The Unity facts are in
`docs/environment.md`, sections Physics and The MuJoCo model.
"""

import numpy as np

TIMESTEP = 0.02  # Unity's fixed timestep
HAND_RADIUS = 1.0  # the hand sphere collider
GOAL_RADIUS = 8.0  # the goal circles the root at this radius, 1 unit below it
GOAL_HEIGHT = -1.0

# Agent roots of the stock scene in Unity's (x, z) plane, y = 0.
ROOTS_UNITY_XZ = [(x, z) for z in (0.0, 20.0, 41.1, 61.1) for x in (-40.0, -20.0, 0.0, 20.0, 40.0)]
ROOTS = np.array([(x, z, 0.0) for x, z in ROOTS_UNITY_XZ])  # the same in MuJoCo's frame


def reach_distance(goal_size: float) -> float:
    """Hand centre to goal centre below which the hand touches the goal (goal_size: diameter)."""
    return HAND_RADIUS + 0.5 * goal_size


# One arm. Hinge order matters: the first (Unity joint-Z) axis is fixed in the parent, the second
# (joint-X) turns with the child, and together they lock the twist about the segment's long axis
# (see docs/environment.md). A hangs from joint A at the base-sphere centre (0.02 above the root)
# and B from joint B at A's tip. Mass properties are Unity's, derived from the colliders.
_ARM = """
    <site name="root{i}" pos="{x} {y} 0"/>
    <geom name="base{i}" type="sphere" size="0.5" pos="{x} {y} 0" rgba=".6 .6 .6 1"/>
    <body name="A{i}" pos="{x} {y} -4" quat="0 1 0 0">
      <inertial pos="0 0 0" mass="1" diaginertia="2.7507353 2.7507353 0.1220588"/>
      <joint name="A{i}_z" pos="0 0 -4.02" axis="0 1 0"/>
      <joint name="A{i}_x" pos="0 0 -4.02" axis="1 0 0"/>
      <geom name="upper{i}" type="capsule" fromto="0 0 -2.5 0 0 2.5" size="0.5"/>
      <body name="B{i}" pos="0 0 6">
        <inertial pos="0 0 1.4545455" mass="1" diaginertia="3.8589187 3.8589187 0.2568182"/>
        <joint name="B{i}_z" pos="0 0 -3" axis="0 1 0"/>
        <joint name="B{i}_x" pos="0 0 -3" axis="1 0 0"/>
        <geom name="forearm{i}" type="capsule" fromto="0 0 -2.5 0 0 2.5" size="0.5"/>
        <geom name="hand{i}" type="sphere" size="{hand}" pos="0 0 3" rgba=".9 .5 .1 1"/>
      </body>
    </body>"""

# The goal is a trigger only: no physics, moved by the simulator every decision.
_GOAL = """
    <body name="goal{i}" mocap="true" pos="{x} {y_goal} {z_goal}">
      <geom name="goal{i}" type="sphere" size="2.5" rgba=".1 .9 .1 .35"/>
    </body>"""

# A forearm or hand folded back can hit its own base sphere; nothing else collides.
_CONTACTS = """
    <pair geom1="base{i}" geom2="forearm{i}"/>
    <pair geom1="base{i}" geom2="hand{i}"/>"""

# Frame sensors per arm, in the order of the observation. Positions are relative to
# the root site, like Unity's localPosition. "xbody" is the body frame (Unity's transform);
# "body" is the inertial frame, whose linear velocity is the centre-of-mass velocity Unity
# reports as Rigidbody.velocity.
_SEGMENT_SENSORS = """
    <framepos objtype="xbody" objname="{seg}{i}" reftype="site" refname="root{i}"/>
    <framequat objtype="xbody" objname="{seg}{i}"/>
    <frameangvel objtype="xbody" objname="{seg}{i}"/>
    <framelinvel objtype="body" objname="{seg}{i}"/>"""
_GOAL_SENSOR = """
    <framepos objtype="xbody" objname="goal{i}" reftype="site" refname="root{i}"/>"""
SENSORS_PER_ARM = 2 * (3 + 4 + 3 + 3) + 3


def build_mjcf(num_agents: int) -> str:
    """MJCF of `num_agents` arms on Unity's grid, all in one model.

    Names for renderers: bodies `A{i}`, `B{i}`, mocap `goal{i}`; geoms `base{i}`, `hand{i}`,
    `goal{i}`.
    """
    arms, goals, contacts, sensors = [], [], [], []
    for i, (x, y) in enumerate(ROOTS_UNITY_XZ[:num_agents]):  # Unity (x, 0, z): MuJoCo (x, z, 0)
        arms.append(_ARM.format(i=i, x=x, y=y, hand=HAND_RADIUS))
        goals.append(_GOAL.format(i=i, x=x, y_goal=y + GOAL_RADIUS, z_goal=GOAL_HEIGHT))
        contacts.append(_CONTACTS.format(i=i))
        sensors += [_SEGMENT_SENSORS.format(seg=seg, i=i) for seg in "AB"]
        sensors.append(_GOAL_SENSOR.format(i=i))
    return f"""<mujoco model="unity_reacher">
  <option timestep="{TIMESTEP}" gravity="0 0 -9.81" integrator="Euler">
    <!-- MuJoCo must never silently reset the state after a divergence: the simulator checks. -->
    <flag autoreset="disable"/>
  </option>
  <default>
    <joint type="hinge"/>
    <geom contype="0" conaffinity="0" rgba=".2 .4 .8 1"/>  <!-- only the pairs below collide -->
  </default>
  <worldbody>
    <light pos="0 30 80" dir="0 0 -1" directional="true"/>{"".join(arms)}{"".join(goals)}
  </worldbody>
  <contact>{"".join(contacts)}
  </contact>
  <sensor>{"".join(sensors)}
  </sensor>
</mujoco>
"""


def observation_gather() -> tuple[np.ndarray, np.ndarray]:
    """(source, sign): observation[k] = sign[k] · (one arm's sensor values)[source[k]], k < 29.

    The frame mapping: vectors swap y and z; pseudovectors (angular velocity) also flip sign;
    MuJoCo's quaternion (w, x, y, z) becomes Unity's (x, y, z, w) = (x, z, y, −w), whose
    overall sign makes x = +1 at reset, as in Unity. MuJoCo's body quaternions come from the
    hinge angles, so they are continuous in time, as PhysX's are.
    """
    vector, pseudovector = ([0, 2, 1], [1, 1, 1]), ([0, 2, 1], [-1, -1, -1])
    quaternion = ([1, 3, 2, 0], [1, 1, 1, -1])
    # (sensor offset, mapping): A's position, quaternion, ω, COM velocity; then B's; then goal.
    segment = [(0, vector), (3, quaternion), (7, pseudovector), (10, vector)]
    blocks = segment + [(13 + offset, mapping) for offset, mapping in segment] + [(26, vector)]
    source = [offset + i for offset, (indices, _) in blocks for i in indices]
    sign = [s for _, (_, signs) in blocks for s in signs]
    return np.array(source), np.array(sign, dtype=np.float64)
