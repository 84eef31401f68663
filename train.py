"""Train the DDPG agent on the 20-arm Reacher: the training loop and its command line.

From a notebook::

    env = ReacherSim(num_agents=20, seed=0)   # or UnityEnv(UnityEnvironment(...))
    agent = Agent(env.state_size, env.action_size, env.num_agents, DDPGConfig(), seed=0)
    result = train(env, agent, n_episodes=200)

From the command line (one torch thread by default; docs/performance.md, learner costs)::

    python train.py --env sim --episodes 200 --seed 0 --out runs/sim-seed0
    python train.py --env unity --episodes 200 --seed 0 --out runs/unity-seed0
    python train.py --env sim --episodes 3 --max-steps 100 --out /tmp/t --set batch_size=64 n_step=3

``--out`` receives ``scores.csv``, ``config.json``, the final checkpoint and ``best/``, the
checkpoint of the best 100-episode window. ``python train.py --help`` lists every setting.
"""

import argparse
import ast
import dataclasses
import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ddpg_agent import Agent, DDPGConfig
from environments import EpisodicEnv, open_env
from scores import SOLVE_SCORE, WINDOW, ScoresLog, TrainResult


def run_episode(
    env: EpisodicEnv, agent: Agent, max_steps: int | None = None, learn: bool = True
) -> np.ndarray:
    """Play one episode; return every arm's score. ``learn=False``: greedy, nothing stored."""
    states = env.reset()
    if learn:
        agent.reset()
    scores = np.zeros(env.num_agents)
    for t in itertools.count(1):
        actions = agent.act(states, add_noise=learn)
        step = env.step(actions)
        scores += step.rewards
        episode_over = bool(np.any(step.terminated | step.truncated))
        # After a time limit the successor is the final observation, bootstrapped like any
        # other (only ``terminated`` stops the bootstrap); if the environment does not know
        # it, that one transition is not stored.
        successors = step.final_observations if episode_over else step.observations
        if learn and successors is not None:
            agent.step(states, actions, step.rewards, successors, step.terminated)
        if episode_over or t == max_steps:
            return scores
        states = step.observations


def evaluate(
    env: EpisodicEnv, agent: Agent, n_episodes: int = 1, max_steps: int | None = None
) -> TrainResult:
    """Greedy (noise-free) episodes; the agent does not learn."""
    scores, seconds = [], []
    for _ in range(n_episodes):
        start = time.perf_counter()
        scores.append(run_episode(env, agent, max_steps, learn=False))
        seconds.append(time.perf_counter() - start)
    return TrainResult(np.array(scores), np.array(seconds))


def progress_line(result: TrainResult) -> str:
    """The course notebooks' progress line: the episode and the mean of the last 100 scores."""
    return f"Episode {len(result.scores)}\tAverage Score: {result.window_means[-1]:.2f}"


def train(
    env: EpisodicEnv,
    agent: Agent,
    n_episodes: int,
    *,
    max_steps: int | None = None,
    checkpoint_dir: str | Path = "checkpoints",
    log_path: str | Path | None = None,
    solve_score: float = SOLVE_SCORE,
    window: int = WINDOW,
    progress: bool = True,
    print_every: int = 0,
    stop_when_solved: bool = False,
    on_episode_end: Callable[[TrainResult], bool | None] | None = None,
) -> TrainResult:
    """Train for ``n_episodes`` (each at most ``max_steps`` env steps if given).

    Checkpoints: ``checkpoint_dir`` at the end (also after Ctrl-C), ``checkpoint_dir/best``
    at every new best window mean (the running mean while fewer than ``window`` episodes
    exist). Every file is replaced atomically, so the files on disk are always whole.
    ``progress`` shows a live bar; ``print_every`` > 0 also prints the course's text line
    ("Episode 100\tAverage Score: ...") every so many episodes and at the last one, which stays
    readable where the bar does not (a notebook saved and viewed statically).
    ``stop_when_solved`` ends the run at the window end, as the course notebook does.
    ``on_episode_end(result_so_far)`` may return True to stop. Ctrl-C stops cleanly:
    the result so far comes back with ``interrupted=True`` (a partial episode is dropped).
    To resume, ``agent.load(directory)`` before calling this. The torch thread count is
    the caller's choice (the CLI sets 1).
    """
    checkpoint_dir = Path(checkpoint_dir)
    scores: list[np.ndarray] = []
    seconds: list[float] = []

    def result(interrupted: bool = False) -> TrainResult:
        return TrainResult(
            np.array(scores).reshape(-1, env.num_agents),
            np.array(seconds),
            window,
            solve_score,
            interrupted,
        )

    log = ScoresLog(log_path, env.num_agents) if log_path else None
    bar = tqdm(total=n_episodes, disable=not progress, unit="episode")
    best: tuple[bool, float] | None = None  # (full window?, mean) of the best checkpoint
    start = time.perf_counter()
    interrupted = False
    try:
        for episode in range(1, n_episodes + 1):
            t0 = time.perf_counter()
            scores.append(run_episode(env, agent, max_steps))
            seconds.append(time.perf_counter() - t0)
            current = result()
            if log:
                log.append(current, time.perf_counter() - start)
            candidate = (episode >= window, float(current.window_means[-1]))
            if best is None or candidate > best:  # a full window beats any running mean
                best = candidate
                agent.save(checkpoint_dir / "best")
            bar.update()
            bar.set_postfix(score=f"{current.episode_means[-1]:.2f}", window=f"{candidate[1]:.2f}")
            solved = stop_when_solved and current.solved_episode is not None
            stop = solved or (on_episode_end is not None and on_episode_end(current))
            if print_every and (episode % print_every == 0 or stop or episode == n_episodes):
                tqdm.write(progress_line(current))
            if stop:
                bar.total = episode  # a deliberate stop completes the bar (Jupyter: not red)
                break
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
        if log:
            log.close()
    agent.save(checkpoint_dir)
    return result(interrupted)


