"""The genuine `unityagents.UnityEnvironment`, made safe where this project calls it.

The 2018 client (unchanged on disk) can lose work silently in four ways:

1. A Ctrl-C while it waits for the simulator's answer leaves that answer in its pipe, and every
   later `step()`/`reset()` returns the answer to the command before it.
2. If the simulator process dies, `step()`/`reset()` wait forever (docs/protocol.md, pitfall 8).
3. A simulator error (status 500, e.g. NaN actions) is raised as a bare `KeyboardInterrupt`,
   indistinguishable from the user's Ctrl-C.
4. A second environment in the same process shares the first one's pipe and cross-wires with it
   (pitfall 6); after `close()` no other one can open.

`UnityEnvironment` below is a drop-in subclass (same arguments, same methods) that fixes these:
an interrupted command's answer is collected and dropped before the next command, so every call
answers its own command; a dead simulator raises `SimulatorDiedError` within a second; a refused
command raises `SimulatorError` with the simulator's message; a second environment in the
process is refused up front with `SessionError`. It overrides only the client's hooks
(`get_communicator`, `_close`) and the communicator's `exchange`. One addition: without a
`worker_id` argument it takes `$REACHER_WORKER_ID` (default 0), so a second notebook or a test
run can use another port without editing the course's code.
"""

import os
import queue
import signal
import subprocess
import threading
from typing import ClassVar

from communicator_objects import UnityInput, UnityMessage, UnityOutput
from unityagents import UnityEnvironment as GenuineUnityEnvironment
from unityagents.exception import UnityEnvironmentException
from unityagents.rpc_communicator import RpcCommunicator

WORKER_ID_VARIABLE = "REACHER_WORKER_ID"  # the default worker_id, if set
POLL_S = 0.25  # how often a waiting call checks that the simulator is still alive
STATUS_OK = 200


class SessionError(UnityEnvironmentException, RuntimeError):
    """This process cannot talk to the simulator as asked; the message says what to do.

    Also a RuntimeError, so that callers that report runtime errors (train.py) report it.
    """


class SimulatorError(SessionError):
    """The simulator refused a command (bad actions or reset parameters); the session goes on."""


class SimulatorDiedError(SessionError):
    """The simulator process is gone: this environment can never answer again."""


def _describe_exit(process: subprocess.Popen) -> str:
    status = process.returncode
    if status < 0:
        return f"was killed by signal {signal.Signals(-status).name}"
    return f"exited with status {status}"


class _Communicator(RpcCommunicator):
    """The genuine gRPC communicator, with an `exchange` that survives Ctrl-C and a dead peer.

    The genuine `exchange` sends the command through a pipe and blocks reading the answer; a
    Ctrl-C during the read leaves the answer in the pipe for the next command to read. Here a
    courier thread does the sending and reading (Python raises `KeyboardInterrupt` only in the
    main thread, so the courier never stops half-way) and hands back each answer with the number
    of its command. The caller waits for its own number in short slices, checking the simulator
    process in between, and drops the answers of commands whose caller was interrupted.
    """

    def __init__(self, worker_id: int, base_port: int, environment: "UnityEnvironment") -> None:
        super().__init__(worker_id, base_port)
        self._environment = environment  # its proc1, the simulator, is set after we are made
        self._commands: queue.SimpleQueue = queue.SimpleQueue()  # (number, UnityMessage)
        self._answers: queue.SimpleQueue = queue.SimpleQueue()  # (number, answer or error)
        self._numbered = 0
        threading.Thread(target=self._carry, name="unity-courier", daemon=True).start()

    def exchange(self, inputs: UnityInput) -> UnityOutput:
        self._numbered += 1
        number = self._numbered
        message = UnityMessage()
        message.header.status = STATUS_OK
        message.unity_input.CopyFrom(inputs)
        self._commands.put((number, message))
        answered = None
        while answered != number:  # earlier numbers: answers nobody waits for any more
            try:
                answered, answer = self._answers.get(timeout=POLL_S)
            except queue.Empty:
                self._check_simulator()
        if isinstance(answer, Exception):
            raise SessionError(f"the connection to the simulator broke: {answer!r}")
        if answer.header.status != STATUS_OK:  # the genuine client raises KeyboardInterrupt
            raise SimulatorError(
                f"the simulator refused the command (status {answer.header.status}): "
                f"{answer.header.message or 'no message'}; the environment goes on"
            )
        return answer.unity_output

    def _carry(self) -> None:
        """The courier: send each command, read its answer, hand both back (runs forever)."""
        while True:
            number, message = self._commands.get()
            try:
                connection = self.unity_to_external.parent_conn  # set by initialize()
                connection.send(message)
                answer = connection.recv()
            except Exception as error:  # e.g. the pipe closed under us: the caller raises it
                answer = error
            self._answers.put((number, answer))

    def _check_simulator(self) -> None:
        """Raise `SimulatorDiedError` if the simulator process has exited."""
        process = self._environment.proc1  # None when attached to the Unity editor
        if process is not None and process.poll() is not None:
            raise SimulatorDiedError(
                f"the simulator {process.args[0]} (pid {process.pid}) "
                f"{_describe_exit(process)}, so this environment will never answer again. "
                "Call env.close(), then open a new environment in a new process (in Jupyter: "
                "restart the kernel; unityagents opens one environment per process)."
            )


def default_worker_id() -> int:
    """``$REACHER_WORKER_ID`` if set, else 0 (port 5005), the genuine client's default.

    Lets two notebooks, or a notebook and a test run, open environments side by side without
    editing the course's ``UnityEnvironment(file_name=...)`` line.
    """
    text = os.environ.get(WORKER_ID_VARIABLE, "0")
    try:
        worker_id = int(text)
    except ValueError:
        worker_id = -1
    if worker_id < 0:
        raise SessionError(f"{WORKER_ID_VARIABLE} must be an int >= 0, got {text!r}")
    return worker_id


class UnityEnvironment(GenuineUnityEnvironment):
    """`unityagents.UnityEnvironment` with clear errors instead of silent failures (see above).

    Raises `SessionError` if this process already has an environment open, or had one and
    closed it: the genuine client shares one pipe between all of them (docs/protocol.md,
    pitfall 6), so a second one would cross-wire with the first or fail obscurely.
    """

    _open_worker_id: ClassVar[int | None] = None  # the environment open in this process
    _closed_one: ClassVar[bool] = False  # one was opened and closed: its pipe is gone

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
        super().__init__(file_name, worker_id, **kwargs)
        UnityEnvironment._open_worker_id = worker_id

    def get_communicator(self, worker_id: int, base_port: int) -> _Communicator:
        return _Communicator(worker_id, base_port, self)

    def _close(self) -> None:
        # Called by close(), at exit, and by the genuine constructor when starting fails.
        if self.communicator.is_open:
            UnityEnvironment._open_worker_id = None
            UnityEnvironment._closed_one = True
        super()._close()
