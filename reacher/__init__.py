"""MuJoCo re-creation of Unity ML-Agents 0.4's 20-arm Reacher (the Udacity course build)."""

import os
import sys

# MuJoCo picks its OpenGL backend when it is first imported, so this must run before any
# submodule imports mujoco. EGL renders headless (through Mesa's software rasteriser when
# there is no GPU); a MUJOCO_GL set by the user wins.
if sys.platform.startswith("linux"):
    os.environ.setdefault("MUJOCO_GL", "egl")
