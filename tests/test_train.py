"""Training loop: the environment contract, CSV, checkpoints, Ctrl-C, resume, smoke runs."""

import copy
import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from tqdm.std import tqdm as tqdm_std

from ddpg_agent import ACTOR_FILE, CRITIC_FILE, Agent, DDPGConfig, atomic_write
from environments import UnityEnv
from reacher.sim import ReacherSim, StepResult
from scores import TrainResult, read_scores, write_scores
from train import GreedyChecks, cli, continue_run, evaluate, main, parse_overrides, train

REPO = Path(__file__).resolve().parents[1]
CORES = os.cpu_count()
# 1-step returns: these tests count stored transitions and check their successor states.
FAST = {
    "buffer_size": 50_000,
    "batch_size": 32,
    "learn_every": 5,
    "learn_iterations": 2,
    "n_step": 1,
}


class FakeEnv:
    """A tiny EpisodicEnv: every state is the step count; truncated after `length` steps."""

    num_agents, state_size, action_size = 3, 33, 4

    def __init__(self, length: int = 6, knows_final_state: bool = True, interrupt_at=None):
        self.length, self.knows_final_state = length, knows_final_state
        self.interrupt_at = interrupt_at  # (episode, step) at which "Ctrl-C" arrives
        self.episode = self.t = 0

    def state(self, t: float) -> np.ndarray:
        return np.full((self.num_agents, self.state_size), t, dtype=np.float32)

    def reset(self) -> np.ndarray:
        self.episode, self.t = self.episode + 1, 0
        return self.state(0)

    def step(self, actions):
        self.t += 1
        if (self.episode, self.t) == self.interrupt_at:
            raise KeyboardInterrupt
        rewards = np.array([0.0, 0.5, 1.0], dtype=np.float32)
        never = np.zeros(3, bool)
        if self.t < self.length:
            return StepResult(self.state(self.t), rewards, never, never, None)
        final = self.state(self.t) if self.knows_final_state else None
        # -1: the next episode's start, as Unity sends it with the time limit's done
        return StepResult(self.state(-1), rewards, never, np.ones(3, bool), final)


def fake_agent(env, **overrides) -> Agent:
    config = DDPGConfig(**{**FAST, "batch_size": 4, **overrides})
    return Agent(env.state_size, env.action_size, env.num_agents, config, seed=0, device="cpu")


def stored_next_states(agent: Agent) -> set[float]:
    return set(agent.memory._data[: len(agent.memory), -2].tolist())  # last next_state column


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# ----- the loop with a fake environment ------------------------------------------------------
def test_time_limit_transition_uses_the_final_state(tmp_path):
    env = FakeEnv(length=6)
    agent = fake_agent(env)
    result = train(env, agent, 2, checkpoint_dir=tmp_path, progress=False)
    assert len(agent.memory) == 2 * 6 * env.num_agents  # every step stored
    assert stored_next_states(agent) == {1.0, 2.0, 3.0, 4.0, 5.0, 6.0}  # never the reset -1
    np.testing.assert_array_equal(result.scores, [[0, 3, 6]] * 2)


def test_unknown_final_state_skips_only_that_transition(tmp_path):
    env = FakeEnv(length=6, knows_final_state=False)
    agent = fake_agent(env)
    train(env, agent, 2, checkpoint_dir=tmp_path, progress=False)
    assert len(agent.memory) == 2 * 5 * env.num_agents
    assert -1.0 not in stored_next_states(agent)


def test_csv_log_checkpoints_and_early_stop(tmp_path):
    env = FakeEnv(length=4)
    agent = fake_agent(env)
    result = train(
        env,
        agent,
        10,
        checkpoint_dir=tmp_path / "ckpt",
        log_path=tmp_path / "scores.csv",
        progress=False,
        on_episode_end=lambda so_far: len(so_far.scores) == 3,
    )
    assert len(result.scores) == 3 and not result.interrupted
    logged = read_scores(tmp_path / "scores.csv")
    np.testing.assert_array_equal(logged.scores, [[0.0, 2.0, 4.0]] * 3)
    np.testing.assert_allclose(logged.episode_seconds, result.episode_seconds, atol=1e-3)
    rows = read_csv(tmp_path / "scores.csv")
    assert [r["episode"] for r in rows] == ["1", "2", "3"]
    assert float(rows[2]["elapsed_seconds"]) >= float(rows[2]["episode_seconds"]) > 0
    for directory in (tmp_path / "ckpt", tmp_path / "ckpt" / "best"):
        assert (directory / ACTOR_FILE).is_file() and (directory / CRITIC_FILE).is_file()


