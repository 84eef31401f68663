"""How lively is the arm? The random-policy score and velocity statistics of dynamics variants.

Unity publishes one quantitative observable of its Reacher's dynamics: the course notebook's
random policy (clipped N(0, 1) actions every step) scores 0.06-0.15 per episode (20-arm mean),
and an observation-normalisation table bounds |v_A| near 14 and |v_B| near 20. This study runs
that policy on variants of our simulator, one change at a time (docs/environment.md,
"Dynamics fidelity"):

- ``exact``: MuJoCo's exact double-pendulum dynamics with the clamp after integration (the
  simulator before the PhysX velocity step);
- ``physx``: the shipped simulator (PhysX 3.4's step: body velocities kept in world frame,
  drag and clamp before a converged joint solve);
- ``physx_no_clamp``: the same without the 7 rad/s clamp;
- ``physx_pose_velocities``: clamp before the solve, but velocities re-derived at each new pose
  (reduced coordinates: no carried world-frame body velocities);
- ``physx_joint_b``: the other assignment of the universal joint's axes (X fixed in the parent,
  Z in the child), whose Unity/PhysX actor order is unknown.

Run: ``python -m studies.dynamics_fidelity [--episodes 20]``; writes
``results/dynamics/random_policy.csv`` and prints one line per variant.
``python -m studies.dynamics_fidelity --train exact -- --seed 0 --out runs/x --set ...`` trains
with ``train.py``'s CLI on one variant instead (the learning comparisons in the docs).
"""

import argparse
import csv
import time
from multiprocessing import Pool
from pathlib import Path

import mujoco
import numpy as np

import environments
import reacher.sim
import train
from reacher.mjcf import build_mjcf
from reacher.physx_step import PhysxVelocityStep
from reacher.sim import ReacherSim

OUT = Path("results/dynamics/random_policy.csv")
DRAG_FACTOR = 1.0 - 0.05 * 0.02
MAX_SPEED = 7.0


class ExactDynamics:
    """The previous model: MuJoCo's own dynamics, torques as xfrc_applied, and after each step
    the drag and a joint-space clamp that scales A's hinge velocities, then B's relative part,
    so that both bodies' world |ω| ≤ 7."""

    def __init__(self, model: mujoco.MjModel, data: mujoco.MjData, num_agents: int) -> None:
        self.data, self.n = data, num_agents
        self._qpos, self._qvel = data.qpos.reshape(-1, 4), data.qvel.reshape(-1, 4)

    def reset(self) -> None:
        pass

    def apply(self, torques: np.ndarray) -> None:
        self.data.xfrc_applied[1 : 2 * self.n + 1, 3:6] = torques.reshape(-1, 3)

    def record(self) -> None:
        q, v = self._qpos, self._qvel
        cos, sin = np.cos(q[:, 1:3]), np.sin(q[:, 1:3])
        v2 = v * v
        wa2, wr2 = v2[:, 0] + v2[:, 1], v2[:, 2] + v2[:, 3]  # |ω_A|², |ω_B − ω_A|²
        dot = v[:, 1] * v[:, 3] * cos[:, 1] + v[:, 0] * (
            v[:, 2] * cos[:, 0] + v[:, 3] * sin[:, 0] * sin[:, 1]
        )
        scale_a = MAX_SPEED / np.maximum(MAX_SPEED / DRAG_FACTOR, np.sqrt(wa2))
        b = scale_a * dot
        c = np.maximum(MAX_SPEED**2 - scale_a * scale_a * wa2, 0.0)
        scale_b = np.minimum((np.sqrt(b * b + wr2 * c) - b) / (wr2 + 1e-12), DRAG_FACTOR)
        v[:, :2] *= scale_a[:, None]
        v[:, 2:] *= scale_b[:, None]


class PoseVelocities(PhysxVelocityStep):
    """PhysX's clamp and solve, but body velocities re-derived from qvel at every new pose."""

    def apply(self, torques: np.ndarray) -> None:
        self._update_jacobian()
        self.record()  # the body velocities of the current qvel at the current pose
        super().apply(torques)


def joint_b_mjcf(num_agents: int) -> str:
    """Swap each arm's hinge order: X fixed in the parent, Z turning with the child."""
    xml = build_mjcf(num_agents)
    for i in range(num_agents):
        for seg in "AB":
            z = next(line for line in xml.splitlines() if f'name="{seg}{i}_z"' in line)
            x = next(line for line in xml.splitlines() if f'name="{seg}{i}_x"' in line)
            xml = xml.replace(z + "\n" + x, x + "\n" + z)
    return xml


