"""MuJoCo re-creation of Unity ML-Agents 0.4's 20-arm Reacher (the Udacity course build).

The build's sizes and reset parameters are defined here once, for the simulator, the protocol
server and every tool (docs/environment.md describes them).
"""

import os
import sys

# MuJoCo picks its OpenGL backend when it is first imported, so this must run before any
# submodule imports mujoco. EGL renders headless (through Mesa's software rasteriser when
# there is no GPU); a MUJOCO_GL set by the user wins.
if sys.platform.startswith("linux"):
    os.environ.setdefault("MUJOCO_GL", "egl")

NUM_AGENTS = 20  # arms in the Udacity build; the simulator can run fewer
OBSERVATION_SIZE = 33  # per arm
ACTION_SIZE = 4  # per arm: torques about two world axes on each of the two segments
DEFAULT_RESET_PARAMETERS = {"goal_speed": 1.0, "goal_size": 5.0}  # Unity's academy defaults
# Unity accepts any float, but a goal of size <= 0 is never reached, one wider than the 20 units
# between neighbouring arms is reached from everywhere, and a speed beyond a full turn per
# physics step only aliases (docs/environment.md, Reset parameters).
RESET_PARAMETER_RANGES = {
    "goal_speed": ("[-360, 360]", lambda value: -360 <= value <= 360),
    "goal_size": ("(0, 40]", lambda value: 0 < value <= 40),
}
