"""Train the DDPG agent on the 20-arm Reacher, in-process or through ``unityagents``.

From a notebook::

    env = SimEnv(ReacherSim(num_agents=20, seed=0))   # or UnityEnv(UnityEnvironment(...))
    agent = Agent(env.state_size, env.action_size, env.num_agents, DDPGConfig(), seed=0)
    result = train(env, agent, n_episodes=200)

From the command line (one torch thread by default; see PERFORMANCE.md section 3)::

    python train.py --env sim --episodes 200 --seed 0 --out runs/sim-seed0
    python train.py --env unity --episodes 200 --seed 0 --out runs/unity-seed0
    python train.py --env sim --episodes 3 --max-steps 100 --out /tmp/t --set batch_size=64 n_step=3

``--out`` receives ``scores.csv``, ``config.json``, the final checkpoint and ``best/``, the
checkpoint of the best 100-episode window.
"""

import argparse
import ast
import contextlib
import csv
import dataclasses
import itertools
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from tqdm.auto import tqdm

from ddpg_agent import Agent, DDPGConfig

ROOT = Path(__file__).resolve().parent
UNITY_EXECUTABLE = ROOT / "Reacher_Linux" / "Reacher.x86_64"

# next_states, rewards, dones, final_states (see EpisodicEnv.step)
StepResult = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]


class EpisodicEnv(Protocol):
    """The few things the training loop needs from an environment of ``num_agents`` arms."""

    num_agents: int
    state_size: int
    action_size: int

    def reset(self) -> np.ndarray:
        """Start an episode; return the states, (num_agents, state_size)."""
        ...

    def step(self, actions: np.ndarray) -> StepResult:
        """Return next_states, rewards, dones and final_states.

        ``final_states`` are the true successor states when an episode ended (``dones``), or
        None if the environment cannot tell (then ``next_states`` already belong to the next
        episode). For Reacher every done is the 1001-step time limit, never a terminal state.
        """
        ...


class SimEnv:
    """``EpisodicEnv`` over the in-process ``reacher.sim.ReacherSim``."""

    def __init__(self, sim) -> None:
        self.sim = sim
        self.num_agents = sim.num_agents
        self.state_size = sim.observation_size
        self.action_size = sim.action_size

    def reset(self) -> np.ndarray:
        return self.sim.reset()

    def step(self, actions: np.ndarray) -> StepResult:
        states, rewards, dones, _ = self.sim.step(actions)
        final_states = self.sim.final_observations.copy() if dones.any() else None
        return states, rewards, dones, final_states


class UnityEnv:
    """``EpisodicEnv`` over a ``unityagents.UnityEnvironment`` (its first brain).

    The genuine client returns the next episode's reset state with ``local_done``, never the
    final state, so ``final_states`` is None and the trainer skips that one transition.
    The adapter uses only the object's ``brain_names``, ``brains``, ``reset`` and ``step``.
    """

    def __init__(self, env, train_mode: bool = True) -> None:
        self.env = env
        self.train_mode = train_mode
        self.brain_name = env.brain_names[0]
        self.action_size = env.brains[self.brain_name].vector_action_space_size
        self.num_agents, self.state_size = np.shape(self.reset())

    def reset(self) -> np.ndarray:
        info = self.env.reset(train_mode=self.train_mode)[self.brain_name]
        return np.asarray(info.vector_observations, dtype=np.float32)

    def step(self, actions: np.ndarray) -> StepResult:
        info = self.env.step(actions)[self.brain_name]
        return (
            np.asarray(info.vector_observations, dtype=np.float32),
            np.asarray(info.rewards, dtype=np.float32),
            np.asarray(info.local_done, dtype=bool),
            None,
        )


@contextlib.contextmanager
def open_env(kind: str, seed: int, worker_id: int = 0, train_mode: bool = True) -> Iterator:
    """The 20-arm Reacher as an ``EpisodicEnv``: in-process (``"sim"``) or ``"unity"``.

    ``"unity"`` starts ``Reacher_Linux/Reacher.x86_64`` through the genuine client on port
    5005 + ``worker_id`` and closes it on the way out: without ``close()`` the interpreter
    hangs at exit (PROTOCOL.md, pitfall 5).
    """
    if kind == "sim":
        from reacher.sim import ReacherSim

        yield SimEnv(ReacherSim(num_agents=20, seed=seed))
        return
    if kind != "unity":
        raise ValueError(f"unknown environment {kind!r}: 'sim' or 'unity'")
    from unityagents import UnityEnvironment  # only on this path: it is slow and noisy

    unity = UnityEnvironment(
        file_name=str(UNITY_EXECUTABLE), no_graphics=True, seed=seed, worker_id=worker_id
    )
    try:
        yield UnityEnv(unity, train_mode=train_mode)
    finally:
        unity.close()


