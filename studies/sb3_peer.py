"""Peers side by side: Stable-Baselines3's TD3 or SAC on the same 20-arm Reacher, same seeds.

The 20 arms of one in-process ``ReacherSim`` are SB3's 20 vectorised environments, so the
peer sees exactly the episodes our agent sees (same simulator seed, same 1001-step time
limit, reported as a truncation that SB3 bootstraps through). TD3 (``--algo td3``, the
default) runs with SB3's TD3 defaults (400x300 ReLU networks, lr 1e-3, batch 256, tau 5e-3,
twin critics, target smoothing 0.2 clipped 0.5, actor every 2nd update, one update per
vectorised step) plus Gaussian exploration noise of std 0.1, the public recipes' choice; SAC
(``--algo sac``, written to ``results/peer_sb3_sac`` unless ``--out`` says otherwise) with
SB3's SAC defaults (256x256 networks, lr 3e-4, batch 256, tau 5e-3, entropy coefficient
tuned automatically, one update per vectorised step). Each episode's per-arm scores go to
``<out>/seed_<k>/scores.csv`` in our format, so ``scores.read_scores`` and the Report read it
like any of our runs; ``<out>/summary.csv`` holds the window end and wall-clock per seed.

SB3 is not in the default install (``README``, "Benchmarks and studies"). The committed runs
(side by side on the two cores; the last to finish writes the complete summary): seeds 0 and
1 two at a time, seeds 2-4 three at a time (TD3's to their window end or the budget)::

    .venv/bin/pip install stable-baselines3==2.9.2
    .venv/bin/python -m studies.sb3_peer --seeds 0 --episodes 110 &
    .venv/bin/python -m studies.sb3_peer --seeds 1 --episodes 110
    .venv/bin/python -m studies.sb3_peer --algo sac --seeds 0 --episodes 100 &
    .venv/bin/python -m studies.sb3_peer --algo sac --seeds 1 --episodes 100
    .venv/bin/python -m studies.sb3_peer --seeds 2 --episodes 110  # and seeds 3 and 4
    .venv/bin/python -m studies.sb3_peer --algo sac --seeds 2 --episodes 100  # and 3 and 4
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3 import SAC, TD3
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.vec_env import VecEnv

import compiled_update  # noqa: F401  (sets inductor's cache to the user's folder, not /tmp)
from reacher import ACTION_SIZE, NUM_AGENTS, OBSERVATION_SIZE
from reacher.sim import ReacherSim
from scores import ScoresLog, TrainResult, read_scores

STEPS_PER_EPISODE = 1001  # Unity's time limit, in decisions


class ReacherSB3VecEnv(VecEnv):
    """Every arm of one ``ReacherSim`` as one of SB3's vectorised environments.

    All arms end their episode together; SB3's convention for that step: ``dones`` true, the
    next episode's first observation returned, the last one in ``infos[i]["terminal_observation"]``
    and ``TimeLimit.truncated`` set, so the replay buffer bootstraps through the time limit.
    """

    def __init__(self, seed: int) -> None:
        self.sim = ReacherSim(num_agents=NUM_AGENTS, seed=seed)
        observation_space = spaces.Box(-np.inf, np.inf, (OBSERVATION_SIZE,), np.float32)
        action_space = spaces.Box(-1.0, 1.0, (ACTION_SIZE,), np.float32)
        self.render_mode = None  # asked for by SB3's VecEnv, which warns without it
        super().__init__(NUM_AGENTS, observation_space, action_space)
        self._actions = np.zeros((NUM_AGENTS, ACTION_SIZE), np.float32)
        self.episode_scores = np.zeros(NUM_AGENTS)
        self.finished_episodes: list[np.ndarray] = []  # per-arm scores of each ended episode

    def reset(self) -> np.ndarray:
        self.episode_scores[:] = 0.0
        return self.sim.reset()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        step = self.sim.step(self._actions)
        self.episode_scores += step.rewards
        ended = step.terminated | step.truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        observations = step.observations
        if ended.all():
            for i, info in enumerate(infos):
                info["terminal_observation"] = step.final_observations[i]
                info["TimeLimit.truncated"] = bool(step.truncated[i] and not step.terminated[i])
            self.finished_episodes.append(self.episode_scores.copy())
            observations = self.reset()
        return observations, step.rewards.astype(np.float32), ended, infos

    def close(self) -> None:
        pass

    # SB3's VecEnv asks for these; one in-process simulator has no sub-environment objects.
    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        return [getattr(self, attr_name)] * self.num_envs

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        setattr(self, attr_name, value)

    def env_method(self, method_name: str, *args: Any, indices: Any = None, **kwargs: Any) -> list:
        raise NotImplementedError("ReacherSB3VecEnv has no sub-environment objects")

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        return [False] * self.num_envs


class EpisodeLog(BaseCallback):
    """Writes each finished episode to ``scores.csv``; stops at the window end or the budget."""

    def __init__(self, env: ReacherSB3VecEnv, out: Path, episodes: int, stop_when_solved: bool):
        super().__init__()
        self.env, self.episodes, self.stop_when_solved = env, episodes, stop_when_solved
        self.log = ScoresLog(out / "scores.csv", NUM_AGENTS)
        self.seconds: list[float] = []
        self.started = self.episode_start = time.perf_counter()

    def _on_step(self) -> bool:
        finished = self.env.finished_episodes
        if len(finished) == len(self.seconds):
            return True
        now = time.perf_counter()
        self.seconds.append(now - self.episode_start)
        self.episode_start = now
        result = TrainResult(np.array(finished), np.array(self.seconds))
        self.log.append(result, now - self.started)
        print(f"episode {len(finished)}: {result.episode_means[-1]:.2f}", flush=True)
        solved = self.stop_when_solved and result.solved_episode is not None
        return len(finished) < self.episodes and not solved


def make_model(algo: str, env: ReacherSB3VecEnv, seed: int) -> TD3 | SAC:
    """SB3's ``algo`` ("td3" or "sac") with its defaults on ``env``; TD3 with Gaussian
    exploration noise of std 0.1, the public recipes' choice."""
    if algo == "td3":
        noise = NormalActionNoise(np.zeros(ACTION_SIZE), 0.1 * np.ones(ACTION_SIZE))
        model = TD3("MlpPolicy", env, action_noise=noise, seed=seed, device="cpu", verbose=0)
    else:
        model = SAC("MlpPolicy", env, seed=seed, device="cpu", verbose=0)
    model.set_logger(Logger(folder=None, output_formats=[]))  # SB3's own makes /tmp/SB3-*
    return model


