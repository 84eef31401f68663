"""The genuine `unityagents.UnityEnvironment`, made safe where this project calls it.

The 2018 client (unchanged on disk) can lose work or time silently in five ways:

1. A Ctrl-C while it waits for the simulator's answer leaves that answer in its pipe, and every
   later `step()`/`reset()` returns the answer to the command before it.
2. If the simulator process dies, `step()`/`reset()` wait forever (docs/protocol.md, pitfall 8).
3. A simulator error (status 500, e.g. NaN actions) is raised as a bare `KeyboardInterrupt`,
   indistinguishable from the user's Ctrl-C.
4. A second environment in the same process shares the first one's pipe and cross-wires with it
   (pitfall 6); after `close()` no other one can open.
5. The open waits 30 s for a simulator that died at start or for a port another environment
   holds, then blames the build; a Ctrl-C during the open leaves the simulator running and its
   greeting in the pipe, where the next open in the process takes it for its own.

`UnityEnvironment` below is a drop-in subclass (same arguments, same methods) that fixes these:
commands and answers are numbered, and an interrupted command's answer is dropped when it
arrives, so every call answers its own command; a dead simulator raises `SimulatorDiedError`
within a second; a refused command raises `SimulatorError` with the simulator's message; a
second environment in the process is refused up front with `SessionError`; the open reports a
dead simulator (`SimulatorDiedError`) or a busy port (`SessionError`) within seconds, and a
failed or interrupted open kills its simulator, frees the port and answers a late greeting. It
overrides only the client's hooks (`get_communicator`, `_close`) and the communicator's
`initialize` and `exchange`, and gives the genuine gRPC handler two in-process queues in place
of its pipe (the same `send`/`recv`, without pickling every message through the kernel and
without a courier thread: docs/performance.md measures it). One addition: without a
`worker_id` argument it takes `$REACHER_WORKER_ID` (default 0), so a second notebook or a test
run can use another port without editing the course's code.
"""

import contextlib
import os
import queue
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import Executor, Future
from typing import ClassVar

import grpc
from communicator_objects import (
    UnityInput,
    UnityMessage,
    UnityOutput,
    add_UnityToExternalServicer_to_server,
)
from unityagents import UnityEnvironment as GenuineUnityEnvironment
from unityagents.exception import UnityEnvironmentException
from unityagents.rpc_communicator import RpcCommunicator, UnityToExternalServicerImplementation

WORKER_ID_VARIABLE = "REACHER_WORKER_ID"  # the default worker_id, if set
POLL_S = 0.25  # how often a waiting call checks that the simulator is still alive
HANDSHAKE_S = 30  # how long the simulator may take to greet us, as in the genuine client
ANSWER_TIMEOUT_VARIABLE = "REACHER_ANSWER_TIMEOUT_S"  # how long to wait for one answer
ANSWER_TIMEOUT_S = 120.0  # its default: a step takes milliseconds, a loaded machine seconds
MAX_COMMAND_BYTES = 4 * 1024 * 1024  # gRPC's default receive limit, the simulator's
STATUS_OK, STATUS_QUIT = 200, 400


class SessionError(UnityEnvironmentException, RuntimeError):
    """This process cannot talk to the simulator as asked; the message says what to do.

    Also a RuntimeError, so that callers that report runtime errors (train.py) report it.
    """


class SimulatorError(SessionError):
    """The simulator refused a command (bad actions or reset parameters); the session goes on."""


class SimulatorDiedError(SessionError):
    """The simulator process is gone: this environment can never answer again."""


class SimulatorTimeoutError(SessionError):
    """The simulator is alive but has not answered in time (stopped, or starved of CPU)."""


def _from_environment(variable: str, default: float, kind: type, allowed: str, ok) -> float:
    """``$variable`` read as ``kind``, or ``default`` where it is unset; a ``SessionError``
    naming ``allowed`` where it does not parse or ``ok(value)`` is false."""
    text = os.environ.get(variable)
    if text is None:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not ok(value):
        raise SessionError(f"{variable} must be {allowed}, got {text!r}")
    return value