def parse_overrides(items: list[str]) -> dict[str, object]:
    """``["batch_size=128", "actor_hidden=400,300", "noise_decay_per=step"]`` -> dict."""
    known = {f.name for f in dataclasses.fields(DDPGConfig)}
    words = {"true": True, "false": False, "none": None}
    overrides: dict[str, object] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or key not in known:
            raise ValueError(f"bad setting {item!r}: use KEY=VALUE, KEY one of {sorted(known)}")
        if text.lower() in words:
            value = words[text.lower()]
        else:
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                value = text  # a bare word such as "step"
        overrides[key] = tuple(value) if isinstance(value, list) else value
    return overrides


def _summary(result: TrainResult) -> str:
    lines = [
        f"episodes: {len(result.scores)}{' (interrupted)' if result.interrupted else ''}",
        f"wall-clock: {result.episode_seconds.sum():.1f} s",
    ]
    if len(result.scores):
        episode, mean = result.best_window
        lines.append(f"last episode mean: {result.episode_means[-1]:.2f}")
        lines.append(f"best window mean: {mean:.2f} (window ending at episode {episode})")
    if result.solved_episode is None:
        lines.append(f"not solved (window mean >= {result.solve_score} not reached)")
    else:
        lines.append(
            f"solved: window end {result.solved_episode} (course printout: "
            f"{result.episodes_to_solve} episodes), after {result.seconds_to_solve:.1f} s"
        )
    return "\n".join(lines)


def config_help() -> str:
    """Every ``DDPGConfig`` setting with its default and meaning, for ``--help``."""
    lines = ["settings for --set KEY=VALUE (default, meaning; allowed values):"]
    for f in dataclasses.fields(DDPGConfig):
        allowed, _ = f.metadata["allowed"]
        lines.append(f"  {f.name} ({f.default!r}): {f.metadata['help']}; {allowed}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> TrainResult:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=config_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--env", choices=("sim", "unity"), default="sim")
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/latest"))
    parser.add_argument("--max-steps", type=int, default=None, help="truncate episodes")
    parser.add_argument("--resume", type=Path, default=None, help="checkpoint dir to start from")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--worker-id", type=int, default=0, help="unity: port 5005 + this")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--stop-when-solved", action="store_true", help="end at the window end")
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="DDPGConfig settings, listed below",
    )
    args = parser.parse_args(argv)
    try:
        config = DDPGConfig(**parse_overrides(args.set))
    except (TypeError, ValueError) as e:
        parser.error(str(e))
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    run_info = {"env": args.env, "seed": args.seed, "max_steps": args.max_steps}
    (args.out / "config.json").write_text(
        json.dumps({**run_info, "config": dataclasses.asdict(config)}, indent=2) + "\n"
    )

    with open_env(args.env, args.seed, args.worker_id) as env:
        agent = Agent(env.state_size, env.action_size, env.num_agents, config, seed=args.seed)
        if args.resume is not None:
            agent.load(args.resume)
        result = train(
            env,
            agent,
            args.episodes,
            max_steps=args.max_steps,
            checkpoint_dir=args.out,
            log_path=args.out / "scores.csv",
            progress=not args.no_progress,
            stop_when_solved=args.stop_when_solved,
        )
    print(_summary(result))
    return result


if __name__ == "__main__":
    main()
