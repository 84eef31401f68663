"""Train the DDPG agent on the 20-arm Reacher: the training loop and its command line.

From a notebook::

    env = ReacherSim(num_agents=20, seed=0)   # or UnityEnv(UnityEnvironment(...))
    agent = Agent(env.state_size, env.action_size, env.num_agents, DDPGConfig(), seed=0)
    result = train(env, agent, n_episodes=200)

From the command line (one torch thread by default; docs/performance.md, learner costs)::

    python train.py --env sim --episodes 200 --seed 0 --out runs/sim-seed0
    python train.py --env unity --episodes 200 --seed 0 --out runs/unity-seed0
    python train.py --env sim --episodes 3 --max-steps 100 --out /tmp/t --set batch_size=64 n_step=3

``--out`` receives ``scores.csv``, ``config.json``, the checkpoint that the greedy checks
chose (``GreedyChecks``, every ``--greedy-every`` episodes; ``greedy_checks.csv``), ``last/``
(the final networks), ``best/`` (those of the best 100-episode window) and ``snapshot.pt``,
the whole training state, written every ``--snapshot-every`` episodes and at every stop.
``--resume OUT --out OUT`` continues the run from that snapshot whatever ended it (a kill, a
dead simulator, a full disk), with the settings it had unless ``--change-settings`` records
a new segment. A directory that already holds a run is refused unless ``--resume`` names it
too or ``--overwrite`` is given; ``--resume OTHER`` warm-starts a new run from OTHER's
networks.
Exit status: 0 done, 1 an error (one line on stderr), 2 a bad option, 130 stopped by Ctrl-C or
SIGTERM after saving. ``python train.py --help`` lists every setting.
"""

import signal
import sys

if __name__ == "__main__":  # a Ctrl-C while torch and MuJoCo load: status 130, no traceback
    signal.signal(signal.SIGINT, lambda signum, frame: sys.exit(130))

import argparse
import ast
import csv
import dataclasses
import itertools
import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ddpg_agent import (
    ACTOR_FILE,
    CHECKSUM_FILE,
    CRITIC2_FILE,
    CRITIC_FILE,
    Agent,
    CheckpointError,
    DDPGConfig,
    DivergedError,
    atomic_write,
)
from environments import EpisodicEnv, open_env
from reacher.sim import ReacherSim
from run_folder import writer_lock
from scores import SOLVE_SCORE, WINDOW, ScoresLog, TrainResult, read_scores
from snapshot import SNAPSHOT_FILE, restore_snapshot, save_snapshot


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


GREEDY_CHECKS_FILE = "greedy_checks.csv"
GREEDY_CHECK_SEED_OFFSET = 2000  # apart from the training seeds and the evaluation seeds


