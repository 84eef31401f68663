"""Reacher_Linux/Reacher.x86_64 driven by the genuine unityagents 0.4 client.

Every environment runs in a child process (tests/unity_client_script.py) with a timeout: the
genuine client hangs at interpreter exit without close() and allows one environment per process.
Each environment gets a worker id whose port is reserved for its test (tests/conftest.py), so
parallel or repeated runs never collide; a test whose environment fails to open says why,
with the simulator's stderr.
"""

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from communicator_objects import UnityMessage

from benchmarks.protocol_speed import cpu_seconds
from reacher import wire
from reacher.sim import ReacherSim

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "tests" / "unity_client_script.py"
LAUNCHER = REPO / "Reacher_Linux" / "Reacher.x86_64"

# What print(env) shows for the Udacity build, and the first state for seed 0
# (docs/environment.md, The course printout).
PRINTOUT = """Unity Academy name: Academy
        Number of Brains: 1
        Number of External Brains : 1
        Lesson number : 0
        Reset Parameters :
\t\tgoal_speed -> 1.0
\t\tgoal_size -> 5.0
Unity brain name: ReacherBrain
        Number of Visual Observations (per agent): 0
        Vector Observation space type: continuous
        Vector Observation space size (per agent): 33
        Number of stacked Vector Observation: 1
        Vector Action space type: continuous
        Vector Action space size (per agent): 4
        Vector Action descriptions: , , , """
PRINTED_FIRST_STATE = [
    0.0, -4.0, 0.0, 1.0, -0.0, -0.0, -4.37113883e-08, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, -10.0, 0.0, 1.0, -0.0, -0.0, -4.37113883e-08, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0, 5.75471878, -1.0, 5.55726624, 0.0, 1.0, 0.0, -0.168164849,
]  # fmt: skip
REWARDS = {float(np.float32(r)) for r in (0.0, 0.01, 0.02, 0.03, 0.04)}


class Client:
    """A child process holding one UnityEnvironment, driven by JSON lines."""

    def __init__(self, worker_id: int, *, seed=0, no_graphics=True, cwd=REPO, env=None, flags=()):
        args = [sys.executable, str(SCRIPT), str(worker_id), "--seed", str(seed), *flags]
        args += ["--no-graphics"] if no_graphics else []
        self.worker_id, self.port = worker_id, 5005 + worker_id
        self.proc = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group, as a Jupyter kernel has
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        for stream, sink in [
            (self.proc.stdout, self.lines.put),
            (self.proc.stderr, self.stderr.append),
        ]:
            threading.Thread(target=self._pump, args=(stream, sink), daemon=True).start()
        self.opened: dict = {}

    @staticmethod
    def _pump(stream, sink) -> None:
        for line in stream:
            sink(line)

    def read(self, timeout: float = 30) -> dict:
        try:
            return json.loads(self.lines.get(timeout=timeout))
        except queue.Empty:
            pytest.fail(f"no answer within {timeout} s; stderr: {''.join(self.stderr)}")

    def send(self, cmd: str, **fields) -> None:
        self.proc.stdin.write(json.dumps({"cmd": cmd, **fields}) + "\n")
        self.proc.stdin.flush()

    def call(self, cmd: str, timeout: float = 30, **fields) -> dict:
        self.send(cmd, **fields)
        return self.read(timeout)

    def close(self) -> dict:
        answer = self.call("close")
        self.proc.wait(timeout=10)
        return answer

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