def answer_timeout_s() -> float:
    """``$REACHER_ANSWER_TIMEOUT_S`` if set (seconds > 0), else ``ANSWER_TIMEOUT_S``."""
    return _from_environment(
        ANSWER_TIMEOUT_VARIABLE, ANSWER_TIMEOUT_S, float, "a number of seconds > 0", lambda v: v > 0
    )


def _describe_exit(process: subprocess.Popen) -> str:
    status = process.returncode
    if status < 0:
        return f"was killed by signal {signal.Signals(-status).name}"
    return f"exited with status {status}"


class _ClientEnd:
    """The client's end of the channel to the gRPC handler, in place of the genuine pipe.

    The same `send`, `recv`, `poll` and `close` as the pipe's end (the genuine `close()` uses
    them), but messages pass as objects through two queues, and every command gets a number
    that comes back with its answer (`recv_numbered`), so that a caller interrupted while it
    waits leaves nothing that a later caller could take for its own answer.
    """

    def __init__(self, commands: queue.SimpleQueue, answers: queue.SimpleQueue) -> None:
        self._commands, self._answers = commands, answers
        self._numbered = 0
        self._arrived: tuple | None = None  # an answer taken from the queue by poll()

    def send(self, message: UnityMessage) -> int:
        """Send a command; return its number."""
        self._numbered += 1
        self._commands.put((self._numbered, message))
        return self._numbered

    def poll(self, timeout: float = 0.0) -> bool:
        """Is an answer there, waiting up to ``timeout`` seconds for one?"""
        if self._arrived is None:
            try:
                self._arrived = self._answers.get(timeout=timeout)
            except queue.Empty:
                return False
        return True

    def recv_numbered(self) -> tuple[int, UnityMessage]:
        """The next answer and the number of the command it answers (0: the greeting)."""
        if self._arrived is None:
            return self._answers.get()
        arrived, self._arrived = self._arrived, None
        return arrived

    def recv(self) -> UnityMessage:
        return self.recv_numbered()[1]

    def close(self) -> None:
        """Nothing to release (the genuine `close()` closes its pipe here)."""


class _HandlerEnd:
    """The gRPC handler's end: it sends each message of the simulator, which answers the
    command it last received, and receives the next command (the genuine handler's calls)."""

    def __init__(self, commands: queue.SimpleQueue, answers: queue.SimpleQueue) -> None:
        self._commands, self._answers = commands, answers
        self._answering = 0  # the number of the command the simulator's next message answers

    def send(self, message: UnityMessage) -> None:
        self._answers.put((self._answering, message))

    def recv(self) -> UnityMessage:
        self._answering, command = self._commands.get()
        return command


class _DaemonExecutor(Executor):
    """Runs each gRPC call in a daemon thread of its own.

    The genuine client's server uses a `ThreadPoolExecutor`, whose threads Python joins at
    exit before it runs the client's `atexit` close; the handler that waits for the next
    command then never returns, and a script that ends without `close()` hangs (pitfall 5).
    The simulator makes one call at a time, so a thread per call is no cost.
    """

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()

        def run() -> None:
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args, **kwargs))
                except BaseException as error:
                    future.set_exception(error)

        threading.Thread(target=run, name="unity-grpc", daemon=True).start()
        return future