class GreedyChecks:
    """Choose the checkpoint by what the actor does, not by when the run ended.

    Every ``every`` training episodes, and at the last, the actor plays ``episodes`` greedy
    (noise-free) episodes on an in-process simulator seeded ``seed``: the same goals at every
    check, so that checks compare actors, not luck. The best actor so far is the checkpoint
    in the run's directory; every check is logged in ``greedy_checks.csv`` there (episode,
    greedy mean, whether it was kept). A DDPG actor's greedy score swings by a point or two
    between episodes, so the network of the moment a run stops is a poor pick.
    """

    def __init__(
        self, seed: int, every: int = 5, episodes: int = 2, max_steps: int | None = None
    ) -> None:
        self.seed, self.every, self.episodes, self.max_steps = seed, every, episodes, max_steps
        self.best: float | None = None  # the kept actor's greedy mean
        self._env: ReacherSim | None = None

    @classmethod
    def for_training_seed(
        cls, training_seed: int, every: int = 5, episodes: int = 2, max_steps: int | None = None
    ) -> "GreedyChecks":
        """Checks for a run trained on ``training_seed``, on goals that neither it nor any
        evaluation sees (seed + GREEDY_CHECK_SEED_OFFSET)."""
        return cls(training_seed + GREEDY_CHECK_SEED_OFFSET, every, episodes, max_steps)

    def start(self, directory: Path, episodes_done: int) -> None:
        """Begin a run in ``directory``; a continued run keeps its checks up to its episode."""
        log = directory / GREEDY_CHECKS_FILE
        rows = list(csv.DictReader(log.open())) if episodes_done and log.is_file() else []
        rows = [r for r in rows if int(r["episode"]) <= episodes_done]  # lost ones go
        self.best = max((float(r["greedy_mean"]) for r in rows), default=None)
        lines = [",".join(r.values()) + "\n" for r in rows]
        atomic_write([b"episode,greedy_mean,kept\n", "".join(lines).encode()], log)

    def due(self, episode: int, last: bool) -> bool:
        return last or episode % self.every == 0

    def check(self, agent: Agent, episode: int, directory: Path) -> float:
        """Play the greedy episodes; keep the actor (``agent.save``) if it is the best yet."""
        if self._env is None:
            self._env = ReacherSim(num_agents=agent.num_agents, seed=self.seed)
        self._env.seed(self.seed)  # the same goals as every other check
        score = evaluate(self._env, agent, self.episodes, self.max_steps).episode_means.mean()
        kept = self.best is None or score > self.best
        if kept:
            agent.save(directory)
            self.best = float(score)  # only once saved: a stop during the save saves anew
        with (directory / GREEDY_CHECKS_FILE).open("a") as log:
            log.write(f"{episode},{score:.4f},{int(kept)}\n")
        return float(score)


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
    history: TrainResult | None = None,
    snapshot_every: int = 0,
    greedy_checks: GreedyChecks | None = None,
) -> TrainResult:
    """Train for ``n_episodes`` (each at most ``max_steps`` env steps if given).

    Checkpoints: ``checkpoint_dir`` at the end (also after Ctrl-C), ``checkpoint_dir/best``
    at every new best window mean (the running mean while fewer than ``window`` episodes
    exist). With ``greedy_checks``, ``checkpoint_dir`` holds the best actor by greedy checks
    instead (``GreedyChecks``) and the networks of the end go to ``checkpoint_dir/last``.
    Every file is replaced atomically, so the files on disk are always whole.
    ``progress`` shows a live bar; ``print_every`` > 0 also prints the course's text line
    ("Episode 100\tAverage Score: ...") every so many episodes and at the last one, which stays
    readable where the bar does not (a notebook saved and viewed statically).
    ``stop_when_solved`` ends the run at the window end, as the course notebook does.
    ``on_episode_end(result_so_far)`` may return True to stop. Ctrl-C stops cleanly:
    the result so far comes back with ``interrupted=True`` (a partial episode is dropped).
    ``snapshot_every`` > 0 also writes ``checkpoint_dir/snapshot.pt`` (``snapshot``: the whole
    training state) every so many episodes and at every stop: the end, Ctrl-C, or an error
    such as a simulator that died. A diverged agent raises ``DivergedError`` and saves nothing
    (the last snapshot stays). To continue a run, ``continue_run`` (or, for a warm start,
    ``agent.load(directory)``) before calling this, and pass the run's ``history``: the
    episodes count on from it, the window means include it, ``log_path`` is appended to, and
    ``best`` is replaced only by a better window than any in the history. The torch thread
    count is the caller's choice (the CLI sets 1).
    """
    checkpoint_dir = Path(checkpoint_dir)
    scores: list[np.ndarray] = [] if history is None else list(history.scores)
    seconds: list[float] = [] if history is None else list(history.episode_seconds)
    done_before = len(scores)

    def result(interrupted: bool = False) -> TrainResult:
        return TrainResult(
            np.array(scores).reshape(-1, env.num_agents),
            np.array(seconds),
            window,
            solve_score,
            interrupted,
        )

    def window_rank(episode: int, mean: float) -> tuple[bool, float]:
        return episode >= window, mean  # a full window beats any running mean

    log = ScoresLog(log_path, env.num_agents, append=bool(done_before)) if log_path else None
    bar = tqdm(total=n_episodes, disable=not progress, unit="episode")
    # The rank of the checkpoint in best/: the history's best window, if there is a history.
    best = max(map(window_rank, itertools.count(1), result().window_means), default=None)
    start = time.perf_counter() - sum(seconds)
    last = done_before + n_episodes
    interrupted = False

    if greedy_checks is not None:
        checkpoint_dir.mkdir(parents=True, exist_ok=True)
        greedy_checks.start(checkpoint_dir, done_before)

    def save_all() -> None:
        if greedy_checks is None:
            agent.save(checkpoint_dir)
        else:
            agent.save(checkpoint_dir / "last")
            if greedy_checks.best is None:  # stopped before any check: the only actor there is
                agent.save(checkpoint_dir)
        if snapshot_every:
            save_snapshot(checkpoint_dir, agent, len(scores), env)

    try:
        for episode in range(done_before + 1, last + 1):
            t0 = time.perf_counter()
            scores.append(run_episode(env, agent, max_steps))
            seconds.append(time.perf_counter() - t0)
            current = result()
            candidate = window_rank(episode, float(current.window_means[-1]))
            if best is None or candidate > best:
                best = candidate
                agent.save(checkpoint_dir / "best")
            if log:  # after best/, so that an episode in the log has its checkpoint saved
                log.append(current, time.perf_counter() - start)
            bar.update()
            bar.set_postfix(score=f"{current.episode_means[-1]:.2f}", window=f"{candidate[1]:.2f}")
            solved = stop_when_solved and current.solved_episode is not None
            stop = solved or (on_episode_end is not None and on_episode_end(current))
            if greedy_checks is not None and greedy_checks.due(episode, stop or episode == last):
                greedy_checks.check(agent, episode, checkpoint_dir)
            if print_every and (episode % print_every == 0 or stop or episode == last):
                tqdm.write(progress_line(current))
            if stop:
                bar.total = episode - done_before  # a deliberate stop completes the bar
                break
            if snapshot_every and episode % snapshot_every == 0:
                save_snapshot(checkpoint_dir, agent, episode, env)
    except KeyboardInterrupt:
        interrupted = True
    except DivergedError:
        raise  # NaN networks: nothing worth saving; the last snapshot stays
    except Exception as error:  # e.g. the simulator died: keep what the agent has learned
        try:
            save_all()
        except Exception as also:
            error.add_note(f"saving the checkpoint and snapshot failed as well: {also}")
        raise
    finally:
        bar.close()
        if log:
            log.close()
    save_all()
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


