"""The study runner: many training runs on Ray Tune, on this machine or on a Ray cluster.

A study is a set of trials; each trial is one ``train.train()`` run of the DDPG agent on the
in-process simulator, with one torch thread, reporting every episode's score to Tune. It
writes what ``train.py --out`` writes, in ``<out>/<run>/``: ``config.json``, ``scores.csv``,
the checkpoint (the greedy checks' choice with ``greedy_checks.csv`` and ``last/``, or the final
one), ``best/`` and ``snapshot.pt``, plus ``greedy_eval.csv`` when the study evaluates greedily.
Those files are the study's record: the summaries are computed from them, not from Tune.

Ray runs on this machine by default, one trial per core. Given an address (``auto``, a
``host:port`` of a node started with ``ray start``, or ``ray://host:10001``) it joins that
cluster instead; the project's code travels with each job. On more than one machine, ``out``
must be on storage every node shares (NFS), as Ray itself needs for its own state.

Tune's state lives in ``<out>/.tune``: running the same command again resumes an interrupted
study, rerunning only the trials that had not finished, each from its last snapshot
(``snapshot.pt``, every ``SNAPSHOT_EVERY`` episodes and at every stop). Trials compile the
learner's update (``compiled_update``) where they can.

Used by ``studies.solve`` (the multi-seed study) and ``studies.sweep`` (hyper-parameter sweeps);
``studies.dynamics_fidelity`` runs trials of its own (``run_study``'s ``trial``).
"""

import argparse
import dataclasses
import json
import os
import socket
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import ray
from ray import tune
from ray.tune.experiment import Trial
from ray.tune.schedulers import FIFOScheduler

ROOT = Path(__file__).resolve().parents[1]
EVAL_SEED_OFFSET = 1000  # greedy evaluation uses sim seeds never used in training
STARTS = 3  # attempts at starting Ray locally
SNAPSHOT_EVERY = 10  # episodes between a trial's snapshots, from which a rerun continues it
METRIC = "window_mean"  # mean episode score over the last 100 episodes (fewer at the start)
# Left out of the code shipped to the workers (Ray already leaves out .git, .venv, .gitignore'd).
NOT_SHIPPED = ["results", "runs", "checkpoints", "*.ipynb"]


@dataclasses.dataclass(frozen=True)
class Study:
    """What every trial of a study shares. A trial adds ``seed`` and any searched fields."""

    out: Path  # absolute: the trials write here, wherever they run
    episodes: int
    max_steps: int | None = None  # truncate episodes (tests, timings)
    fixed: Mapping[str, object] = dataclasses.field(default_factory=dict)  # DDPGConfig fields
    stop_when_solved: bool = False
    eval_episodes: int = 0  # greedy episodes with the saved actor after training
    greedy_every: int = 0  # episodes between greedy checks choosing the saved actor; 0: none
    by_trial: bool = True  # run directories "<Tune's trial id>-key_value-..." (else "seed_0")


def run_name(params: Mapping[str, object], prefix: str | None = None) -> str:
    """``{"lr_actor": 0.0005, "seed": 1}`` -> ``"lr_actor_0.0005-seed_1"`` (``"PREFIX-..."``)."""

    def text(value: object) -> str:
        if isinstance(value, float):
            return f"{value:.4g}"
        if isinstance(value, tuple | list):
            return ",".join(map(str, value))
        return str(value)

    name = "-".join(f"{key}_{text(value)}" for key, value in sorted(params.items()))
    return name if prefix is None else f"{prefix}-{name}"


def train_run(
    study: Study, params: Mapping[str, object], name: str, report: Callable[[dict], None]
) -> None:
    """One trial: train with ``params`` on top of ``study.fixed``; ``report`` every episode.

    It holds the run folder's writer lock (``run_folder``), as ``train.py`` does: a second
    study writing the same run fails instead of mixing two runs' files.
    """
    from run_folder import writer_lock

    directory = study.out / name
    directory.mkdir(parents=True, exist_ok=True)
    with writer_lock(directory):
        _train_and_evaluate(study, params, name, directory, report)


