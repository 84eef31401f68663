"""A run's snapshot: everything needed to continue it, in one file that is replaced as a whole.

``save_snapshot(directory, agent, episodes, env)`` writes ``directory/snapshot.pt``: the
agent's whole training state (``Agent.training_state``: networks, Adam, noise, the replay
buffer, every random generator, the counters), how many episodes the run has finished and,
where the environment can say it (the in-process simulator), its random generator, from which
every later episode's goals follow. The file is one line with the SHA-256 of the payload, then
the payload (``torch.save``). It replaces the previous snapshot with one ``os.replace``, so a
kill, a full disk or a Ctrl-C during a save leave the previous snapshot whole, and
``load_snapshot`` refuses a file whose bytes do not match their digest before unpickling them.

Size: the replay buffer dominates, 292 bytes per stored transition, about 290 MB once the
default 1e6-transition buffer is full (after 50 episodes of 20 arms).
"""

import hashlib
import io
from pathlib import Path
from typing import Any

import torch

from ddpg_agent import Agent, CheckpointError, atomic_write

SNAPSHOT_FILE = "snapshot.pt"
FORMAT = 1  # bumped when the payload's layout changes; older files are refused by name


def save_snapshot(directory: Path, agent: Agent, episodes: int, env: object) -> Path:
    """Write the snapshot of a run that has finished ``episodes`` episodes; return its path.

    Raises ``DivergedError`` (and keeps the previous snapshot) if a network holds NaN.
    """
    payload = {
        "format": FORMAT,
        "episodes": episodes,
        "agent": agent.training_state(),
        "env_rng": getattr(env, "rng_state", None),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    data = buffer.getvalue()
    path = Path(directory) / SNAPSHOT_FILE
    atomic_write([hashlib.sha256(data).hexdigest().encode() + b"\n", data], path)
    return path


def load_snapshot(path: Path) -> dict[str, Any]:
    """The payload of a snapshot file, checked: ``CheckpointError`` says what is wrong."""
    raw = Path(path).read_bytes()
    digest, newline, data = raw.partition(b"\n")
    if not newline or hashlib.sha256(data).hexdigest().encode() != digest:
        raise CheckpointError(f"{path} is corrupted (its contents do not match their SHA-256)")
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as e:
        raise CheckpointError(f"{path} is not a readable snapshot: {e}") from e
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a snapshot of format {FORMAT}")
    return payload


def restore_snapshot(path: Path, agent: Agent, env: object) -> int:
    """Load a snapshot into the agent (same config and sizes) and the environment; return
    the number of episodes the run had finished when it was written."""
    payload = load_snapshot(path)
    try:
        agent.load_training_state(payload["agent"])
    except (KeyError, RuntimeError, ValueError) as e:  # load_state_dict's shape errors
        raise CheckpointError(f"{path} does not fit this agent: {e}") from e
    if payload["env_rng"] is not None and hasattr(env, "rng_state"):
        env.rng_state = payload["env_rng"]
    return int(payload["episodes"])