def between(low: int, high: float = math.inf) -> Callable[[str], int]:
    """An argparse type: an int in [low, high], else argparse's one-line error naming the
    option."""
    allowed = f"an int >= {low}" if high == math.inf else f"an int from {low} to {high}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}")
        return value

    return parse


def at_least(low: int) -> Callable[[str], int]:
    """An argparse type: an int >= ``low``."""
    return between(low)


# Any of them: the directory holds a run.
RUN_FILES = ("scores.csv", "config.json", ACTOR_FILE, SNAPSHOT_FILE)


def _check_out(out: Path, in_place: bool, overwrite: bool) -> None:
    """Check that ``out`` can take the run.

    A directory that holds a run is continued (``in_place``: ``--resume`` names it too), replaced
    (``--overwrite``), or refused: a run is never lost to a mistyped command. Nothing is
    created here: ``main`` makes ``out`` only once every check has passed, so a refused
    command leaves no directory behind.
    """
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} exists and is not a directory")
    existing = next(p for p in (out.absolute(), *out.absolute().parents) if p.exists())
    if not existing.is_dir():
        raise NotADirectoryError(f"--out {out}: {existing} is not a directory")
    if not in_place and not overwrite and any((out / name).exists() for name in RUN_FILES):
        raise FileExistsError(
            f"--out {out} already holds a run: pass --resume {out} to continue it, "
            "--overwrite to replace it, or another --out"
        )
    if in_place and not (out / SNAPSHOT_FILE).is_file():
        raise FileNotFoundError(
            f"{out} has no {SNAPSHOT_FILE} to continue from (the run stopped before its first "
            f"snapshot, or was written before snapshots existed): start it again with "
            f"--overwrite, or warm-start a new run from its networks with --resume {out} "
            "--out NEW"
        )