def test_stop_when_solved_ends_at_the_window_end(tmp_path):
    env = FakeEnv(length=4)  # every episode's arm mean is 2.0
    kwargs = {"checkpoint_dir": tmp_path, "window": 3, "progress": False}
    solved = train(env, fake_agent(env), 10, solve_score=2.0, stop_when_solved=True, **kwargs)
    assert len(solved.scores) == 3 and solved.solved_episode == 3  # the floor: one full window
    unsolved = train(env, fake_agent(env), 5, solve_score=2.5, stop_when_solved=True, **kwargs)
    assert len(unsolved.scores) == 5 and unsolved.solved_episode is None


def test_ctrl_c_keeps_the_scores_and_whole_checkpoints(tmp_path):
    env = FakeEnv(length=5, interrupt_at=(3, 2))
    agent = fake_agent(env)
    result = train(
        env, agent, 10, checkpoint_dir=tmp_path, log_path=tmp_path / "s.csv", progress=False
    )
    assert result.interrupted and len(result.scores) == 2  # the partial episode is dropped
    assert len(read_scores(tmp_path / "s.csv").scores) == 2
    reloaded = fake_agent(env)
    reloaded.load(tmp_path)  # the files are whole and current
    states = env.state(1.0)
    np.testing.assert_array_equal(reloaded.act(states, False), agent.act(states, False))
    assert not list(tmp_path.glob(".*tmp"))


class RecordingBar(tqdm_std):
    """The trainer's progress bar, drawn into a string and kept for inspection."""

    made: list["RecordingBar"] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, file=io.StringIO(), **kwargs)
        RecordingBar.made.append(self)


@pytest.mark.parametrize(
    "stop_at, interrupt_at, lines, complete",
    [
        (None, None, [2, 4, 5], True),  # ran all 5 episodes
        (3, None, [2, 3], True),  # stopped on purpose (as when solved): a finished bar
        (None, (4, 2), [2], False),  # Ctrl-C: the bar stays short, Jupyter shows it red
    ],
)
def test_progress_bar_and_course_lines(
    tmp_path, monkeypatch, capsys, stop_at, interrupt_at, lines, complete
):
    monkeypatch.setattr("train.tqdm", RecordingBar)
    env = FakeEnv(length=4, interrupt_at=interrupt_at)  # every episode's arm mean is 2.0
    train(
        env,
        fake_agent(env),
        5,
        checkpoint_dir=tmp_path,
        print_every=2,
        on_episode_end=lambda so_far: len(so_far.scores) == stop_at,
    )
    expected = [f"Episode {episode}\tAverage Score: 2.00" for episode in lines]
    assert capsys.readouterr().out.splitlines() == expected
    bar = RecordingBar.made[-1]
    assert (bar.n == bar.total) == complete


def test_evaluate_is_greedy_and_does_not_learn():
    env = FakeEnv(length=5)
    agent = fake_agent(env)
    result = evaluate(env, agent, n_episodes=2)
    assert result.scores.shape == (2, 3) and len(agent.memory) == 0 and agent.episodes == 0
    assert result.episode_seconds.shape == (2,)


def test_unity_adapter_reads_the_brain_info():
    """The adapter against a stand-in with the genuine client's attributes."""

    def brain_info(value, done=False):
        return {
            "ReacherBrain": SimpleNamespace(
                vector_observations=np.full((2, 33), value, dtype=np.float64),
                rewards=[0.04, 0.0],
                local_done=[done, done],
                max_reached=[done, False],  # arm 1: a done before the time limit
            )
        }

    calls = []
    unity = SimpleNamespace(
        brain_names=["ReacherBrain"],
        brains={"ReacherBrain": SimpleNamespace(vector_action_space_size=4)},
        reset=lambda train_mode: calls.append(train_mode) or brain_info(0.0),
        step=lambda actions: brain_info(1.0, done=True),
    )
    env = UnityEnv(unity, train_mode=False)
    assert (env.num_agents, env.state_size, env.action_size) == (2, 33, 4)
    states, rewards, terminated, truncated, final = env.step(np.zeros((2, 4)))
    assert states.dtype == np.float32 and rewards.dtype == np.float32
    np.testing.assert_allclose(rewards, [0.04, 0.0])
    assert truncated.tolist() == [True, False] and terminated.tolist() == [False, True]
    assert final is None
    assert calls == [False]