@dataclasses.dataclass
class TrainResult:
    """Scores of a run and the course's solve rule, all derived from ``scores``."""

    scores: np.ndarray  # (episodes, num_agents): every arm's score in every episode
    episode_seconds: np.ndarray  # wall-clock of every episode
    window: int = 100
    solve_score: float = 30.0
    interrupted: bool = False  # stopped by Ctrl-C

    @property
    def episode_means(self) -> np.ndarray:
        """Per-episode mean over the arms: the course's episode score."""
        return self.scores.mean(axis=1)

    @property
    def window_means(self) -> np.ndarray:
        """Mean episode score over the last ``window`` episodes (fewer at the start)."""
        sums = np.concatenate(([0.0], np.cumsum(self.episode_means)))
        end = np.arange(1, len(self.scores) + 1)
        start = np.maximum(0, end - self.window)
        return (sums[end] - sums[start]) / (end - start)

    @property
    def solved_episode(self) -> int | None:
        """Window end: the first episode (>= window) whose window mean reaches solve_score."""
        full = self.window_means[self.window - 1 :]
        hits = np.flatnonzero(full >= self.solve_score)
        return int(hits[0]) + self.window if len(hits) else None

    @property
    def episodes_to_solve(self) -> int | None:
        """The course notebook's printout: window end minus the window ("episodes - 100")."""
        end = self.solved_episode
        return None if end is None else end - self.window

    @property
    def best_window(self) -> tuple[int, float] | None:
        """(episode, mean) of the best full window; best running mean if no window is full."""
        means = self.window_means
        if len(means) == 0:
            return None
        first = self.window - 1 if len(means) >= self.window else 0
        i = first + int(np.argmax(means[first:]))
        return i + 1, float(means[i])


def run_episode(
    env: EpisodicEnv, agent: Agent, max_steps: int | None = None, learn: bool = True
) -> np.ndarray:
    """Play one episode; return every arm's score. ``learn=False``: greedy, nothing stored."""
    states = env.reset()
    if learn:
        agent.reset()
    scores = np.zeros(env.num_agents)
    no_terminals = np.zeros(env.num_agents, dtype=bool)  # Reacher has no terminal states
    for t in itertools.count(1):
        actions = agent.act(states, add_noise=learn)
        next_states, rewards, dones, final_states = env.step(actions)
        scores += rewards
        episode_over = bool(np.any(dones))
        # At the time limit the successor is the final observation, bootstrapped like any
        # other; if the environment does not know it, that one transition is not stored.
        successors = final_states if episode_over else next_states
        if learn and successors is not None:
            agent.step(states, actions, rewards, successors, no_terminals)
        if episode_over or t == max_steps:
            return scores
        states = next_states


def evaluate(
    env: EpisodicEnv, agent: Agent, n_episodes: int = 1, max_steps: int | None = None
) -> np.ndarray:
    """Greedy (noise-free) scores, (n_episodes, num_agents); the agent does not learn."""
    return np.array([run_episode(env, agent, max_steps, learn=False) for _ in range(n_episodes)])


class _CsvLog:
    """One row per episode, flushed at once so an interrupted run keeps every score."""

    def __init__(self, path: Path, num_agents: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "w", newline="")  # noqa: SIM115 (closed by train)
        self._writer = csv.writer(self._file)
        self._writer.writerow(
            ["episode", "mean", "min", "max", "window_mean", "episode_seconds", "elapsed_seconds"]
            + [f"arm_{i}" for i in range(num_agents)]
        )

    def write(self, result: TrainResult, elapsed: float) -> None:
        arms = result.scores[-1]
        stats = (arms.mean(), arms.min(), arms.max(), result.window_means[-1])
        self._writer.writerow(
            [len(result.scores)]
            + [f"{x:.4f}" for x in stats]
            + [f"{result.episode_seconds[-1]:.3f}", f"{elapsed:.3f}"]
            + [f"{x:.4f}" for x in arms]
        )
        self._file.flush()

    def close(self) -> None:
        self._file.close()


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
    solve_score: float = 30.0,
    window: int = 100,
    progress: bool = True,
    print_every: int = 0,
    stop_when_solved: bool = False,
    on_episode_end: Callable[[int, np.ndarray], bool | None] | None = None,
) -> TrainResult:
    """Train for ``n_episodes`` (each at most ``max_steps`` env steps if given).

    Checkpoints: ``checkpoint_dir`` at the end (also after Ctrl-C), ``checkpoint_dir/best``
    at every new best window mean (the running mean while fewer than ``window`` episodes
    exist). Every file is replaced atomically, so the files on disk are always whole.
    ``progress`` shows a live bar; ``print_every`` > 0 also prints the course's text line
    ("Episode 100\tAverage Score: ...") every so many episodes and at the last one, which stays
    readable where the bar does not (a notebook saved and viewed statically).
    ``stop_when_solved`` ends the run at the window end, as the course notebook does.
    ``on_episode_end(episode, arm_scores)`` may return True to stop. Ctrl-C stops cleanly:
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

    log = _CsvLog(Path(log_path), env.num_agents) if log_path else None
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
                log.write(current, time.perf_counter() - start)
            candidate = (episode >= window, float(current.window_means[-1]))
            if best is None or candidate > best:  # a full window beats any running mean
                best = candidate
                agent.save(checkpoint_dir / "best")
            bar.update()
            bar.set_postfix(score=f"{current.episode_means[-1]:.2f}", window=f"{candidate[1]:.2f}")
            solved = stop_when_solved and current.solved_episode is not None
            stop = solved or (on_episode_end is not None and on_episode_end(episode, scores[-1]))
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
        seconds = result.episode_seconds[: result.solved_episode].sum()
        lines.append(
            f"solved: window end {result.solved_episode} "
            f"(course printout: {result.episodes_to_solve} episodes), after {seconds:.1f} s"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> TrainResult:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
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
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="DDPGConfig")
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
