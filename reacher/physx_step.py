"""Unity's (PhysX 3.4's) velocity step for the Reacher arms, computed on MuJoCo's kinematics.

PhysX simulates each arm segment as a free rigid body whose world-frame velocity (centre-of-mass
velocity v and angular velocity ω) is part of the state, and each joint as a constraint on
those velocities. One physics step of PhysX 3.4 does, per body and then per joint:

1. forces change the velocities: ``AddTorque`` gives Δω = I⁻¹·τ·dt (world inertia), gravity
   Δv = g·dt;
2. angular drag ω ← ω·(1 − drag·dt), then the clamp |ω| ≤ ``maxAngularVelocity`` (7 rad/s) —
   on this *unconstrained* velocity, before any joint is solved
   (``bodyCoreComputeUnconstrainedVelocity`` in PhysX's ``DyBodyCoreIntegrator.h``);
3. the joint solver changes the velocities to ones the joints allow;
4. positions are integrated with the solved velocities, and the bodies keep those velocities
   (in world frame) into the next step.

We take the converged solution of step 3: the joint velocities whose body velocities are
closest to the unconstrained ones in the kinetic-energy metric, i.e. the joint velocities that
carry the same generalized momentum. It is computed at the pose where the solve happens, so
velocities carried over a pose change lose the part that the joints no longer allow there —
the energy loss every velocity-level rigid-body solver has, and the reason Unity's arm is much
calmer than an exact (reduced-coordinate) double pendulum under the same torques
(docs/environment.md, "Dynamics fidelity"). MuJoCo keeps the joint kinematics, the contacts
with the base sphere and the integration of positions.
"""

import mujoco
import numpy as np

from reacher.mjcf import TIMESTEP

ANGULAR_DRAG = 0.05  # the segments' Rigidbody.angularDrag
MAX_ANGULAR_SPEED = 7.0  # Unity's default Rigidbody.maxAngularVelocity, rad/s


class PhysxVelocityStep:
    """Body velocities of every arm and the PhysX-style step that updates them.

    The model must hold ``n`` arms of two bodies (A, B) and four hinges (A_z, A_x, B_z, B_x)
    each, bodies 1..2n and joints 0..4n-1 in arm order (``reacher.mjcf``). Per physics step:
    ``apply(torques)`` before ``mujoco.mj_step2`` and ``record()`` right after it.
    """

    def __init__(
        self,
        model: mujoco.MjModel,
        data: mujoco.MjData,
        num_agents: int,
        max_angular_speed: float = MAX_ANGULAR_SPEED,
    ) -> None:
        n = num_agents
        self.model, self.data, self.num_agents = model, data, n
        self.max_angular_speed = max_angular_speed
        self._body_slice = slice(1, 2 * n + 1)
        self._mass = model.body_mass[self._body_slice].reshape(n, 2, 1)
        self._principal_inertia = model.body_inertia[self._body_slice].reshape(n, 2, 3)
        # World-frame (v, ω) of each body at its centre of mass, as PhysX stores them.
        self.linear = np.zeros((n, 2, 3))
        self.angular = np.zeros((n, 2, 3))
        self._momentum = np.zeros(4 * n)
        self._mass_times_qvel = np.zeros(4 * n)

    def reset(self) -> None:
        """All bodies at rest (Unity's AgentReset zeroes both velocities)."""
        self.linear.fill(0.0)
        self.angular.fill(0.0)

    def unconstrained(self, torques: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Steps 1-2: the bodies' (v, ω) after torques, gravity, drag and the clamp.

        ``torques``: (n, 2, 3) world-frame torques on A and B (MuJoCo frame).
        """
        dt = TIMESTEP
        rotation = self.data.ximat[self._body_slice].reshape(self.num_agents, 2, 3, 3)
        # 1. torque and gravity: ω += R·(Rᵀτ / I)·dt, v += g·dt
        local_torque = np.einsum("nbji,nbj->nbi", rotation, torques)
        angular = self.angular + dt * np.einsum(
            "nbij,nbj->nbi", rotation, local_torque / self._principal_inertia
        )
        linear = self.linear + dt * self.model.opt.gravity
        # 2. drag, then the clamp, on the unconstrained angular velocity
        angular *= max(0.0, 1.0 - ANGULAR_DRAG * dt)
        speed = np.sqrt(np.einsum("nbi,nbi->nb", angular, angular))[..., None]
        angular *= np.minimum(1.0, self.max_angular_speed / np.maximum(speed, 1e-12))
        return linear, angular

    def apply(self, torques: np.ndarray) -> None:
        """Set ``qfrc_applied`` so that ``mj_step2`` ends at PhysX's solved joint velocities.

        The generalized force replaces MuJoCo's own dynamics for this step (it cancels
        ``qfrc_bias``, gravity and Coriolis terms included), so MuJoCo only adds contact
        impulses and integrates positions.
        """
        m, d = self.model, self.data
        linear, angular = self.unconstrained(torques)
        # 3. converged joint solve: the joint velocities with the bodies' generalized momentum
        # p = Σ_b J_bᵀ·(m·v, I·ω); MuJoCo's step then yields qvel = M⁻¹·p.
        rotation = d.ximat[self._body_slice].reshape(self.num_agents, 2, 3, 3)
        self._jac_lin, self._jac_ang = self._jacobians()
        local_angular = np.einsum("nbji,nbj->nbi", rotation, angular)
        spin_momentum = np.einsum(
            "nbij,nbj->nbi", rotation, local_angular * self._principal_inertia
        )
        momentum = np.einsum("nbdi,nbi->nd", self._jac_lin, self._mass * linear) + np.einsum(
            "nbdi,nbi->nd", self._jac_ang, spin_momentum
        )
        self._momentum[:] = momentum.ravel()
        mujoco.mj_mulM(m, d, self._mass_times_qvel, d.qvel)
        d.qfrc_applied[:] = (self._momentum - self._mass_times_qvel) / TIMESTEP + d.qfrc_bias

    def record(self) -> None:
        """4. keep the solved velocities of the bodies, as solved at the pose of ``apply``."""
        qvel = self.data.qvel.reshape(self.num_agents, 1, 4)
        np.einsum("nbdi,nbd->nbi", self._jac_lin, qvel, out=self.linear)
        np.einsum("nbdi,nbd->nbi", self._jac_ang, qvel, out=self.angular)

    def _jacobians(self) -> tuple[np.ndarray, np.ndarray]:
        """(n, 2, 4, 3) linear and angular Jacobians: body b's velocity per unit of hinge d.

        Hinge d moves body b iff it sits above b in the arm (A moves with A_z, A_x; B with
        all four): angular part the hinge axis, linear part axis × (COM − anchor).
        """
        n, d = self.num_agents, self.data
        axes = d.xaxis[: 4 * n].reshape(n, 1, 4, 3)
        anchors = d.xanchor[: 4 * n].reshape(n, 1, 4, 3)
        centres = d.xipos[self._body_slice].reshape(n, 2, 1, 3)
        moves = np.array([[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])[None, :, :, None]
        jac_ang = moves * axes
        jac_lin = moves * np.cross(axes, centres - anchors)
        return jac_lin, jac_ang
