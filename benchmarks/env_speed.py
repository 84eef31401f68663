"""In-process speed of the 20-arm ReacherSim, next to the raw MuJoCo cost of the same model.

One env step = 4 physics steps (Unity's decision interval) plus goal motion, reward, PhysX's
velocity step, observation building and checks. Two baselines in the same run: `mj_step` alone
on the same model, 4 per env step, with zero torques; and the simulator stepped by MuJoCo's
exact dynamics instead of PhysX's step (`studies.dynamics_fidelity`'s "exact" variant, the
simulator before the PhysX step). The last line is the headline: `env_steps_per_s: N`.

Usage, from the repository root:
    python -m benchmarks.env_speed [--steps 20000] [--repeats 5]
"""

import argparse
import time

import mujoco
import numpy as np

from reacher.sim import PHYSICS_STEPS_PER_DECISION, ReacherSim
from studies.dynamics_fidelity import make_sim


def best_rate(run, steps: int, repeats: int) -> float:
    """Highest steps/s over `repeats` timed blocks (the machine is shared and noisy)."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(steps)
        rates.append(steps / (time.perf_counter() - start))
    return max(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000, help="env steps per timed block")
    parser.add_argument("--repeats", type=int, default=5, help="timed blocks; the best counts")
    parser.add_argument("--agents", type=int, default=20)
    args = parser.parse_args()

    sim = ReacherSim(num_agents=args.agents, seed=0)
    exact = make_sim("exact", seed=0, num_agents=args.agents)
    # Pre-drawn uniform random actions, so the policy costs nothing inside the timing.
    actions = np.random.default_rng(0).uniform(-1, 1, size=(1000, args.agents, 4))

    def stepper(env: ReacherSim):
        env.reset()

        def run(steps: int) -> None:
            for t in range(steps):
                env.step(actions[t % 1000])

        return run

    env_steps, exact_steps = stepper(sim), stepper(exact)

    model = sim.model
    data = mujoco.MjData(model)

    def raw_steps(steps: int) -> None:
        for _ in range(steps * PHYSICS_STEPS_PER_DECISION):
            mujoco.mj_step(model, data)

    env_steps(1000)  # warm-up
    env_rate = best_rate(env_steps, args.steps, args.repeats)
    exact_rate = best_rate(exact_steps, args.steps, args.repeats)
    raw_rate = best_rate(raw_steps, args.steps, args.repeats)
    print(f"agents: {args.agents}, physics steps per env step: {PHYSICS_STEPS_PER_DECISION}")
    raw_us = 1e6 / raw_rate
    print(f"raw mj_step: {raw_us / PHYSICS_STEPS_PER_DECISION:.1f} us each, {raw_us:.1f} us per 4")
    print(f"env.step: {1e6 / env_rate:.1f} us = {raw_rate / env_rate:.2f} x the 4 raw mj_steps")
    print(
        f"exact-dynamics env.step: {1e6 / exact_rate:.1f} us; "
        f"the PhysX step costs {exact_rate / env_rate:.2f} x that"
    )
    print(f"env_steps_per_s: {env_rate:.0f}")


if __name__ == "__main__":
    main()