def make_sim(variant: str, seed: int, num_agents: int = 20) -> ReacherSim:
    if variant == "physx_joint_b":
        reacher.sim.build_mjcf = joint_b_mjcf  # this worker process only
    sim = ReacherSim(num_agents=num_agents, seed=seed)
    m, d, n = sim.model, sim.data, num_agents
    variants = {
        "exact": lambda: ExactDynamics(m, d, n),
        "physx_no_clamp": lambda: PhysxVelocityStep(m, d, n, max_angular_speed=np.inf),
        "physx_pose_velocities": lambda: PoseVelocities(m, d, n),
    }
    if variant in variants:  # "physx" and "physx_joint_b" keep the shipped step
        sim.velocity_step = variants[variant]()
    return sim


def kinetic_energy_per_arm(sim: ReacherSim) -> float:
    """0.5·qvelᵀ·M·qvel averaged over the arms (MuJoCo's joint-space kinetic energy)."""
    momentum = np.zeros(sim.model.nv)
    mujoco.mj_mulM(sim.model, sim.data, momentum, sim.data.qvel)
    return 0.5 * float(sim.data.qvel @ momentum) / sim.num_agents


def constant_torque_energy(variant: str, episodes: int, seed: int = 0) -> float:
    """Mean kinetic energy per arm when each arm holds one uniform random action an episode."""
    sim = make_sim(variant, seed)
    rng = np.random.default_rng(seed)
    sim.reset()
    energies = []
    for _ in range(episodes):
        actions = rng.uniform(-1, 1, (20, 4))
        for _ in range(1001):
            sim.step(actions)
            energies.append(kinetic_energy_per_arm(sim))
    return float(np.mean(energies))


def random_policy(variant: str, episodes: int, seed: int = 0) -> dict[str, float | str]:
    """The course notebook's random policy for `episodes` episodes on one variant."""
    sim = make_sim(variant, seed)
    rng = np.random.default_rng(seed)
    sim.reset()
    scores, speeds, lin_a, lin_b, energies = [], [], [], [], []
    start = time.perf_counter()
    for _ in range(episodes):
        total = np.zeros(20)
        for _ in range(1001):
            obs, reward, _, truncated, _ = sim.step(np.clip(rng.standard_normal((20, 4)), -1, 1))
            total += reward
            if not truncated[0]:
                omega = obs[:, [7, 8, 9, 20, 21, 22]].reshape(20, 2, 3)
                speeds.append(np.linalg.norm(omega, axis=-1))
                lin_a.append(np.abs(obs[:, 10:13]).max())
                lin_b.append(np.abs(obs[:, 23:26]).max())
                energies.append(kinetic_energy_per_arm(sim))
        scores.append(total.mean())
    seconds = (time.perf_counter() - start) / episodes
    speeds = np.array(speeds)
    return {
        "variant": variant,
        "episodes": episodes,
        "mean_score": float(np.mean(scores)),
        "min_score": float(np.min(scores)),
        "max_score": float(np.max(scores)),
        "max_angular_speed": float(speeds.max()),
        "p99_angular_speed": float(np.percentile(speeds, 99)),
        "max_abs_velocity_a": float(max(lin_a)),
        "max_abs_velocity_b": float(max(lin_b)),
        "kinetic_energy_random": float(np.mean(energies)),
        "kinetic_energy_constant": constant_torque_energy(variant, max(1, episodes // 4), seed),
        "seconds_per_episode": seconds,
        "scores": " ".join(f"{s:.3f}" for s in scores),
    }


VARIANTS = ("exact", "physx", "physx_no_clamp", "physx_pose_velocities", "physx_joint_b")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--train",
        choices=VARIANTS,
        help="instead, train on this variant: the arguments after -- go to train.py",
    )
    args, train_args = parser.parse_known_args(argv)
    if args.train:
        environments.ReacherSim = lambda num_agents, seed: make_sim(args.train, seed, num_agents)
        train.main([a for a in train_args if a != "--"])
        return
    with Pool(args.workers) as pool:
        rows = pool.starmap(random_policy, [(v, args.episodes) for v in args.variants])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for row in rows:
        print(
            f"{row['variant']:>22}: random-policy score {row['mean_score']:.3f} "
            f"({row['min_score']:.3f}-{row['max_score']:.3f}), "
            f"|ω| max {row['max_angular_speed']:.1f} p99 {row['p99_angular_speed']:.1f}, "
            f"|v_A| max {row['max_abs_velocity_a']:.1f}, "
            f"|v_B| max {row['max_abs_velocity_b']:.1f}, kinetic energy per arm "
            f"{row['kinetic_energy_random']:.0f} (random) {row['kinetic_energy_constant']:.0f} "
            "(constant torques)"
        )
    shipped = next((r for r in rows if r["variant"] == "physx"), None)
    if shipped:
        print(f"random_policy_score: {shipped['mean_score']:.3f} (Unity: 0.06-0.15)")


if __name__ == "__main__":
    main()