def _train_and_evaluate(
    study: Study,
    params: Mapping[str, object],
    name: str,
    directory: Path,
    report: Callable[[dict], None],
) -> None:
    import torch

    from ddpg_agent import Agent, DDPGConfig
    from environments import open_env
    from scores import TrainResult, write_scores
    from snapshot import SNAPSHOT_FILE
    from train import GreedyChecks, continue_run, evaluate, train

    torch.set_num_threads(1)  # trials run side by side, one per core
    snapshot_exists = (directory / SNAPSHOT_FILE).is_file()
    seed = int(params["seed"])
    config = DDPGConfig(**{**study.fixed, **{k: v for k, v in params.items() if k != "seed"}})
    run_info = {"env": "sim", "seed": seed, "max_steps": study.max_steps}  # as train.py writes
    (directory / "config.json").write_text(
        json.dumps({**run_info, "config": dataclasses.asdict(config)}, indent=2) + "\n"
    )
    host = socket.gethostname()

    def after_episode(so_far: TrainResult) -> None:
        report(
            {
                "run": name,
                "host": host,
                "episode": len(so_far.scores),
                "score": float(so_far.episode_means[-1]),
                METRIC: float(so_far.window_means[-1]),
            }
        )

    checks = None
    if study.greedy_every:
        checks = GreedyChecks.for_training_seed(seed, study.greedy_every, max_steps=study.max_steps)
    with open_env("sim", seed) as env:
        agent = Agent(env.state_size, env.action_size, env.num_agents, config, seed, compiled=True)
        # A trial that was stopped (Ctrl-C, a killed worker) continues from its snapshot.
        history = continue_run(directory, agent, env) if snapshot_exists else None
        done = 0 if history is None else len(history.scores)
        train(
            env,
            agent,
            study.episodes - done,
            max_steps=study.max_steps,
            checkpoint_dir=directory,
            log_path=directory / "scores.csv",
            progress=False,
            stop_when_solved=study.stop_when_solved,
            on_episode_end=after_episode,
            history=history,
            snapshot_every=SNAPSHOT_EVERY,
            greedy_checks=checks,
        )
    if study.eval_episodes:
        agent.load(directory)  # the saved actor: the greedy checks' choice, if they ran
        with open_env("sim", seed + EVAL_SEED_OFFSET) as env:
            greedy = evaluate(env, agent, study.eval_episodes, study.max_steps)
        write_scores(directory / "greedy_eval.csv", greedy)


def tune_trial(params: dict, study: Study) -> None:
    """The Tune trainable: ``train_run`` reporting to Tune, its directory named by trial."""
    # Drawn values can repeat after rounding; the trial id keeps directories apart.
    prefix = tune.get_context().get_trial_id() if study.by_trial else None
    train_run(study, params, run_name(params, prefix), tune.report)


def checked_settings(parser: argparse.ArgumentParser, items: list[str]) -> dict[str, object]:
    """``--set KEY=VALUE`` items as ``DDPGConfig`` fields, each known and in its range, or
    argparse's one-line error: checked before Ray starts, not inside every trial."""
    from ddpg_agent import DDPGConfig
    from train import parse_overrides

    try:
        settings = parse_overrides(items)
        DDPGConfig(**settings)
    except (TypeError, ValueError) as e:
        parser.error(str(e))
    return settings


def command_line(main: Callable[[], None]) -> int:
    """Run a study's ``main`` as a command: Ctrl-C ends it with status 130 and one line."""
    try:
        main()
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume the study", file=sys.stderr)
        return 130
    return 0


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--address",
        default=None,
        help="join a running Ray cluster: 'auto', HOST:PORT or ray://HOST:10001 "
        "(default: start Ray on this machine, one trial per core)",
    )


def connect(address: str | None, **options) -> bool:
    """Start Ray on this machine (``address`` None) or join a cluster, shipping the code;
    ``options`` go to ``ray.init``. False if Ray was already started (by a test, say)."""
    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no reports to the Ray project
    runtime_env = {"working_dir": str(ROOT), "excludes": NOT_SHIPPED}
    if address is None:
        options["include_dashboard"] = False
    for attempt in range(1, STARTS + 1):
        try:
            ray.init(address=address, runtime_env=runtime_env, **options)
            break
        except Exception as e:  # Ray raises a bare Exception for this
            # Ray waits a fixed 30 s for its node to register: too short on a busy machine.
            if "timed out during startup" not in str(e) or attempt == STARTS:
                raise
            print(f"Ray did not start within its 30 s (busy machine?); attempt {attempt + 1}")
    return True