def test_parse_overrides_types_and_errors():
    parsed = parse_overrides(
        ["batch_size=128", "lr_actor=3e-4", "actor_hidden=400,300", "batch_norm=false"]
        + ["noise_decay_per=step", "critic_grad_clip=None", "critic_hidden=[64,64]"]
    )
    assert parsed == {
        "batch_size": 128,
        "lr_actor": 3e-4,
        "actor_hidden": (400, 300),
        "batch_norm": False,
        "noise_decay_per": "step",
        "critic_grad_clip": None,
        "critic_hidden": (64, 64),
    }
    DDPGConfig(**parsed)
    with pytest.raises(ValueError, match="bad setting 'batchsize=1'"):
        parse_overrides(["batchsize=1"])


# ----- the real simulator --------------------------------------------------------------------
def run_sim(seed: int, episodes: int = 2, max_steps: int | None = 40, **overrides):
    env = ReacherSim(num_agents=20, seed=seed)
    config = DDPGConfig(**{**FAST, **overrides})
    agent = Agent(env.state_size, env.action_size, env.num_agents, config, seed=seed, device="cpu")
    result = train(env, agent, episodes, max_steps=max_steps, checkpoint_dir=".", progress=False)
    return agent, result


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_smoke_training_through_the_simulator(in_tmp):
    torch.set_num_threads(1)
    agent, result = run_sim(seed=0)
    assert result.scores.shape == (2, 20) and agent.updates > 0
    assert (in_tmp / ACTOR_FILE).is_file() and (in_tmp / "best" / ACTOR_FILE).is_file()


def test_same_seed_gives_identical_scores_and_networks(in_tmp):
    torch.set_num_threads(1)
    runs = [run_sim(seed) for seed in (3, 3, 4)]
    (agent_a, a), (agent_b, b), (agent_c, c) = runs
    np.testing.assert_array_equal(a.scores, b.scores)
    assert a.scores.sum() > 0  # the comparison covers some rewards, not just zeros
    for p, q in zip(
        agent_a.actor_local.parameters(), agent_b.actor_local.parameters(), strict=True
    ):
        assert torch.equal(p, q)
    assert not torch.equal(agent_a.actor_local.fc1.weight, agent_c.actor_local.fc1.weight)


def test_full_simulator_episode_stores_the_final_transition(in_tmp):
    agent, result = run_sim(seed=1, episodes=1, max_steps=None, learn_every=2000)
    assert agent.t_step == 1001  # the episode ended on the simulator's own time limit
    assert len(agent.memory) == 1001 * 20
    assert result.scores.min() >= 0.0 and result.scores.max() <= 40.04 + 1e-4


def test_cli_writes_outputs_and_resumes(in_tmp, capsys):
    fast = [f"{k}={v}" for k, v in FAST.items()]
    common = ["--env", "sim", "--max-steps", "30", "--no-progress", "--set", *fast]
    main(["--episodes", "2", "--out", "first", "--seed", "1", *common])
    assert "episodes: 2" in capsys.readouterr().out
    assert len(read_scores(in_tmp / "first" / "scores.csv").scores) == 2
    assert '"batch_size": 32' in (in_tmp / "first" / "config.json").read_text()
    # zero episodes: the final checkpoint of the resumed run is exactly what was loaded
    main(["--episodes", "0", "--out", "second", "--resume", "first", *common])
    for name in (ACTOR_FILE, CRITIC_FILE):
        saved, resumed = (torch.load(in_tmp / d / name) for d in ("first", "second"))
        assert all(torch.equal(saved[k], resumed[k]) for k in saved)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        main(["--episodes", "1", "--out", "third", "--resume", "nowhere", *common])