def continue_run(out: Path, agent: Agent, env: EpisodicEnv) -> TrainResult | None:
    """Continue the run in ``out`` from its snapshot, whatever ended it.

    Loads ``out/snapshot.pt`` into the agent and the environment, cuts ``scores.csv`` back to
    the episodes the snapshot had finished (those after it were lost with the run and are
    trained again), says how many were lost, and returns the kept episodes as the history to
    pass to ``train`` (None if there are none).
    """
    episodes = restore_snapshot(out / SNAPSHOT_FILE, agent, env)
    log = out / "scores.csv"
    lines = log.read_text().splitlines(keepends=True) if log.is_file() else []
    logged = max(len(lines) - 1, 0)
    if logged < episodes:
        raise CheckpointError(
            f"{log} holds {logged} episodes, fewer than the {episodes} of {out / SNAPSHOT_FILE}"
        )
    if logged > episodes:  # the header and the snapshot's episodes stay
        atomic_write("".join(lines[: episodes + 1]).encode(), log)
    lost = logged - episodes
    lost = f"{lost} later episode(s) lost, trained again" if lost else "no episode lost"
    print(f"continuing {out} from its snapshot after episode {episodes} ({lost})", flush=True)
    if episodes == 0:
        return None
    history = read_scores(log)
    if history.scores.shape[1] != env.num_agents:
        raise ValueError(f"{log} is not a run of {env.num_agents} arms")
    return history


def _run_config(out: Path) -> dict:
    """``out``'s ``config.json``, or {} if it has none."""
    path = out / "config.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _differences(before: dict, settings: dict) -> list[str]:
    """The settings of a run (its ``config.json``, ``before``) that differ from ``settings``."""
    if not before:
        return []
    old = {key: before.get(key) for key in ("env", "seed", "max_steps")}
    old["config"] = {**settings["config"], **before.get("config", {})}
    differences = [
        f"{key} {old[key]!r} -> {settings[key]!r}"
        for key in ("env", "seed", "max_steps")
        if old[key] != settings[key]
    ]
    return differences + [
        f"{key} {old['config'][key]!r} -> {value!r}"
        for key, value in settings["config"].items()
        if json.loads(json.dumps(value)) != old["config"][key]  # tuples were saved as lists
    ]


def _segments(before: dict, settings: dict, changed: bool, done: int) -> list[dict]:
    """The segments ``config.json`` records for a run (``before``: its ``config.json``)
    continued in place after ``done`` episodes: those it had, plus, if the settings
    ``changed``, this one with its first episode.
    """
    if not changed:
        return before.get("segments", [])
    first = {key: before.get(key) for key in ("env", "seed", "max_steps", "config")}
    segments = before.get("segments") or [{"from_episode": 1, **first}]
    return [*segments, {"from_episode": done + 1, **settings}]


def _clear_run(out: Path) -> None:
    """Remove a former run's files from ``out`` (only those train.py writes)."""
    for directory in (out, out / "best", out / "last"):
        for name in (*RUN_FILES, CRITIC_FILE, CRITIC2_FILE, CHECKSUM_FILE, GREEDY_CHECKS_FILE):
            (directory / name).unlink(missing_ok=True)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """``--help`` shows every option's default and keeps the epilog's line breaks."""