class MedianAtMilestones(FIFOScheduler):
    """Early stopping: at each milestone episode, stop a trial whose window mean is below the
    median of the window means the trials that reached that episode before it had there (at
    least ``min_others`` of them: a median of one says little). Every stop is printed and
    appended to ``log`` as a JSON line."""

    def __init__(self, milestones: tuple[int, ...], log: Path, min_others: int = 2) -> None:
        super().__init__()
        self.log = log
        self.min_others = min_others
        self.seen: dict[int, list[float]] = {m: [] for m in milestones}

    def on_trial_result(self, tune_controller, trial: Trial, result: dict) -> str:
        episode, value = result["episode"], result[METRIC]
        if episode not in self.seen:
            return self.CONTINUE
        others = list(self.seen[episode])
        self.seen[episode].append(value)
        if len(others) < self.min_others or value >= np.median(others):
            return self.CONTINUE
        reason = (
            f"window mean {value:.3f} at episode {episode} is below {np.median(others):.3f}, "
            f"the median of the {len(others)} trials that got there before"
        )
        print(f"stopped {result['run']}: {reason}", flush=True)
        with open(self.log, "a") as f:
            f.write(json.dumps({"run": result["run"], "episode": episode, "reason": reason}) + "\n")
        return self.STOP


class Progress(tune.Callback):
    """One line every ``every`` episodes of a trial and one per finished trial, with the
    number of trials done and the best window mean so far."""

    def __init__(self, total: int, every: int = 10) -> None:
        self.total, self.every = total, every
        self.done = 0
        self.best: tuple[float, str] = (-np.inf, "none yet")

    def on_trial_result(self, iteration: int, trials: list, trial: Trial, result: dict, **info):
        self.best = max(self.best, (result[METRIC], result["run"]))
        if result["episode"] == 1 or result["episode"] % self.every == 0:
            self._print(
                f"{result['run']} (on {result['host']}) episode {result['episode']}: "
                f"score {result['score']:.2f}, window mean {result[METRIC]:.2f}"
            )

    def on_trial_complete(self, iteration: int, trials: list, trial: Trial, **info):
        self.done += 1
        last = trial.last_result
        self._print(f"{last.get('run', trial)} finished after {last.get('episode', 0)} episodes")

    def on_trial_error(self, iteration: int, trials: list, trial: Trial, **info):
        self.done += 1
        self._print(f"{trial} failed: {trial.error_file}")

    def _print(self, event: str) -> None:
        best, run = self.best
        print(f"[{self.done}/{self.total} done, best {best:.2f} {run}] {event}", flush=True)


def run_study(
    study: Study,
    space: dict,
    *,
    total: int,
    command: dict,
    address: str | None = None,
    milestones: tuple[int, ...] = (),
    search_alg=None,
    num_samples: int = 1,
    trial: Callable[[dict, Study], None] = tune_trial,
) -> int:
    """Run (or resume) the trials of ``space``: Tune's search space over ``seed`` and
    ``DDPGConfig`` fields, ``total`` trials in all. ``command`` (the CLI's arguments) is kept
    with Tune's state: resuming with other arguments would mix two studies, so it is refused.
    ``trial(params, study)`` runs one trial on one CPU (default: a training run); another must
    write its own files and ``tune.report`` what ``Progress`` prints (run, host, episode,
    score, window_mean). Returns the number of CPUs Ray offered: the most trials that ran at
    a time."""
    state = study.out / ".tune"
    saved = state / "command.json"
    command = json.loads(json.dumps(command, default=str))  # as it reads back from the file
    resume = tune.Tuner.can_restore(state)
    if resume and json.loads(saved.read_text()) != command:
        raise SystemExit(f"{study.out} holds a study run with other arguments ({saved})")
    started = connect(address)
    trainable = tune.with_resources(tune.with_parameters(trial, study=study), {"cpu": 1})
    if resume:
        print(f"resuming the study in {state}: finished trials are kept", flush=True)
        tuner = tune.Tuner.restore(str(state), trainable, restart_errored=True)
    else:
        log = study.out / "stopped.jsonl"
        stopper = MedianAtMilestones(milestones, log) if milestones else None
        tuner = tune.Tuner(
            trainable,
            param_space=space,
            tune_config=tune.TuneConfig(
                metric=METRIC,
                mode="max",
                scheduler=stopper,
                search_alg=search_alg,
                num_samples=num_samples,
            ),
            run_config=tune.RunConfig(
                name=state.name,
                storage_path=str(state.parent),
                verbose=0,  # Progress prints instead of Tune's tables
                callbacks=[Progress(total)],
            ),
        )
        state.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps(command, indent=2) + "\n")
    results = tuner.fit()
    cpus = int(ray.cluster_resources().get("CPU", 0))
    if started:
        ray.shutdown()
    if results.errors:
        raise SystemExit(
            f"{len(results.errors)} trial(s) failed (errors above); run the same command again "
            "to rerun them, finished trials are kept"
        )
    return cpus