def test_cli_rejects_unknown_settings(in_tmp, capsys):
    with pytest.raises(SystemExit):
        main(["--episodes", "1", "--out", "x", "--set", "learning_rate=1"])
    assert "bad setting" in capsys.readouterr().err


# ----- nothing lost, nothing silent ----------------------------------------------------------
FAST_CLI = ["--env", "sim", "--max-steps", "20", "--no-progress", "--set"]
FAST_CLI += [f"{k}={v}" for k, v in FAST.items()]


def test_resuming_in_place_appends_and_best_only_improves(tmp_path):
    """The history is kept and best/ only improves (once: history dropped, best/ worse)."""
    env = FakeEnv(length=4)  # every episode scores [0, 2, 4]: mean 2
    history = TrainResult(np.array([[5.0, 5.0, 5.0]] * 2), np.array([1.0, 1.0]))
    write_scores(tmp_path / "scores.csv", history)
    result = train(
        env,
        fake_agent(env),
        3,
        checkpoint_dir=tmp_path,
        log_path=tmp_path / "scores.csv",
        progress=False,
        history=history,
    )
    assert len(result.scores) == 5 and result.window_means[-1] == pytest.approx(16 / 5)
    assert [r["episode"] for r in read_csv(tmp_path / "scores.csv")] == ["1", "2", "3", "4", "5"]
    np.testing.assert_array_equal(read_scores(tmp_path / "scores.csv").scores, result.scores)
    assert not (tmp_path / "best").exists()  # mean 2 never beat the history's window of 5


def test_cli_never_clobbers_a_run_and_continues_it_in_place(in_tmp):
    """A run is refused unless resumed or overwritten (--episodes 0 once replaced it)."""
    main(["--episodes", "2", "--out", "run", *FAST_CLI])
    files = {p: p.read_bytes() for p in sorted((in_tmp / "run").rglob("*")) if p.is_file()}
    with pytest.raises(FileExistsError, match="already holds a run"):
        main(["--episodes", "0", "--out", "run", "--set", "gamma=0.5"])
    assert files == {p: p.read_bytes() for p in files}  # config.json included
    main(["--episodes", "1", "--out", "run", "--resume", "run", *FAST_CLI])
    assert len(read_scores(in_tmp / "run" / "scores.csv").scores) == 3
    main(["--episodes", "1", "--out", "run", "--overwrite", *FAST_CLI])
    assert len(read_scores(in_tmp / "run" / "scores.csv").scores) == 1


@pytest.mark.parametrize(
    "arguments, status, message",
    [
        (["--out", "a_file"], 1, "--out a_file exists and is not a directory"),
        (["--resume", "nowhere"], 1, "--resume nowhere: no such checkpoint directory"),
        (["--threads", "0"], 2, f"argument --threads: must be an int from 1 to {CORES}, got '0'"),
        (["--threads", "100000"], 2, f"--threads: must be an int from 1 to {CORES}, got '100000'"),
        (
            ["--set", "actor_hidden=100000,100000"],
            1,
            "critic_hidden (128, 128) and buffer_size 1000000: choose smaller ones",
        ),
        (["--max-steps", "0"], 2, "argument --max-steps: must be an int >= 1, got '0'"),
        (["--set", "gamma=abc"], 2, r"gamma must be a number in [0, 1], got 'abc'"),
    ],
)
def test_cli_errors_are_one_line_and_a_failure_status(in_tmp, capsys, arguments, status, message):
    """One line and a status, never raw tracebacks, Python internals or a full episode
    for --max-steps 0 (each once happened)."""
    (in_tmp / "a_file").touch()
    try:
        code = cli(["--episodes", "1", "--out", "out", *FAST_CLI, *arguments])
    except SystemExit as exit:  # argparse's usage line and one error line
        code = exit.code
    assert code == status
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(message)
    assert not (in_tmp / "out" / "config.json").exists()


