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

Run: ``python -m studies.dynamics_fidelity [--episodes 20] [--variants ...] [--out DIR]``;
writes ``<out>/random_policy.csv`` (``results/dynamics/``) and prints one line per variant.
Each variant is one trial of ``studies.runner`` on Ray, in a worker process of its own: side by
side, one per core, on this machine or on a cluster (``--address``). A trial writes its row to
``<out>/variants/<variant>.json``, the table is assembled from those files, and Tune's state
stays in ``<out>/.tune``: running the same command again resumes an interrupted study, and
the same ``--out`` with other arguments is refused (delete ``<out>/.tune`` to start over).
``python -m studies.dynamics_fidelity --train exact -- --seed 0 --out runs/x --set ...`` trains
with ``train.py``'s CLI on one variant instead (the learning comparisons in the docs).
"""

import argparse
import contextlib
import csv
import importlib
import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import mujoco
import numpy as np
from ray import tune

import environments
import reacher.sim
import train
from reacher.mjcf import build_mjcf
from reacher.physx_step import PhysxVelocityStep
from reacher.sim import ReacherSim
from studies.runner import METRIC, Study, add_cluster_arguments, run_study

OUT = Path("results/dynamics")
TABLE = "random_policy.csv"
STEPS_PER_EPISODE = 1001  # Unity's time limit, in decisions
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


@contextlib.contextmanager
def mjcf_builder(builder: Callable[[int], str]) -> Iterator[None]:
    """``ReacherSim`` builds its model with ``builder`` inside this block, and with the
    shipped ``build_mjcf`` again after it, whatever else later runs in the same process."""
    shipped = reacher.sim.build_mjcf
    reacher.sim.build_mjcf = builder
    try:
        yield
    finally:
        reacher.sim.build_mjcf = shipped


def make_sim(variant: str, seed: int, num_agents: int = 20) -> ReacherSim:
    builder = joint_b_mjcf if variant == "physx_joint_b" else reacher.sim.build_mjcf
    with mjcf_builder(builder):
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


def constant_torque_energy(
    variant: str, episodes: int, seed: int = 0, steps: int = STEPS_PER_EPISODE
) -> float:
    """Mean kinetic energy per arm when each arm holds one uniform random action an episode."""
    sim = make_sim(variant, seed)
    rng = np.random.default_rng(seed)
    sim.reset()
    energies = []
    for _ in range(episodes):
        actions = rng.uniform(-1, 1, (20, 4))
        for _ in range(steps):
            sim.step(actions)
            energies.append(kinetic_energy_per_arm(sim))
    return float(np.mean(energies))


def random_policy(
    variant: str,
    episodes: int,
    seed: int = 0,
    steps: int = STEPS_PER_EPISODE,
    on_episode_end: Callable[[list[float]], None] | None = None,
) -> dict[str, float | str]:
    """The course notebook's random policy for `episodes` episodes on one variant; `steps`
    below 1001 truncates every episode (tests), `on_episode_end` gets the scores so far."""
    sim = make_sim(variant, seed)
    rng = np.random.default_rng(seed)
    sim.reset()
    scores, speeds, lin_a, lin_b, energies = [], [], [], [], []
    start = time.perf_counter()
    for _ in range(episodes):
        total = np.zeros(20)
        for _ in range(steps):
            obs, reward, _, truncated, _ = sim.step(np.clip(rng.standard_normal((20, 4)), -1, 1))
            total += reward
            if not truncated[0]:
                omega = obs[:, [7, 8, 9, 20, 21, 22]].reshape(20, 2, 3)
                speeds.append(np.linalg.norm(omega, axis=-1))
                lin_a.append(np.abs(obs[:, 10:13]).max())
                lin_b.append(np.abs(obs[:, 23:26]).max())
                energies.append(kinetic_energy_per_arm(sim))
        scores.append(total.mean())
        if on_episode_end:
            on_episode_end(scores)
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
        "kinetic_energy_constant": constant_torque_energy(
            variant, max(1, episodes // 4), seed, steps
        ),
        "seconds_per_episode": seconds,
        "scores": " ".join(f"{s:.3f}" for s in scores),
    }


VARIANTS = ("exact", "physx", "physx_no_clamp", "physx_pose_velocities", "physx_joint_b")


def variant_file(out: Path, variant: str) -> Path:
    return out / "variants" / f"{variant}.json"


def variant_trial(params: dict, study: Study) -> None:
    """One trial of ``studies.runner``: the random policy on ``params["variant"]``, every
    episode reported to Tune, the row written to ``variant_file``."""
    variant, host = params["variant"], socket.gethostname()

    def report(scores: list[float]) -> None:
        score = float(scores[-1])
        window = float(np.mean(scores))
        tune.report(
            {"run": variant, "host": host, "episode": len(scores), "score": score, METRIC: window}
        )

    steps = study.max_steps or STEPS_PER_EPISODE
    row = random_policy(variant, study.episodes, steps=steps, on_episode_end=report)
    path = variant_file(study.out, variant)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(row, indent=2) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument(
        "--max-steps",
        type=int,
        default=STEPS_PER_EPISODE,
        help="steps per episode (default: Unity's 1001; fewer for tests)",
    )
    parser.add_argument("--out", type=Path, default=OUT)
    add_cluster_arguments(parser)
    parser.add_argument(
        "--train",
        choices=VARIANTS,
        help="instead, train on this variant: the arguments after -- go to train.py",
    )
    args, train_args = parser.parse_known_args(argv)
    if args.train:
        shipped = environments.ReacherSim
        environments.ReacherSim = lambda num_agents, seed: make_sim(args.train, seed, num_agents)
        try:
            train.main([a for a in train_args if a != "--"])
        finally:
            environments.ReacherSim = shipped
        return
    out = args.out.resolve()  # the trials write here, wherever they run
    study = Study(out=out, episodes=args.episodes, max_steps=args.max_steps)
    command = {k: v for k, v in vars(args).items() if k not in ("address", "train")}
    # By module name: run as ``python -m``, this file is ``__main__``, whose functions Ray
    # would pickle by value instead of importing them from the shipped code.
    trial = importlib.import_module("studies.dynamics_fidelity").variant_trial
    run_study(
        study,
        {"variant": tune.grid_search(args.variants)},
        total=len(args.variants),
        command=command,
        address=args.address,
        trial=trial,
    )
    rows = [json.loads(variant_file(out, v).read_text()) for v in args.variants]
    with (out / TABLE).open("w", newline="") as f:
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
