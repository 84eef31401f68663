"""The Unity side of the ML-Agents 0.4 ("API-4") protocol, serving ReacherSim to `unityagents`.

`Reacher_Linux/Reacher.x86_64` runs `python -m reacher.unity_server --port N`. The Python
client (`unityagents.UnityEnvironment`) is the gRPC *server*; we connect to it, send the
academy description, and from then on every `Exchange` call carries our latest output and
returns the client's next command (docs/protocol.md, The conversation).
"""

import argparse
import os
import signal
import sys
import threading
import time

import grpc
import numpy as np

from reacher import ACTION_SIZE, DEFAULT_RESET_PARAMETERS, NUM_AGENTS, OBSERVATION_SIZE, wire
from reacher.sim import ReacherSim

# The brain of the Udacity build, as print(env) shows it (docs/environment.md).
BRAIN_NAME = "ReacherBrain"
DEFAULT_BASE_PORT = 5005  # UnityEnvironment's default; its port is base_port + worker_id
EXCHANGE = "/communicator_objects.UnityToExternal/Exchange"
CONNECT_TIMEOUT_S = 30.0  # the client itself gives up after 30 s without our first message
OWNER_GRACE_S = 2.0  # how long to wait for our parent's listening socket before just counting


def _log(message: str) -> None:
    print(f"Reacher.x86_64: {message}", file=sys.stderr, flush=True)


def _exit_when_orphaned(client_pid: int) -> None:
    """Exit as soon as our parent (the client) is gone, even if it was SIGKILLed mid-call."""

    def watch() -> None:
        while os.getppid() == client_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _listening_sockets(port: int) -> set[str]:
    """Inodes of the TCP sockets (IPv4 and IPv6) in LISTEN state on `port`."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = [line.split() for line in f.readlines()[1:]]
        except OSError:
            continue
        for row in rows:
            if row[3] == "0A" and int(row[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(row[9])
    return inodes


def _sockets_of(pid: int) -> set[str]:
    """Inodes of the sockets process `pid` has open (empty if we may not look)."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def _other_listeners(port: int, client_pid: int) -> int:
    """How many servers besides our client's listen on `port`.

    gRPC binds with SO_REUSEPORT, so a second client on the same port binds too and each new
    connection goes to one of them at random (docs/protocol.md, pitfall 7). We are started before
    our client listens, so we first wait for our parent's socket to show up; if the parent is
    not the client (started by hand or by a wrapper), we fall back to counting listeners.
    """
    deadline = time.monotonic() + OWNER_GRACE_S
    while True:
        listening = _listening_sockets(port)
        ours = listening & _sockets_of(client_pid)
        if ours:
            return len(listening - ours)
        if time.monotonic() > deadline:
            return max(len(listening) - 1, 0)
        time.sleep(0.01)


class _SimulatorError(Exception):
    """The simulator rejected a command; reported to the client as a non-200 status."""


def serve(port: int) -> int:
    """Plays one Unity session on `port`; returns the process exit status."""
    channel = grpc.insecure_channel(f"localhost:{port}")
    exchange = channel.unary_unary(EXCHANGE)  # no (de)serialisers: raw bytes both ways
    init = wire.encode_initialization(
        BRAIN_NAME, OBSERVATION_SIZE, ACTION_SIZE, DEFAULT_RESET_PARAMETERS
    )
    encoder = wire.StepEncoder(BRAIN_NAME, NUM_AGENTS, OBSERVATION_SIZE, ACTION_SIZE)
    try:
        reply = wire.decode_input(exchange(init, wait_for_ready=True, timeout=CONNECT_TIMEOUT_S))
        if reply.status != wire.STATUS_OK:
            return 0
        # The seed is UnityEnvironment(seed=...), sent in the handshake answer.
        sim = ReacherSim(num_agents=NUM_AGENTS, seed=reply.seed or 0)
        output = wire.encode_status(wire.STATUS_OK)  # mandatory, read and dropped by the client
        while True:
            command = wire.decode_input(exchange(output))
            if command.status != wire.STATUS_OK or command.command == wire.COMMAND_QUIT:
                return 0  # close() sends status 400, then SIGKILLs us
            try:
                output = _answer(sim, encoder, command)
            except _SimulatorError as error:
                # The client turns a non-200 answer into KeyboardInterrupt in reset()/step() (it
                # shows no message, hence the log). We stay in step with it: its next reset()
                # or step() is the reply to this answer.
                _log(f"{error}; answering with status 500")
                output = wire.encode_status(500, str(error))
    except grpc.RpcError as error:
        _log(f"exchange with the Python client on port {port} failed ({error.code().name})")
        return 1
    finally:
        channel.close()


def _answer(sim: ReacherSim, encoder: wire.StepEncoder, command: wire.UnityInput) -> bytes:
    """Runs one RESET or STEP on `sim` and encodes the resulting observations."""
    n = NUM_AGENTS
    try:
        if command.command == wire.COMMAND_RESET:
            observations = sim.reset(command.reset_parameters)  # {} keeps the sticky ones
            actions = np.zeros((n, ACTION_SIZE), np.float32)
            rewards = np.zeros(n, np.float32)
            dones, max_reached = np.zeros(n, bool), np.zeros(n, bool)
        else:
            actions = command.actions.get(BRAIN_NAME)
            if actions is None:
                raise _SimulatorError(f"STEP without actions for brain {BRAIN_NAME!r}")
            step = sim.step(actions)
            observations, rewards = step.observations, step.rewards
            dones, max_reached = step.terminated | step.truncated, step.truncated
    except (ValueError, RuntimeError) as error:  # bad input, step before reset, MuJoCo blew up
        # Answered, never fatal: a dead simulator would leave the genuine client waiting.
        raise _SimulatorError(f"simulator error: {error}") from error
    return encoder.encode(
        observations, actions.reshape(n, ACTION_SIZE), rewards, dones, max_reached
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=DEFAULT_BASE_PORT)
    # Unity players also get e.g. `-nographics -batchmode` (no_graphics=True): accept and ignore.
    args, _ = parser.parse_known_args(argv)
    # A Jupyter "interrupt kernel" signals the kernel's whole process group, us included, and
    # the client would then wait forever for an answer that never comes. (The launcher
    # Reacher.x86_64 already ignores SIGINT, which also covers the imports above.)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    client_pid = os.getppid()
    _exit_when_orphaned(client_pid)
    if _other_listeners(args.port, client_pid):
        _log(
            f"another Python client is already listening on port {args.port} "
            f"(worker_id {args.port - DEFAULT_BASE_PORT} with the default base_port "
            f"{DEFAULT_BASE_PORT}): its environment is still open. Close it or pass a different "
            f"worker_id to UnityEnvironment. Not connecting, so as not to cross-wire with it."
        )
        return 2
    return serve(args.port)


if __name__ == "__main__":
    sys.exit(main())
