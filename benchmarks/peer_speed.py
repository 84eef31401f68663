"""Seconds per training episode: our default agent next to Stable-Baselines3's TD3 and SAC.

Each learner trains on its own in-process 20-arm simulator (seed 0) with one torch thread:
ours with the compiled update (as the studies run it) and eagerly, SB3's with their defaults
(``studies.sb3_peer.make_model``: one gradient step per step of the 20 arms, as ours). Their
episodes alternate, so that machine noise hits all alike; the first episode of each is a
warm-up (it compiles ours, and SB3's first 100 transitions are random), the rest are timed
as CPU time on this thread: on a quiet machine, the wall-clock. The last line is the
headline: ``peer_seconds_per_episode: ours S (xR of SB3's TD3, xQ of SB3's SAC)``.
Needs ``stable-baselines3`` (README, "Benchmarks and studies").

    python -m benchmarks.peer_speed [--episodes 2] [--max-steps 1001]
"""

import argparse
from collections.abc import Callable

import torch

from benchmarks.train_speed import our_trainer, time_alternately
from ddpg_agent import DDPGConfig
from studies.sb3_peer import STEPS_PER_EPISODE, ReacherSB3VecEnv, make_model


def sb3(algo: str, max_steps: int | None) -> Callable[[], object]:
    env = ReacherSB3VecEnv(seed=0)
    model = make_model(algo, env, seed=0)
    steps = (max_steps or STEPS_PER_EPISODE) * env.num_envs  # SB3 counts every arm's step
    return lambda: model.learn(steps, reset_num_timesteps=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=2, help="timed episodes per learner")
    parser.add_argument("--max-steps", type=int, default=None, help="truncate episodes")
    args = parser.parse_args()
    torch.set_num_threads(1)

    learners = {
        "ours, compiled": our_trainer(DDPGConfig(), args.max_steps, compiled=True),
        "ours, eager": our_trainer(DDPGConfig(), args.max_steps),
        "SB3 TD3": sb3("td3", args.max_steps),
        "SB3 SAC": sb3("sac", args.max_steps),
    }
    medians = time_alternately(learners, args.episodes, "learner")
    best = medians["ours, compiled"]
    td3, sac = best / medians["SB3 TD3"], best / medians["SB3 SAC"]
    ratios = f"x{td3:.2f} of SB3's TD3, x{sac:.2f} of SB3's SAC"
    print(f"peer_seconds_per_episode: ours {best:.2f} ({ratios})")


if __name__ == "__main__":
    main()
