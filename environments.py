"""The 20-arm Reacher as the training loop sees it: in-process, or through ``unityagents``.

Every environment speaks one contract, ``EpisodicEnv``: ``reset()`` returns all arms' states and
``step(actions)`` a ``reacher.sim.StepResult``, gymnasium's terminated/truncated flags plus the
observations an episode ended on. ``reacher.sim.ReacherSim`` speaks it as it is; ``UnityEnv``
converts the genuine client's answers to it. ``open_env`` opens either by name.
"""

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from reacher import NUM_AGENTS
from reacher.sim import ReacherSim, StepResult

UNITY_EXECUTABLE = Path(__file__).resolve().parent / "Reacher_Linux" / "Reacher.x86_64"


class EpisodicEnv(Protocol):
    """The few things the training loop needs from an environment of ``num_agents`` arms."""

    num_agents: int
    state_size: int
    action_size: int

    def reset(self) -> np.ndarray:
        """Start an episode; return the states, (num_agents, state_size)."""
        ...

    def step(self, actions: np.ndarray) -> StepResult:
        """Act for every arm. When an episode ends (terminated or truncated), ``observations``
        may already be the next episode's; then ``final_observations`` are the true successor
        states, or None if the environment cannot tell."""
        ...


class UnityEnv:
    """``EpisodicEnv`` over a ``unityagents.UnityEnvironment`` (its first brain); pass the one
    of ``unity_session``, which keeps the session in step after a Ctrl-C and raises clear errors.

    The genuine client reports ``local_done`` and ``max_reached`` (the time limit) and sends
    the next episode's reset state with them, never the final state: so ``truncated`` is
    ``max_reached``, ``terminated`` any other done, and ``final_observations`` is None (the
    trainer then skips that one transition). Uses only ``brain_names``, ``brains``, ``reset``
    and ``step`` of the client.
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
        done = np.asarray(info.local_done, dtype=bool)
        time_limit = np.asarray(info.max_reached, dtype=bool)
        return StepResult(
            observations=np.asarray(info.vector_observations, dtype=np.float32),
            rewards=np.asarray(info.rewards, dtype=np.float32),
            terminated=done & ~time_limit,
            truncated=done & time_limit,
            final_observations=None,
        )


@contextlib.contextmanager
def open_env(
    kind: str, seed: int, worker_id: int = 0, train_mode: bool = True
) -> Iterator[EpisodicEnv]:
    """The 20-arm Reacher as an ``EpisodicEnv``: in-process (``"sim"``) or ``"unity"``.

    ``"unity"`` starts ``Reacher_Linux/Reacher.x86_64`` through the genuine client (wrapped by
    ``unity_session``: clear errors instead of a desynchronised or hung session) on port
    5005 + ``worker_id`` and closes it on the way out: without ``close()`` the interpreter
    hangs at exit (docs/protocol.md, pitfall 5).
    """
    if kind == "sim":
        yield ReacherSim(num_agents=NUM_AGENTS, seed=seed)
        return
    if kind != "unity":
        raise ValueError(f"unknown environment {kind!r}: 'sim' or 'unity'")
    from unity_session import UnityEnvironment  # only on this path: it is slow and noisy

    with open_unity(UnityEnvironment, seed, worker_id, train_mode) as env:
        yield env


@contextlib.contextmanager
def open_unity(
    client: type, seed: int, worker_id: int = 0, train_mode: bool = True
) -> Iterator[UnityEnv]:
    """``Reacher_Linux/Reacher.x86_64`` through ``client``, a ``UnityEnvironment`` class (the
    genuine one or ``unity_session``'s), on port 5005 + ``worker_id``; closed on the way out."""
    unity = client(
        file_name=str(UNITY_EXECUTABLE), no_graphics=True, seed=seed, worker_id=worker_id
    )
    try:
        yield UnityEnv(unity, train_mode=train_mode)
    finally:
        unity.close()