@pytest.mark.parametrize(
    "arguments, message",
    [
        # refused once the environment is open: no checkpoint to resume from
        (["--out", "new/deep/out", "--resume", "empty"], "checkpoint file empty/"),
        (["--out", "a_file/out"], "a_file is not a directory"),
    ],
)
def test_a_refused_command_leaves_no_new_directory(in_tmp, capsys, arguments, message):
    """A refused command once left its --out behind, empty, with any missing parents."""
    (in_tmp / "empty").mkdir()
    (in_tmp / "a_file").touch()
    before = sorted(in_tmp.rglob("*"))
    assert cli(["--episodes", "1", *arguments, *FAST_CLI]) == 1
    assert message in capsys.readouterr().err
    assert sorted(in_tmp.rglob("*")) == before


def test_a_refused_command_keeps_an_existing_out_directory(in_tmp):
    (in_tmp / "empty").mkdir()
    (in_tmp / "out").mkdir()
    assert cli(["--episodes", "1", "--out", "out", "--resume", "empty", *FAST_CLI]) == 1
    assert (in_tmp / "out").is_dir() and not list((in_tmp / "out").iterdir())


def test_help_shows_every_default(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit) as exit:
        main(["--help"])
    assert exit.value.code == 0
    text = capsys.readouterr().out
    options, _, epilog = text.partition("options:")[2].partition("\n\nsettings for --set")
    entries = re.split(r"\n  (?=-)", options.strip())  # one per option, wrapped lines joined
    helps = {entry.split()[0].rstrip(","): " ".join(entry.split()) for entry in entries}
    assert {"--env", "--episodes", "--seed", "--out", "--max-steps", "--resume"} <= set(helps)
    for option, help_text in helps.items():
        assert option == "-h" or "(default: " in help_text, help_text
    assert "(default: runs/latest)" in helps["--out"] and "(default: 200)" in helps["--episodes"]
    assert f"\n  gamma ({DDPGConfig().gamma!r}): " in epilog  # the settings, one per line


def test_a_diverged_run_fails_and_saves_no_checkpoint(in_tmp, capsys):
    """A diverged run exits 1 and saves nothing (NaN networks were once saved, status 0)."""
    settings = ["lr_actor=1e30", "lr_critic=1e30"]
    assert cli(["--episodes", "2", "--max-steps", "60", "--out", "run", *FAST_CLI, *settings]) == 1
    assert "training diverged" in capsys.readouterr().err
    assert not list((in_tmp / "run").rglob("*.pth"))


def train_command(*arguments: str) -> list[str]:
    return [sys.executable, str(REPO / "train.py"), "--no-progress", *arguments]


def wait_for_episodes(log: Path, process: subprocess.Popen, episodes: int = 1) -> None:
    deadline = time.monotonic() + 90
    while not (log.is_file() and len(log.read_text().splitlines()) > episodes):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.2)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_a_stopped_run_saves_and_exits_with_status_130(tmp_path, stop):
    """Ctrl-C and SIGTERM save and exit 130 (once: status 0, and SIGTERM saved nothing)."""
    fast = [f"{k}={v}" for k, v in FAST.items()]
    command = train_command("--episodes", "10000", "--max-steps", "20", "--out", str(tmp_path))
    process = subprocess.Popen([*command, "--set", *fast], stdout=subprocess.PIPE, text=True)
    try:
        wait_for_episodes(tmp_path / "scores.csv", process)
        process.send_signal(stop)
        out, _ = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130 and "(interrupted)" in out
    assert (tmp_path / ACTOR_FILE).is_file() and (tmp_path / "best" / ACTOR_FILE).is_file()


@pytest.mark.skipif(
    not (REPO / "Reacher_Linux" / "Reacher.x86_64").exists(),
    reason="Reacher_Linux/Reacher.x86_64 is not built yet",
)
@pytest.mark.timeout(120)
def test_unity_training_reports_a_dead_simulator(tmp_path, free_worker_id):
    """A killed simulator fails the run within seconds (train.py --env unity once waited
    forever)."""
    fast = [f"{k}={v}" for k, v in FAST.items()]
    command = train_command("--env", "unity", "--episodes", "10000", "--max-steps", "20")
    command += ["--out", str(tmp_path), "--worker-id", str(free_worker_id()), "--set", *fast]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        wait_for_episodes(tmp_path / "scores.csv", process)
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        (simulator,) = children  # the executable the client started
        os.kill(int(simulator), signal.SIGKILL)
        start = time.monotonic()
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 1 and time.monotonic() - start < 10
    assert "killed by signal SIGKILL" in err.splitlines()[-1]
    # What the agent had learned is kept, to continue from (it once was not).
    from snapshot import load_snapshot

    finished = len(read_scores(tmp_path / "scores.csv").scores)
    assert load_snapshot(tmp_path / "snapshot.pt")["episodes"] == finished
    assert (tmp_path / "last" / ACTOR_FILE).is_file()