def train_seed(
    seed: int, episodes: int, out: Path, stop_when_solved: bool, algo: str = "td3"
) -> TrainResult:
    """Train SB3's ``algo`` (td3 or sac) from ``seed`` for up to ``episodes`` episodes; its
    scores (also written to ``out/scores.csv`` episode by episode)."""
    torch.set_num_threads(1)
    env = ReacherSB3VecEnv(seed)
    model = make_model(algo, env, seed)
    log = EpisodeLog(env, out, episodes, stop_when_solved)
    try:
        model.learn(total_timesteps=episodes * STEPS_PER_EPISODE * NUM_AGENTS, callback=log)
    finally:
        log.log.close()
    return TrainResult(np.array(env.finished_episodes), np.array(log.seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--algo", choices=("td3", "sac"), default="td3")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--episodes", type=int, default=150)
    parser.add_argument("--out", type=Path, default=None, help="default: results/peer_sb3_ALGO")
    parser.add_argument("--keep-going", action="store_true", help="train past the window end")
    args = parser.parse_args()
    args.out = args.out or Path(f"results/peer_sb3_{args.algo}")
    for seed in args.seeds:
        train_seed(seed, args.episodes, args.out / f"seed_{seed}", not args.keep_going, args.algo)
    # The summary covers every seed in --out, so seeds run by separate commands add up.
    rows = []
    for directory in sorted(args.out.glob("seed_*"), key=lambda d: int(d.name[5:])):
        result = read_scores(directory / "scores.csv")
        rows.append(
            {
                "seed": int(directory.name[5:]),
                "episodes": len(result.scores),
                "window_end": result.solved_episode,
                "first_episode_ge_30": result.first_episode_at_solve_score,
                "seconds_to_solve": result.seconds_to_solve,
                "seconds_total": float(result.episode_seconds.sum()),
                "seconds_per_episode": float(result.episode_seconds.mean()),
            }
        )
        print(rows[-1], flush=True)
    with open(args.out / "summary.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