class _Communicator(RpcCommunicator):
    """The genuine gRPC communicator, with an `exchange` that survives Ctrl-C and a dead peer.

    The genuine `exchange` sends the command through a pipe and blocks reading the answer; a
    Ctrl-C during the read leaves the answer in the pipe for the next command to read. Here the
    gRPC handler talks to us through `_ClientEnd` and `_HandlerEnd`, which number each command
    and hand back each answer with its command's number. The caller waits for its own number in
    short slices, checking the simulator process in between, and drops the answers of commands
    whose caller was interrupted.
    """

    def __init__(self, worker_id: int, base_port: int, environment: "UnityEnvironment") -> None:
        super().__init__(worker_id, base_port)
        self._environment = environment  # its proc1, the simulator, is set after we are made

    def initialize(self, inputs: UnityInput) -> UnityOutput:
        """The genuine handshake, failing fast and leaving nothing behind.

        A port another environment listens on is refused up front, and a simulator that dies
        before greeting us is reported within a quarter second, where the genuine client waits
        its 30 s and then blames the build. If the open fails or is interrupted (Ctrl-C),
        `UnityEnvironment` calls `_abandon`.
        """
        self._refuse_a_busy_port()
        return self._handshake(inputs)

    def _refuse_a_busy_port(self) -> None:
        for host in ("127.0.0.1", "::1"):
            with contextlib.suppress(OSError), socket.create_connection((host, self.port), 0.5):
                raise SessionError(
                    f"port {self.port} (worker_id {self.worker_id}) is in use: another "
                    "environment listens on it. Close that one, or pass another worker_id."
                )

    def _handshake(self, inputs: UnityInput) -> UnityOutput:
        """RpcCommunicator.initialize, waiting in slices and watching the simulator."""
        self.server = grpc.server(_DaemonExecutor())
        self.unity_to_external = UnityToExternalServicerImplementation()
        # Instance attributes, in place of the pipe the genuine class shares between instances.
        commands, answers = queue.SimpleQueue(), queue.SimpleQueue()
        self.unity_to_external.parent_conn = _ClientEnd(commands, answers)
        self.unity_to_external.child_conn = _HandlerEnd(commands, answers)
        add_UnityToExternalServicer_to_server(self.unity_to_external, self.server)
        self.server.add_insecure_port(f"[::]:{self.port}")
        self.server.start()
        connection = self.unity_to_external.parent_conn
        deadline = time.monotonic() + HANDSHAKE_S
        while not connection.poll(POLL_S):
            self._check_simulator(opening=True)
            if time.monotonic() > deadline:
                raise SessionError(
                    f"the simulator did not answer on port {self.port} within {HANDSHAKE_S} s"
                )
        academy = connection.recv().unity_output
        self.is_open = True
        message = UnityMessage()
        message.header.status = STATUS_OK
        message.unity_input.CopyFrom(inputs)
        connection.send(message)
        connection.recv()
        return academy

    def _abandon(self) -> None:
        """Undo a failed open: no simulator, no server on the port, nothing left in the channel,
        so that the next open in this process starts clean."""
        process = self._environment.proc1
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        if self.server is not None:
            self.server.stop(None)
        if self.unity_to_external is not None:
            connection = self.unity_to_external.parent_conn
            while connection.poll():  # a late greeting: answer it so its handler thread ends
                connection.recv()
                quit_message = UnityMessage()
                quit_message.header.status = STATUS_QUIT
                connection.send(quit_message)
        self.is_open = False

    def exchange(self, inputs: UnityInput) -> UnityOutput:
        message = UnityMessage()
        message.header.status = STATUS_OK
        message.unity_input.CopyFrom(inputs)
        if (size := message.ByteSize()) > MAX_COMMAND_BYTES:  # gRPC would kill the simulator
            raise SimulatorError(
                f"the command is {size} bytes, more than the {MAX_COMMAND_BYTES} that gRPC "
                "delivers to the simulator (memory or text actions too large?); nothing was "
                "sent, and the environment goes on"
            )
        connection = self.unity_to_external.parent_conn
        number = connection.send(message)
        timeout = answer_timeout_s()
        deadline = time.monotonic() + timeout
        while True:
            if not connection.poll(POLL_S):
                self._check_simulator()
                if time.monotonic() > deadline:
                    raise SimulatorTimeoutError(
                        f"the simulator has not answered for {timeout:g} s "
                        "(stopped, or starved of CPU?). If it "
                        "recovers, the next call goes on (this answer is dropped); otherwise "
                        f"call env.close(). ${ANSWER_TIMEOUT_VARIABLE} sets the wait."
                    )
                continue
            answered, answer = connection.recv_numbered()
            if answered == number:  # earlier numbers: answers nobody waits for any more
                break
        if answer.header.status != STATUS_OK:  # the genuine client raises KeyboardInterrupt
            raise SimulatorError(
                f"the simulator refused the command (status {answer.header.status}): "
                f"{answer.header.message or 'no message'}; the environment goes on"
            )
        return answer.unity_output

    def _check_simulator(self, opening: bool = False) -> None:
        """Raise `SimulatorDiedError` if the simulator process has exited."""
        process = self._environment.proc1  # None when attached to the Unity editor
        if process is None or process.poll() is None:
            return
        died = f"the simulator {process.args[0]} (pid {process.pid}) {_describe_exit(process)}"
        if opening:
            raise SimulatorDiedError(
                f"{died} before it answered: its own error message, on stderr, says why"
            )
        raise SimulatorDiedError(
            f"{died}, so this environment will never answer again. "
            "Call env.close(), then open a new environment in a new process (in Jupyter: "
            "restart the kernel; unityagents opens one environment per process)."
        )


