"""Ports for the tests that open the Reacher executable, free of clashes.

The genuine client listens on port 5005 + worker_id, and gRPC binds it with SO_REUSEPORT, so
two clients on one port both "succeed" and one waits out its 30 s timeout (docs/protocol.md,
pitfall 7). Fixed worker ids clash when two test runs share a machine. Here each test that
opens an environment gets a worker id whose port nobody uses, and keeps it *reserved* while
it runs: a socket bound to the port with SO_REUSEPORT, never listening. The client's gRPC
server can still bind beside it (same user, SO_REUSEPORT), while another run's probe, which
binds without SO_REUSEPORT, finds the port taken and moves on.

The notebooks (nbval, and the watch test) open their environment with the default worker id;
``REACHER_WORKER_ID`` (read by ``unity_session.UnityEnvironment``) points them at a reserved
port for the whole session.
"""

import os
import random
import socket

import pytest

BASE_PORT = 5005
WORKER_IDS = range(200, 4000)  # ports 5205-9004: below Linux's ephemeral range (32768-)


def _reserve(worker_id: int) -> socket.socket | None:
    """A socket holding port 5005 + worker_id if nobody else has it, else None."""
    port = BASE_PORT + worker_id
    probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)  # dual stack, as gRPC's [::]
    try:
        probe.bind(("::", port))  # fails if any socket has the port, reserved or listening
    except OSError:
        return None
    finally:
        probe.close()
    holder = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        holder.bind(("::", port))
    except OSError:  # taken between the probe and now
        holder.close()
        return None
    return holder


class PortReservations:
    """Hands out reserved worker ids; ``release`` frees them all."""

    def __init__(self) -> None:
        self._held: list[socket.socket] = []
        self._rng = random.Random()  # not the tests' seeds: parallel runs must differ

    def worker_id(self) -> int:
        for _ in range(200):
            candidate = self._rng.choice(WORKER_IDS)
            if (holder := _reserve(candidate)) is not None:
                self._held.append(holder)
                return candidate
        raise RuntimeError(
            f"no free port among {BASE_PORT + WORKER_IDS[0]}-{BASE_PORT + WORKER_IDS[-1]}"
        )

    def release(self) -> None:
        for holder in self._held:
            holder.close()
        self._held.clear()


_SESSION = PortReservations()


def pytest_configure(config) -> None:
    os.environ.setdefault("REACHER_QUICK", "1")  # short mode, as `make test` runs the suite
    # Before nbval starts the notebooks' kernels, which inherit the environment.
    os.environ.setdefault("REACHER_WORKER_ID", str(_SESSION.worker_id()))


def pytest_unconfigure(config) -> None:
    _SESSION.release()


@pytest.fixture
def free_worker_id():
    """Call it for a worker id whose port is reserved for this test."""
    reservations = PortReservations()
    yield reservations.worker_id
    reservations.release()