@pytest.fixture
def clients(free_worker_id):
    """Starts clients, each on a reserved port unless a worker id is given; afterwards kills
    what is left and checks that no simulator outlived them."""
    started: list[Client] = []

    def start(worker_id: int | None = None, expect_open: bool = True, **kw) -> Client:
        started.append(client := Client(worker_id or free_worker_id(), **kw))
        # The client's handshake gives up after its own 30 s; the open event, or why it failed.
        client.opened = client.read(timeout=60)
        if expect_open and "error" in client.opened:
            pytest.fail(
                f"the environment did not open: {client.opened}\n"
                f"client and simulator stderr:\n{''.join(client.stderr)}"
            )
        return client

    yield start
    for client in started:
        client.kill()
    ports = {client.port for client in started}
    deadline = time.monotonic() + 5
    while (left := simulators_on(ports)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"leftover simulator processes: {left}"


def simulators_on(ports: set[int]) -> list[int]:
    """Pids of live `reacher.unity_server` processes serving one of `ports`."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        except OSError:
            continue
        if "reacher.unity_server" in argv and any(str(port) in argv for port in ports):
            pids.append(int(pid))
    return pids


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def unread_bytes_from(port: int) -> int:
    """Bytes that arrived from `port` on local TCP sockets and are not read yet."""
    total = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            if int(fields[2].rsplit(":", 1)[1], 16) == port:
                total += int(fields[4].split(":")[1], 16)
    return total


def random_actions(rng: np.random.Generator) -> list:
    return np.clip(rng.standard_normal((20, 4)), -1, 1).astype(np.float32).tolist()


def test_wire_messages_parse_with_the_genuine_schema():
    init = UnityMessage.FromString(
        wire.encode_initialization("ReacherBrain", 33, 4, {"goal_speed": 1.0, "goal_size": 5.0})
    )
    academy = init.unity_output.rl_initialization_output
    assert (academy.name, academy.version) == ("Academy", "API-4")
    assert dict(academy.environment_parameters.float_parameters) == {
        "goal_speed": 1.0,
        "goal_size": 5.0,
    }
    (brain,) = academy.brain_parameters
    assert brain.brain_name == "ReacherBrain" and brain.brain_type == 2
    assert (brain.vector_observation_size, brain.vector_action_size) == (33, 4)
    assert list(brain.vector_action_descriptions) == [""] * 4

    rng = np.random.default_rng(1)
    obs = rng.standard_normal((20, 33)).astype(np.float32)
    actions = rng.uniform(-1, 1, (20, 4)).astype(np.float32)
    rewards = rng.choice(np.float32([0, 0.01, 0.04]), 20)
    dones, max_reached = rng.random(20) < 0.5, rng.random(20) < 0.5
    step = wire.StepEncoder("ReacherBrain", 20, 33, 4).encode(
        obs, actions, rewards, dones, max_reached
    )
    message = UnityMessage.FromString(step)
    assert message.header.status == 200 and not message.unity_output.rl_output.global_done
    infos = message.unity_output.rl_output.agentInfos["ReacherBrain"].value
    np.testing.assert_array_equal([i.stacked_vector_observation for i in infos], obs)
    np.testing.assert_array_equal([i.stored_vector_actions for i in infos], actions)
    np.testing.assert_array_equal([i.reward for i in infos], rewards)
    assert [i.done for i in infos] == dones.tolist()
    assert [i.max_step_reached for i in infos] == max_reached.tolist()
    assert [i.id for i in infos] == list(range(20))

    command = UnityMessage()
    command.header.status = 200
    command.unity_input.rl_input.command = wire.COMMAND_RESET
    command.unity_input.rl_input.environment_parameters.float_parameters["goal_size"] = 3.0
    for row in actions:
        command.unity_input.rl_input.agent_actions["ReacherBrain"].value.add(vector_actions=row)
    decoded = wire.decode_input(command.SerializeToString())
    assert (decoded.status, decoded.command, decoded.seed) == (200, wire.COMMAND_RESET, None)
    assert decoded.reset_parameters == {"goal_size": 3.0}
    np.testing.assert_array_equal(decoded.actions["ReacherBrain"].reshape(20, 4), actions)
    handshake = UnityMessage()
    handshake.unity_input.rl_initialization_input.seed = -7
    assert wire.decode_input(handshake.SerializeToString()).seed == -7


@pytest.mark.timeout(120)  # a loaded machine can take 30 s to open
def test_course_flow(clients):
    """Open, print, reset, a random-action episode to done, reset with config, close."""
    env = clients(no_graphics=False)  # exactly the course's UnityEnvironment(file_name=...)
    # The reset parameters are a protobuf map, which has no order: compiled protobuf (upb)
    # lists them in an order seeded per process, the 2018 modules in the order sent.
    assert sorted(env.opened["printout"].splitlines()) == sorted(PRINTOUT.splitlines())
    assert env.opened["printout"].split("goal_")[0] == PRINTOUT.split("goal_")[0]
    first = env.call("reset", train_mode=True)
    assert np.shape(first["observations"]) == (20, 33) and len(set(first["agents"])) == 20

    episode = env.call("episode")
    assert episode["steps"] == 1001  # local_done first True on env.step #1001
    assert all(episode["dones"]) and all(episode["max_reached"])
    assert not episode["max_reached_early"]
    assert set(episode["rewards"]) <= REWARDS and len(episode["rewards"]) > 1

    # obs[32] is each goal's speed, uniform in [-goal_speed, goal_speed]; reset
    # parameters are sticky, so a reset without config keeps goal_speed 0.
    still = env.call("reset", train_mode=False, config={"goal_size": 3.0, "goal_speed": 0})
    assert still["agents"] == first["agents"]
    assert np.all(np.array(still["observations"])[:, 32] == 0)
    assert np.all(np.array(env.call("reset")["observations"])[:, 32] == 0)
    assert np.any(np.array(first["observations"])[:, 32] != 0)
    assert env.close()["returncode"] == -signal.SIGKILL
    assert not alive(env.opened["simulator_pid"])


@pytest.mark.timeout(120)  # a loaded machine can take 30 s to open
def test_first_state_is_printed_one_and_steps_match_in_process_sim(clients):
    env = clients()  # default seed 0, as in the Udacity notebook
    observations = np.array(env.call("reset")["observations"])
    np.testing.assert_allclose(observations[0], PRINTED_FIRST_STATE, atol=1e-5)

    # The same seed and actions in-process give bit-identical float32 results: the actions
    # reach the simulator intact, and every agent's observations come back in order.
    sim, rng = ReacherSim(num_agents=20, seed=0), np.random.default_rng(2)
    np.testing.assert_array_equal(observations, sim.reset({}))
    for _ in range(5):
        actions = random_actions(rng)
        answer = env.call("step", actions=actions)
        obs, rewards, terminated, truncated, _ = sim.step(np.array(actions, np.float32))
        np.testing.assert_array_equal(answer["observations"], obs)
        np.testing.assert_array_equal(answer["rewards"], rewards)
        assert answer["dones"] == (terminated | truncated).tolist()
        assert answer["max_reached"] == truncated.tolist()
        np.testing.assert_array_equal(answer["previous_actions"], actions)
    env.close()


@pytest.mark.timeout(120)  # a loaded machine can take 30 s to open
def test_two_environments_at_once_from_any_directory(clients, tmp_path):
    """Different worker_ids in two processes; the second one is started the way a Jupyter
    kernel might: another working directory, a symlinked executable, no venv on PATH."""
    (tmp_path / "Reacher_Linux").mkdir()
    (tmp_path / "Reacher_Linux" / "Reacher.x86_64").symlink_to(LAUNCHER)
    bare = {k: v for k, v in os.environ.items() if k != "REACHER_PYTHON"}
    bare["PATH"] = "/usr/bin:/bin"
    first, second = clients(), clients(seed=1, cwd=tmp_path, env=bare)
    states = [np.array(env.call("reset")["observations"]) for env in (first, second)]
    for seed, state in enumerate(states):
        np.testing.assert_array_equal(state, ReacherSim(num_agents=20, seed=seed).reset({}))
    rng = np.random.default_rng(3)
    for _ in range(20):
        for env in (first, second):
            assert len(env.call("step", actions=random_actions(rng))["rewards"]) == 20
    first.close()
    second.close()


@pytest.mark.timeout(120)  # a loaded machine can take 30 s to open
def test_simulator_exits_when_client_is_killed(clients):
    env = clients()
    env.call("reset")
    simulator = env.opened["simulator_pid"]
    os.kill(env.proc.pid, signal.SIGKILL)
    deadline = time.monotonic() + 3
    while alive(simulator) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(simulator)


@pytest.mark.timeout(120)  # a loaded machine can take 30 s to open
@pytest.mark.parametrize("flags", [(), ("--session",)], ids=["genuine", "session"])
def test_an_environment_waiting_for_its_next_command_uses_no_cpu(clients, flags):
    """Between cells the kernel and the simulator sleep: nothing polls while nobody asks."""
    env = clients(flags=flags)
    env.call("reset")
    pids = (env.proc.pid, env.opened["simulator_pid"])
    before = sum(map(cpu_seconds, pids))
    time.sleep(3)
    busy = sum(map(cpu_seconds, pids)) - before
    assert busy < 0.3, f"{busy:.2f} s of CPU in 3 s of waiting"


@pytest.mark.timeout(120)  # a loaded machine can take 30 s to open
def test_sigint_to_the_process_group_keeps_the_environment_working(clients):
    env = clients()
    env.call("reset")
    os.killpg(env.proc.pid, signal.SIGINT)  # what Jupyter's "interrupt kernel" does
    time.sleep(0.5)
    answer = env.call("step", actions=random_actions(np.random.default_rng(4)))
    assert answer["interrupts"] == 1 and len(answer["rewards"]) == 20
    assert np.shape(env.call("reset")["observations"]) == (20, 33)
    assert env.close()["returncode"] == -signal.SIGKILL


@pytest.mark.timeout(120)  # a loaded machine can take 30 s to open
def test_bad_actions_raise_in_the_client_and_the_environment_goes_on(clients):
    env = clients()
    env.call("reset")
    answer = env.call("step", actions=[[float("nan")] * 4] * 20)
    assert answer["error"] == "KeyboardInterrupt"  # how unityagents reports a non-200 status
    assert "simulator error" in "".join(env.stderr)
    answer = env.call("step", actions=random_actions(np.random.default_rng(6)))
    assert len(answer["rewards"]) == 20
    answer = env.call("reset", config={"goal_size": float("nan")})  # the client lets NaN pass
    assert answer["error"] == "KeyboardInterrupt"
    answer = env.call("step", actions=random_actions(np.random.default_rng(7)))
    assert len(answer["rewards"]) == 20
    assert env.close()["returncode"] == -signal.SIGKILL


@pytest.mark.timeout(150)
def test_same_worker_id_as_an_open_environment_fails_clearly(clients):
    first = clients()
    first.call("reset")
    # The second client waits its 30 s for a simulator that never connects.
    second = clients(first.worker_id, expect_open=False)
    assert second.opened["error"] == "UnityTimeOutException"
    message = "".join(second.stderr)
    assert f"port {first.port}" in message and f"worker_id {first.worker_id}" in message
    # Nothing cross-wired: the first environment still answers, with its own 20 agents.
    answer = first.call("step", actions=random_actions(np.random.default_rng(5)))
    assert len(answer["rewards"]) == 20 and "error" not in answer
    first.close()


def test_importing_the_server_changes_nothing():
    # Signal handling and the client's PID belong to main(), not to an import (e.g. by a test).
    code = "import signal, reacher.unity_server; print(signal.getsignal(signal.SIGINT).__name__)"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.stdout.strip() == "default_int_handler", done.stderr


def test_server_answers_a_step_before_reset_instead_of_crashing():
    """A STEP before any RESET (a cross-wired client's) is refused; it once killed the simulator."""
    from reacher.unity_server import BRAIN_NAME, _answer, _SimulatorError

    command = wire.UnityInput(status=200, actions={BRAIN_NAME: np.zeros(80, np.float32)})
    encoder = wire.StepEncoder(BRAIN_NAME, 20, 33, 4)
    with pytest.raises(_SimulatorError, match=r"call reset\(\) before step\(\)"):
        _answer(ReacherSim(num_agents=20), encoder, command)


# unity_session.UnityEnvironment, the genuine client as the project calls it; the cases are
# those numbered in unity_session.py's docstring
SESSION = ("--session",)


@pytest.mark.timeout(120)  # a loaded machine can take 30 s to open
def test_session_answers_each_command_after_ctrl_c_during_step(clients):
    """Case 1: the genuine client returned the previous command's answer from then on."""
    env = clients(flags=(*SESSION, "--interruptible"))  # SIGINT raises, as in a cell
    env.call("reset")
    simulator, rng = env.opened["simulator_pid"], np.random.default_rng(8)
    for _ in range(2):  # each such interrupt added one answer of lag
        os.kill(simulator, signal.SIGSTOP)  # so the interrupt lands while the client waits
        try:
            env.send("step", actions=random_actions(rng))
            deadline = time.monotonic() + 10
            while not unread_bytes_from(env.port) and time.monotonic() < deadline:
                time.sleep(0.05)  # until the command has reached the stopped simulator
            os.kill(env.proc.pid, signal.SIGINT)
            assert env.read()["error"] == "KeyboardInterrupt"
        finally:
            os.kill(simulator, signal.SIGCONT)
        time.sleep(0.2)
    fresh = np.array(env.call("reset")["observations"])
    assert not fresh[:, 7:13].any() and not fresh[:, 20:26].any()  # arms at rest
    actions = random_actions(rng)
    np.testing.assert_array_equal(env.call("step", actions=actions)["previous_actions"], actions)
    assert env.close()["returncode"] == -signal.SIGKILL


@pytest.mark.timeout(120)  # a loaded machine can take 30 s to open
def test_session_reports_a_dead_simulator_within_seconds(clients):
    """Case 2: the genuine client waited forever for a simulator that had died."""
    env = clients(flags=SESSION)
    env.call("reset")
    os.kill(env.opened["simulator_pid"], signal.SIGKILL)
    for command in ("step", "reset"):  # every later call, not only the first
        start = time.monotonic()
        answer = env.call(command, timeout=10, actions=random_actions(np.random.default_rng(9)))
        assert time.monotonic() - start < 3
        assert answer["error"] == "SimulatorDiedError"
        assert "killed by signal SIGKILL" in answer["message"]
        assert "env.close()" in answer["message"]
    assert env.close()["returncode"] == -signal.SIGKILL


@pytest.mark.timeout(120)  # a loaded machine can take 30 s to open
def test_session_raises_simulator_errors_not_keyboard_interrupt(clients):
    """Case 3: a refused command (status 500) was a bare KeyboardInterrupt, like a Ctrl-C."""
    env = clients(flags=SESSION)
    env.call("reset")
    answer = env.call("step", actions=[[float("nan")] * 4] * 20)
    assert answer["error"] == "SimulatorError" and "actions must be finite" in answer["message"]
    answer = env.call("reset", config={"goal_size": 0.0})
    assert answer["error"] == "SimulatorError" and "goal_size must be" in answer["message"]
    assert len(env.call("step", actions=random_actions(np.random.default_rng(10)))["rewards"]) == 20
    assert env.close()["returncode"] == -signal.SIGKILL


@pytest.mark.timeout(120)  # a loaded machine can take 30 s to open
def test_session_refuses_a_second_environment_in_the_same_process(clients):
    """Case 4: it shared the first one's pipe (KeyError or a hang; a crashed simulator)."""
    env = clients(flags=SESSION)
    env.call("reset")
    answer = env.call("open", worker_id=env.worker_id)
    assert answer["error"] == "SessionError"
    assert f"worker_id {env.worker_id}) is already open in this process" in answer["message"]
    assert simulators_on({env.port}) == [env.opened["simulator_pid"]]  # none was started
    assert len(env.call("step", actions=random_actions(np.random.default_rng(11)))["rewards"]) == 20
    assert env.close()["returncode"] == -signal.SIGKILL


@pytest.mark.timeout(120)
def test_session_refuses_a_port_another_environment_listens_on(clients):
    """The genuine client waits its 30 s there; the session says so at once."""
    first = clients(flags=SESSION)
    start = time.monotonic()
    second = clients(first.worker_id, expect_open=False, flags=SESSION)
    assert time.monotonic() - start < 10
    assert second.opened["error"] == "SessionError"
    assert f"port {first.port} (worker_id {first.worker_id}) is in use" in second.opened["message"]
    assert simulators_on({first.port}) == [first.opened["simulator_pid"]]  # none left over
    first.call("reset")
    answer = first.call("step", actions=random_actions(np.random.default_rng(12)))
    assert len(answer["rewards"]) == 20
    first.close()


@pytest.mark.timeout(120)
def test_session_reports_a_simulator_that_cannot_start_within_seconds(clients):
    broken = {**os.environ, "REACHER_PYTHON": "/nonexistent/python"}  # the launcher's exec fails
    start = time.monotonic()
    env = clients(expect_open=False, flags=SESSION, env=broken)
    assert time.monotonic() - start < 10
    assert env.opened["error"] == "SimulatorDiedError"
    assert "exited with status 127 before it answered" in env.opened["message"]


@pytest.mark.timeout(120)
def test_session_open_interrupted_by_ctrl_c_can_be_run_again(clients, tmp_path):
    """A Ctrl-C during the open once left the simulator running and its greeting in the pipe,
    so the next open in the process "opened" on it and cross-wired."""
    slow = tmp_path / "slow-python"  # a simulator that takes 2 s to start: the Ctrl-C at 0.5 s
    slow.write_text(f'#!/bin/sh\nsleep 2\nexec {sys.executable} "$@"\n')  # lands in the open
    slow.chmod(0o755)
    flags = (*SESSION, "--interruptible", "--interrupt-open", "0.5")
    env = clients(expect_open=False, flags=flags, env={**os.environ, "REACHER_PYTHON": str(slow)})
    assert env.opened == {"interrupted_open": True}
    opened = env.read(timeout=60)  # the second open, in the same process
    assert opened["brain"] == "ReacherBrain", opened
    assert simulators_on({env.port}) == [opened["simulator_pid"]]  # the first one is gone
    observations = np.array(env.call("reset")["observations"])
    np.testing.assert_array_equal(observations, ReacherSim(num_agents=20, seed=0).reset({}))
    assert env.close()["returncode"] == -signal.SIGKILL


@pytest.mark.timeout(120)
def test_session_refuses_a_command_too_large_for_grpc(clients):
    """A 5 MB step once exceeded gRPC's 4 MB limit and killed the simulator."""
    env = clients(flags=SESSION)
    env.call("reset")
    actions = random_actions(np.random.default_rng(13))
    answer = env.call("step", actions=actions, memory_floats=70_000)  # 20 x 70,000 floats
    assert answer["error"] == "SimulatorError" and "nothing was sent" in answer["message"]
    assert len(env.call("step", actions=actions)["rewards"]) == 20  # the simulator lives on
    assert env.close()["returncode"] == -signal.SIGKILL


@pytest.mark.timeout(120)
def test_session_reports_a_frozen_simulator_after_its_timeout(clients):
    env = clients(flags=SESSION, env={**os.environ, "REACHER_ANSWER_TIMEOUT_S": "2"})
    env.call("reset")
    simulator, rng = env.opened["simulator_pid"], np.random.default_rng(14)
    os.kill(simulator, signal.SIGSTOP)
    try:
        start = time.monotonic()
        answer = env.call("step", actions=random_actions(rng))
        assert 2 <= time.monotonic() - start < 6
        assert answer["error"] == "SimulatorTimeoutError"
        assert "has not answered for 2 s" in answer["message"]
    finally:
        os.kill(simulator, signal.SIGCONT)
    actions = random_actions(rng)  # it recovered: the next call answers its own command
    np.testing.assert_array_equal(env.call("step", actions=actions)["previous_actions"], actions)
    assert env.close()["returncode"] == -signal.SIGKILL


@pytest.mark.timeout(120)
def test_session_script_that_never_closes_exits_promptly_after_an_error(free_worker_id):
    """Such a script once hung at exit (its gRPC handler thread was joined, never returning)."""
    worker_id = free_worker_id()
    code = (
        "from unity_session import UnityEnvironment\n"
        f"env = UnityEnvironment(file_name={str(LAUNCHER)!r}, worker_id={worker_id})\n"
        "env.reset()\n"
        "raise RuntimeError('uncaught, and no close()')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1 and "uncaught, and no close()" in done.stderr
    deadline = time.monotonic() + 5
    while simulators_on({5005 + worker_id}) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not simulators_on({5005 + worker_id})