def default_worker_id() -> int:
    """``$REACHER_WORKER_ID`` if set, else 0 (port 5005), the genuine client's default.

    Lets two notebooks, or a notebook and a test run, open environments side by side without
    editing the course's ``UnityEnvironment(file_name=...)`` line.
    """
    return _from_environment(WORKER_ID_VARIABLE, 0, int, "an int >= 0", lambda v: v >= 0)


class UnityEnvironment(GenuineUnityEnvironment):
    """`unityagents.UnityEnvironment` with clear errors instead of silent failures (see above).

    Raises `SessionError` if this process already has an environment open, or had one and
    closed it: the genuine client shares one pipe between all of them (docs/protocol.md,
    pitfall 6), so a second one would cross-wire with the first or fail obscurely. This class
    gives each environment a channel of its own, but keeps the genuine client's rule, so that a
    notebook that runs with it also runs with `unityagents.UnityEnvironment`.
    """

    _open_worker_id: ClassVar[int | None] = None  # the environment open in this process
    _closed_one: ClassVar[bool] = False  # one was opened and closed (the genuine pipe is gone)

    def __init__(
        self, file_name: str | None = None, worker_id: int | None = None, **kwargs
    ) -> None:
        if worker_id is None:  # the genuine default 0, unless the environment names another
            worker_id = default_worker_id()
        if UnityEnvironment._open_worker_id is not None:
            raise SessionError(
                f"an environment (worker_id {UnityEnvironment._open_worker_id}) is already open "
                f"in this process, so worker_id {worker_id} is refused: unityagents shares one "
                "pipe between the environments of a process and they would cross-wire. Keep "
                "using the open one, or close() it and open the next in a new process (in "
                "Jupyter: restart the kernel)."
            )
        if UnityEnvironment._closed_one:
            raise SessionError(
                "this process already closed an environment, and unityagents cannot open another "
                "one after that (its shared pipe is closed): open it in a new process (in "
                "Jupyter: restart the kernel)."
            )
        try:
            super().__init__(file_name, worker_id, **kwargs)
        except BaseException:  # an error, or a Ctrl-C at any point of the open
            if (communicator := getattr(self, "communicator", None)) is not None:
                communicator._abandon()
            raise
        UnityEnvironment._open_worker_id = worker_id

    def get_communicator(self, worker_id: int, base_port: int) -> _Communicator:
        return _Communicator(worker_id, base_port, self)

    def _close(self) -> None:
        # Called by close(), at exit, and by the genuine constructor when starting fails.
        if self.communicator.is_open:
            UnityEnvironment._open_worker_id = None
            UnityEnvironment._closed_one = True
        super()._close()
