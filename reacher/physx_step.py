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
        self._principal_inertia = model.body_inertia[self._body_slice].reshape(n, 2, 1, 3)
        # World-frame (v, ω) of each body at its centre of mass, as PhysX stores them:
        # velocities[arm] = (v_A, ω_A, v_B, ω_B).
        self.velocities = np.zeros((n, 12))
        self.linear = self.velocities.reshape(n, 2, 2, 3)[:, :, 0]  # views: (n, 2, 3)
        self.angular = self.velocities.reshape(n, 2, 2, 3)[:, :, 1]
        # Hinge d moves body b iff it sits above b in the arm: A moves with (A_z, A_x), B with
        # all four. Mask of the (n, 4 hinges, 2 bodies, 2, 3) Jacobian.
        self._moves = np.array([[1, 1], [1, 1], [0, 1], [0, 1]], float)[None, :, :, None, None]
        self._jacobian = np.zeros((n, 4, 12))
        self._momentum = np.zeros(4 * n)
        self._mass_times_qvel = np.zeros(4 * n)

    def reset(self) -> None:
        """All bodies at rest (Unity's AgentReset zeroes both velocities)."""
        self.velocities.fill(0.0)

    def unconstrained(self, torques: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Steps 1-2: the bodies' (v, ω) after torques, gravity, drag and the clamp.

        ``torques``: (n, 2, 3) world-frame torques on A and B (MuJoCo frame).
        """
        dt = TIMESTEP
        # 1. torque and gravity: ω += I_world⁻¹·τ·dt with I_world = R·diag(I)·Rᵀ, v += g·dt
        angular = self.angular + dt * self._world_inertia_apply(torques, inverse=True)
        linear = self.linear + dt * self.model.opt.gravity
        # 2. drag, then the clamp, on the unconstrained angular velocity
        angular *= max(0.0, 1.0 - ANGULAR_DRAG * dt)
        speed = np.sqrt((angular * angular).sum(-1, keepdims=True))
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
        body_momenta = np.stack(
            [self._mass * linear, self._world_inertia_apply(angular, inverse=False)], axis=2
        ).reshape(self.num_agents, 12, 1)
        self._update_jacobian()
        self._momentum[:] = np.matmul(self._jacobian, body_momenta).reshape(-1)
        mujoco.mj_mulM(m, d, self._mass_times_qvel, d.qvel)
        d.qfrc_applied[:] = (self._momentum - self._mass_times_qvel) / TIMESTEP + d.qfrc_bias

    def record(self) -> None:
        """4. keep the solved velocities of the bodies, as solved at the pose of ``apply``."""
        qvel = self.data.qvel.reshape(self.num_agents, 1, 4)
        self.velocities[:] = np.matmul(qvel, self._jacobian)[:, 0]

    def _world_inertia_apply(self, vectors: np.ndarray, inverse: bool) -> np.ndarray:
        """(n, 2, 3) world vectors times each body's world inertia R·diag(I)·Rᵀ (or inverse)."""
        rotation = self.data.ximat[self._body_slice].reshape(self.num_agents, 2, 3, 3)
        local = np.matmul(vectors[:, :, None, :], rotation)  # row vectors: (Rᵀx)ᵀ
        scaled = local / self._principal_inertia if inverse else local * self._principal_inertia
        return np.matmul(scaled, rotation.transpose(0, 1, 3, 2))[:, :, 0]

    def _update_jacobian(self) -> None:
        """(n, 4, 12): the bodies' (v_A, ω_A, v_B, ω_B) per unit velocity of each hinge.

        Angular part: the hinge axis; linear part: axis × (centre of mass − anchor).
        """
        n, d = self.num_agents, self.data
        axes = d.xaxis[: 4 * n].reshape(n, 4, 1, 3)
        arms = d.xipos[self._body_slice].reshape(n, 1, 2, 3) - d.xanchor[: 4 * n].reshape(
            n, 4, 1, 3
        )
        ax, ay, az = axes[..., 0], axes[..., 1], axes[..., 2]
        rx, ry, rz = arms[..., 0], arms[..., 1], arms[..., 2]
        cross = np.stack([ay * rz - az * ry, az * rx - ax * rz, ax * ry - ay * rx], axis=-1)
        jacobian = self._jacobian.reshape(n, 4, 2, 2, 3)
        jacobian[:, :, :, 0] = cross
        jacobian[:, :, :, 1] = axes
        jacobian *= self._moves