# ----- the genuine unityagents client, in a child process ------------------------------------
@pytest.mark.skipif(
    not (REPO / "Reacher_Linux" / "Reacher.x86_64").exists(),
    reason="Reacher_Linux/Reacher.x86_64 is not built yet",
)
def test_smoke_training_through_unityagents(tmp_path, free_worker_id):
    # One UnityEnvironment per process, and a hang at exit without close(): so a child
    # process with a timeout (docs/protocol.md, pitfalls 5 and 6).
    fast = [f"{k}={v}" for k, v in FAST.items()]
    command = [sys.executable, str(REPO / "train.py"), "--env", "unity", "--episodes", "2"]
    command += ["--max-steps", "30", "--out", str(tmp_path), "--no-progress"]
    command += ["--worker-id", str(free_worker_id()), "--set", *fast]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "episodes: 2" in done.stdout
    assert read_scores(tmp_path / "scores.csv").scores.shape == (2, 20)
    assert (tmp_path / ACTOR_FILE).is_file()


def test_resuming_with_other_settings_is_refused_naming_them(in_tmp):
    """A resume once took other settings silently and overwrote config.json."""
    main(["--episodes", "2", "--out", "run", *FAST_CLI])
    files = {p: p.read_bytes() for p in sorted((in_tmp / "run").rglob("*")) if p.is_file()}
    resume = ["--resume", "run", "--out", "run"]
    with pytest.raises(ValueError, match=r"other settings \(gamma 0\.95 -> 0\.5\)"):
        main(["--episodes", "1", *resume, *FAST_CLI, "gamma=0.5"])
    with pytest.raises(ValueError, match=r"max_steps 20 -> 30"):
        main(["--episodes", "1", *resume, *FAST_CLI[:2], "--max-steps", "30", *FAST_CLI[4:]])
    assert files == {p: p.read_bytes() for p in files}  # nothing changed


def test_change_settings_records_each_segment(in_tmp):
    main(["--episodes", "2", "--out", "run", *FAST_CLI])
    resume = ["--resume", "run", "--out", "run", "--change-settings"]
    main(["--episodes", "1", *resume, *FAST_CLI, "gamma=0.5"])
    config = json.loads((in_tmp / "run" / "config.json").read_text())
    assert config["config"]["gamma"] == 0.5
    first, second = config["segments"]
    assert (first["from_episode"], first["config"]["gamma"]) == (1, 0.95)
    assert (second["from_episode"], second["config"]["gamma"]) == (3, 0.5)
    assert read_scores(in_tmp / "run" / "scores.csv").scores.shape[0] == 3
    main(["--episodes", "1", "--resume", "run", "--out", "run", *FAST_CLI, "gamma=0.5"])
    assert len(json.loads((in_tmp / "run" / "config.json").read_text())["segments"]) == 2


# ----- snapshots: a run continues whatever ended it ------------------------------------------
def scores_of(run: Path) -> np.ndarray:
    return read_scores(run / "scores.csv").scores