def main(argv: list[str] | None = None) -> TrainResult:
    """The command line; raises on errors (``cli`` turns them into one line and a status)."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=config_help(),
        formatter_class=_HelpFormatter,
    )
    parser.add_argument(
        "--env",
        choices=("sim", "unity"),
        default="sim",
        help="sim: the in-process simulator; unity: Reacher_Linux/Reacher.x86_64 via unityagents",
    )
    parser.add_argument("--episodes", type=at_least(0), default=200, help="episodes to train")
    parser.add_argument("--seed", type=int, default=0, help="seed of the environment and agent")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs/latest"),
        help="directory for scores.csv, config.json and the checkpoints",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    parser.add_argument(
        "--change-settings",
        action="store_true",
        help="continue a run (--resume OUT --out OUT) with other settings than it had; "
        "config.json records each segment's settings and first episode",
    )
    parser.add_argument(
        "--max-steps",
        type=at_least(1),
        default=None,
        help="end episodes after this many env steps; None: at the time limit (1001 steps)",
    )
    parser.add_argument(
        "--resume",
        type=Path,
        default=None,
        help="checkpoint dir to start from (= --out: continue that run)",
    )
    parser.add_argument(
        "--snapshot-every",
        type=at_least(1),
        default=10,
        help=f"episodes between snapshots ({SNAPSHOT_FILE}: the whole training state, also "
        "written at every stop), from which --resume OUT --out OUT continues",
    )
    parser.add_argument(
        "--greedy-every",
        type=at_least(0),
        default=5,
        help="episodes between greedy checks, which choose the saved actor (GreedyChecks; "
        "the networks of the end go to OUT/last); 0: none, the end's networks are saved",
    )
    parser.add_argument(
        "--greedy-episodes", type=at_least(1), default=2, help="greedy episodes per check"
    )
    parser.add_argument(
        "--threads",
        type=between(1, os.cpu_count() or 1),
        default=1,
        help="torch CPU threads, at most this machine's cores",
    )
    parser.add_argument(
        "--learn-while-stepping",
        choices=("auto", "on", "off"),
        default="auto",
        help="run each update in a learner thread while the environment steps (auto: on for "
        "--env unity, whose simulator is another process; off in-process, where the two "
        "threads contend for Python's lock)",
    )
    parser.add_argument(
        "--eager",
        action="store_true",
        help="run the learner's update eagerly, not as one compiled graph (which takes 30-70 s "
        "to compile the first time, seconds once cached)",
    )
    parser.add_argument("--worker-id", type=at_least(0), default=0, help="unity: port 5005 + this")
    parser.add_argument("--no-progress", action="store_true", help="no live progress bar")
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
    if args.resume is not None and not args.resume.is_dir():
        raise FileNotFoundError(f"--resume {args.resume}: no such checkpoint directory")
    # --resume is a directory by now, so it names --out only where --out exists.
    in_place = args.resume is not None and args.resume.resolve() == args.out.resolve()
    _check_out(args.out, in_place, args.overwrite)
    settings = {"env": args.env, "seed": args.seed, "max_steps": args.max_steps}
    settings["config"] = dataclasses.asdict(config)
    before = _run_config(args.out) if in_place else {}
    differences = _differences(before, settings)
    if differences and not args.change_settings:
        raise ValueError(
            f"{args.out} was trained with other settings ({'; '.join(differences)}): pass "
            "--change-settings to continue it with these, or start a new --out"
        )
    torch.set_num_threads(args.threads)

    overlap = {"auto": args.env == "unity", "on": True, "off": False}[args.learn_while_stepping]
    with open_env(args.env, args.seed, args.worker_id) as env:
        agent = Agent(
            env.state_size,
            env.action_size,
            env.num_agents,
            config,
            seed=args.seed,
            compiled=not args.eager,
            learn_while_stepping=overlap,
        )
        if args.resume is not None and not in_place:
            agent.load(args.resume)  # a warm start: the networks only
            print(f"warm start from the networks in {args.resume}", flush=True)
        # Created and written only now that every check has passed, so a refused command
        # changes nothing and leaves no directory behind.
        args.out.mkdir(parents=True, exist_ok=True)
        with writer_lock(args.out):  # one run at a time writes here
            history = continue_run(args.out, agent, env) if in_place else None
            if not in_place:
                _clear_run(args.out)  # a new run, or --overwrite: nothing of a former one stays
            run_info = {**settings, "compiled": agent.compiled, "learn_while_stepping": overlap}
            if in_place:
                done = 0 if history is None else len(history.scores)
                if segments := _segments(before, settings, bool(differences), done):
                    run_info["segments"] = segments
            (args.out / "config.json").write_text(json.dumps(run_info, indent=2) + "\n")
            checks = None
            if args.greedy_every:
                checks = GreedyChecks.for_training_seed(
                    args.seed, args.greedy_every, args.greedy_episodes, args.max_steps
                )
            result = train(
                env,
                agent,
                args.episodes,
                max_steps=args.max_steps,
                checkpoint_dir=args.out,
                log_path=args.out / "scores.csv",
                progress=not args.no_progress,
                stop_when_solved=args.stop_when_solved,
                history=history,
                snapshot_every=args.snapshot_every,
                greedy_checks=checks,
            )
    print(_summary(result))
    return result


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # `kill`, a batch system's time limit: stop as Ctrl-C does


def cli(argv: list[str] | None = None) -> int:
    """``main`` as a command: its exit status, and one line on stderr for an error.

    0: done; 1: an error (bad --out or --resume, a diverged agent, a dead simulator, ...);
    130: interrupted by Ctrl-C or SIGTERM, after saving what the run had.
    """
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C: KeyboardInterrupt again
    try:
        result = main(argv)
    except KeyboardInterrupt:  # before training started: nothing to save
        print("train.py: interrupted", file=sys.stderr)
        return 130
    except (OSError, ValueError, RuntimeError, MemoryError) as error:  # unity_session's too
        print(f"train.py: error: {error}", file=sys.stderr)
        return 1
    return 130 if result.interrupted else 0


if __name__ == "__main__":
    sys.exit(cli())