@pytest.mark.timeout(300)
def test_a_killed_run_continues_from_its_snapshot_as_if_never_stopped(in_tmp):
    """SIGKILL once left no checkpoint, and `--resume OUT --out OUT` failed on it."""
    common = ["--max-steps", "30", "--snapshot-every", "2", "--eager", "--set"]
    common += [f"{k}={v}" for k, v in FAST.items()]
    main(["--episodes", "8", "--out", "whole", *common])
    run = in_tmp / "killed"
    process = subprocess.Popen(
        train_command("--episodes", "10000", "--out", str(run), *common), stdout=subprocess.PIPE
    )
    try:
        wait_for_episodes(run / "scores.csv", process, episodes=5)
        process.kill()  # no handler runs: only the periodic snapshots exist
        process.communicate(timeout=30)
    finally:
        process.kill()
    logged = len(scores_of(run))
    assert not (run / "last").exists() and (run / "snapshot.pt").is_file()  # no stop saved
    completed = subprocess.run(
        train_command("--episodes", "0", "--resume", str(run), "--out", str(run), *common),
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr
    kept = int(re.search(r"from its snapshot after episode (\d+) ", completed.stdout)[1])
    # The last snapshot (every 2 episodes), or the one before if the kill came between an
    # episode's line in the log and its snapshot.
    assert kept % 2 == 0 and logged - 3 <= kept <= logged
    assert len(scores_of(run)) == kept  # the episodes after the snapshot were cut from the log
    main(["--episodes", str(8 - kept), "--resume", str(run), "--out", str(run), *common])
    # The environment's goals, the noise, the buffer, Adam: all went on as in the whole run.
    np.testing.assert_array_equal(scores_of(run), scores_of(in_tmp / "whole"))
    checks = [(d / "greedy_checks.csv").read_text() for d in (in_tmp / "whole", run)]
    assert checks[0] == checks[1] and len(checks[0].splitlines()) == 1 + 8 // 5 + 1
    for name in (ACTOR_FILE, CRITIC_FILE, f"last/{ACTOR_FILE}"):  # the kept and the last
        whole, continued = (torch.load(d / name) for d in (in_tmp / "whole", run))
        assert all(torch.equal(whole[k], continued[k]) for k in whole)


class DyingEnv(FakeEnv):
    """A simulator that dies in the middle of an episode."""

    def step(self, actions):
        if (self.episode, self.t + 1) == self.interrupt_at:
            raise RuntimeError("the simulator died")
        return super().step(actions)


def test_an_error_mid_episode_saves_a_snapshot_of_the_finished_episodes(tmp_path, capsys):
    env = DyingEnv(interrupt_at=(3, 4))
    agent = fake_agent(env)
    with pytest.raises(RuntimeError, match="the simulator died"):
        train(env, agent, 5, checkpoint_dir=tmp_path, log_path=tmp_path / "scores.csv",
              progress=False, snapshot_every=10)  # fmt: skip
    assert (tmp_path / ACTOR_FILE).is_file()

    resumed = fake_agent(env)
    history = continue_run(tmp_path, resumed, env)
    assert len(history.scores) == 2  # the episodes finished before the error
    assert "after episode 2 (no episode lost)" in capsys.readouterr().out
    assert resumed.episodes == agent.episodes and len(resumed.memory) == len(agent.memory)


def test_a_corrupt_or_missing_snapshot_is_refused_in_one_line(in_tmp, capsys):
    main(["--episodes", "1", "--out", "run", *FAST_CLI])
    snapshot = in_tmp / "run" / "snapshot.pt"
    data = bytearray(snapshot.read_bytes())
    data[len(data) // 2] ^= 0xFF
    snapshot.write_bytes(bytes(data))
    resume = ["--episodes", "1", "--resume", "run", "--out", "run", *FAST_CLI]
    assert cli(resume) == 1
    assert "snapshot.pt is corrupted" in capsys.readouterr().err
    snapshot.unlink()
    assert cli(resume) == 1
    error = capsys.readouterr().err
    assert "run has no snapshot.pt to continue from" in error and "--overwrite" in error


def test_greedy_checks_keep_the_best_actor_and_the_last_one(in_tmp, monkeypatch):
    env = ReacherSim(num_agents=20, seed=1)
    agent = Agent(env.state_size, env.action_size, 20, DDPGConfig(**FAST), seed=1, device="cpu")
    scripted, actors = iter([0.3, 0.5, 0.2]), []  # the middle check plays best

    def fake_evaluate(check_env, checked, n_episodes, max_steps):
        assert (check_env.num_agents, n_episodes, max_steps) == (20, 1, 30)
        actors.append(copy.deepcopy(checked.actor_local.state_dict()))
        return TrainResult(np.full((1, 20), next(scripted)), np.zeros(1))

    monkeypatch.setattr("train.evaluate", fake_evaluate)
    checks = GreedyChecks(seed=77, every=2, episodes=1, max_steps=30)
    train(env, agent, 5, max_steps=30, checkpoint_dir=in_tmp, progress=False, greedy_checks=checks)
    rows = [
        (r["episode"], r["greedy_mean"], r["kept"]) for r in read_csv(in_tmp / "greedy_checks.csv")
    ]
    assert rows == [("2", "0.3000", "1"), ("4", "0.5000", "1"), ("5", "0.2000", "0")]
    saved, last = (torch.load(in_tmp / name) for name in (ACTOR_FILE, f"last/{ACTOR_FILE}"))
    assert all(torch.equal(v, saved[k]) for k, v in actors[1].items())  # the best check's
    assert not all(torch.equal(v, saved[k]) for k, v in actors[2].items())
    assert all(torch.equal(v, last[k]) for k, v in agent.actor_local.state_dict().items())


def test_a_greedy_check_plays_the_same_goals_every_time(tmp_path):
    agent = Agent(33, 4, 20, DDPGConfig(**FAST), seed=1, device="cpu")
    checks = GreedyChecks(seed=77, episodes=1, max_steps=30)
    checks.start(tmp_path, 0)
    first, second = (checks.check(agent, episode, tmp_path) for episode in (1, 2))
    assert first == second


@pytest.mark.timeout(60)
def test_ctrl_c_while_the_command_starts_ends_it_with_130_and_at_most_one_line(tmp_path):
    """A Ctrl-C during the imports once printed a 15-28-line traceback."""
    process = subprocess.Popen(
        train_command("--episodes", "1", "--out", str(tmp_path / "run")),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Interrupt while torch loads (seconds), past the interpreter's own start-up, whose
    # Ctrl-C is not train.py's to handle.
    maps, deadline = Path(f"/proc/{process.pid}/maps"), time.monotonic() + 30
    while "libtorch" not in maps.read_text() and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130 and len(err.splitlines()) <= 1, err


def test_a_full_disk_keeps_the_last_snapshot_to_continue_from(tmp_path, monkeypatch, capsys):
    """A full disk once left no checkpoint to continue from."""
    import snapshot

    writes = []

    def disk_fills_at_the_third(data, path):
        writes.append(path)
        if len(writes) >= 3:
            raise OSError(28, "No space left on device")
        atomic_write(data, path)

    monkeypatch.setattr(snapshot, "atomic_write", disk_fills_at_the_third)
    env, log = FakeEnv(), tmp_path / "scores.csv"
    agent = fake_agent(env)
    with pytest.raises(OSError, match="No space left") as error:
        train(env, agent, 5, checkpoint_dir=tmp_path, log_path=log, progress=False,
              snapshot_every=1)  # fmt: skip
    assert "saving the checkpoint and snapshot failed as well" in str(error.value.__notes__)
    monkeypatch.undo()
    history = continue_run(tmp_path, fake_agent(env), env)
    assert len(history.scores) == 2  # the third episode's snapshot never got written
    assert "after episode 2 (1 later episode(s) lost, trained again)" in capsys.readouterr().out


def test_a_stop_during_a_greedy_checks_save_still_leaves_a_checkpoint(tmp_path, monkeypatch):
    """A Ctrl-C while a check saved its first actor once left no checkpoint_actor.pth."""
    env = FakeEnv()
    agent, save = fake_agent(env), Agent.save

    def interrupted_once(self, directory):
        if Path(directory) == tmp_path and not (tmp_path / ACTOR_FILE).exists():
            monkeypatch.setattr(Agent, "save", save)  # once: the stop's own saves go through
            raise KeyboardInterrupt
        save(self, directory)

    monkeypatch.setattr(Agent, "save", interrupted_once)
    checks = GreedyChecks(seed=5, every=1, episodes=1)
    result = train(env, agent, 3, checkpoint_dir=tmp_path, progress=False, greedy_checks=checks)
    assert result.interrupted and checks.best is None
    assert (tmp_path / ACTOR_FILE).is_file() and (tmp_path / "last" / ACTOR_FILE).is_file()
