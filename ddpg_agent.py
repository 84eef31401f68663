"""DDPG for many arms at once: the config, the agent and its update, then the agent's parts.

Read top to bottom: ``DDPGConfig`` holds every hyper-parameter with its meaning; ``Agent``
acts for all arms in one batch, stores their transitions and learns (``learn`` ->
``update_critic`` -> ``update_actor`` -> ``soft_update``). Its parts follow: ``ReplayBuffer``,
one pre-allocated ring shared by all arms; ``OUNoise``, one independent exploration process
per arm; ``NStepAccumulator``, which turns 1-step transitions into n-step ones. Checkpoint
files and input checks come last.

The agent knows nothing of Unity. Transitions carry TRUE terminal flags only: Reacher has no
terminal states, and its 1001-step time limit is a truncation whose successor value is
bootstrapped (the training loop passes the true final observation as ``next_states``).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import math
import numbers
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from compiled_update import CompiledUpdate, unsupported
from model import Actor, Critic

ACTOR_FILE = "checkpoint_actor.pth"
CRITIC_FILE = "checkpoint_critic.pth"
CRITIC2_FILE = "checkpoint_critic2.pth"  # written only with twin_critics=True
CHECKSUM_FILE = "checksums.sha256"  # `sha256sum -c` format, written after each save's files


Rule = tuple[str, Callable[[Any], bool]]  # (what is allowed, in words; the check)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


POSITIVE: Rule = ("a finite number > 0", lambda v: _is_number(v) and v > 0)
NON_NEGATIVE: Rule = ("a finite number >= 0", lambda v: _is_number(v) and v >= 0)
UNIT: Rule = ("a number in [0, 1]", lambda v: _is_number(v) and 0 <= v <= 1)
RATE: Rule = ("a number in (0, 1]", lambda v: _is_number(v) and 0 < v <= 1)
OPTIONAL_POSITIVE: Rule = ("None or a finite number > 0", lambda v: v is None or POSITIVE[1](v))
COUNT: Rule = ("an int >= 1", lambda v: _is_int(v) and v >= 1)
FLAG: Rule = ("true or false", lambda v: isinstance(v, bool))
WIDTHS: Rule = (
    "two ints >= 1, e.g. 256,128",
    lambda v: isinstance(v, tuple) and len(v) == 2 and all(_is_int(h) and h >= 1 for h in v),
)


def _setting(default: Any, meaning: str, allowed: Rule) -> Any:
    """A config field that carries its meaning and its allowed values, checked on creation."""
    return field(default=default, metadata={"help": meaning, "allowed": allowed})


@dataclass(frozen=True)
class DDPGConfig:
    """Every hyper-parameter of the agent. Defaults: the configuration of the committed results.

    They are the baseline recipe this project started from (``BASELINE_RECIPE`` in
    ``studies/summarize_experiments.py``) with changes measured in ``results/experiments/``
    and the 5-seed studies in ``results/`` (the Report's "What made it fast"): one update per
    env step instead of 10 every 20 (as fast to learn per episode as two, at half the cost),
    5-step returns, tau 5e-3 instead of 1e-3, gamma 0.95 instead of 0.99 (faster early
    learning; 0.9 was slower), OU noise shrinking by 2 % per episode to a floor of a quarter,
    so that the trained arms are less disturbed once they follow their goals, and the critic
    taking the action at its input rather than at its second layer (first episode scoring 30
    at a median of 19 instead of 29 on five seeds: ``results/solve_critic_action_input/``
    against ``results/solve_action_at_second_layer/``), and then learning rates of 2e-3
    instead of 1e-3 with PyTorch's initialisation of the output layers instead of DDPG's
    ±3e-3 (a median of 14 instead of 20 on the same seeds: ``results/solve/`` against
    ``results/solve_lr1e3_output_init_3e-3/``). (Without the noise floor, on the
    simulator's earlier exact dynamics, that decay left one seed of five unsolved after 250
    episodes: ``results/experiments/decay098_seed*/``.) The extensions at the end are off
    (neutral) by default, so the default agent is DDPG as the Report describes it. Each field's
    ``metadata["help"]`` says what it means and ``metadata["allowed"]`` which values it takes;
    any other value is refused on creation, naming the field and the range.
    """

    # Networks
    actor_hidden: tuple[int, int] = _setting(
        (256, 128), "widths of the actor's two hidden layers", WIDTHS
    )
    critic_hidden: tuple[int, int] = _setting(
        (128, 128), "widths of the critic's two hidden layers", WIDTHS
    )
    batch_norm: bool = _setting(
        True, "BatchNorm on the actor's input and hidden layers and on the critic's input", FLAG
    )
    output_init: float | None = _setting(
        None,
        "bound of the uniform initialisation of both output layers; None: the hidden layers' "
        "fan-in bound (PyTorch's default, as in TD3)",
        OPTIONAL_POSITIVE,
    )
    critic_action_input: bool = _setting(
        True, "the critic takes the action at its input (as TD3's), not at its second layer", FLAG
    )
    # Optimisation
    lr_actor: float = _setting(2e-3, "Adam learning rate of the actor", POSITIVE)
    lr_critic: float = _setting(2e-3, "Adam learning rate of the critic", POSITIVE)
    critic_weight_decay: float = _setting(0.0, "L2 weight decay of the critic's Adam", NON_NEGATIVE)
    critic_grad_clip: float | None = _setting(
        1.0,
        "max global gradient norm of the critic; None: no clipping",
        OPTIONAL_POSITIVE,
    )
    batch_size: int = _setting(256, "transitions per gradient update", COUNT)
    buffer_size: int = _setting(
        1_000_000,
        "replay buffer capacity, all arms' transitions",
        ("an int >= batch_size", COUNT[1]),
    )
    gamma: float = _setting(0.95, "discount factor", UNIT)
    tau: float = _setting(5e-3, "soft-update rate of the target networks", RATE)
    learn_every: int = _setting(1, "env steps between learning phases", COUNT)
    learn_iterations: int = _setting(1, "gradient updates per learning phase", COUNT)
    n_step: int = _setting(5, "n-step returns, accumulated per arm before the shared buffer", COUNT)
    # Exploration: OU noise x += theta (0 - x) + sigma N(0, 1), one process per arm and joint
    ou_theta: float = _setting(0.15, "mean reversion of the OU noise", UNIT)
    ou_sigma: float = _setting(0.2, "scale of the OU noise's Gaussian increments", NON_NEGATIVE)
    noise_scale: float = _setting(1.0, "initial multiplier of the OU samples", NON_NEGATIVE)
    noise_decay: float = _setting(
        0.98, "multiplier of that scale per episode or step (1: none)", RATE
    )
    noise_decay_per: str = _setting(
        "episode",
        'when the noise decays: "episode" or "step"',
        ('"episode" or "step"', lambda v: v in ("episode", "step")),
    )
    noise_min: float = _setting(0.25, "floor of the decayed noise scale", NON_NEGATIVE)
    warmup_steps: int = _setting(
        0,
        "env steps of uniform random actions before the policy acts",
        ("an int >= 0", lambda v: _is_int(v) and v >= 0),
    )
    # Extensions, off by default
    twin_critics: bool = _setting(
        False, "TD3: two critics, the target uses the smaller estimate", FLAG
    )
    target_noise: float = _setting(
        0.0,
        "TD3 target policy smoothing: std of the Gaussian noise on the target action",
        NON_NEGATIVE,
    )
    target_noise_clip: float = _setting(0.5, "TD3: that noise is clipped to +-this", POSITIVE)
    policy_delay: int = _setting(
        1, "TD3: update the actor and the targets every policy_delay critic updates", COUNT
    )

    def __post_init__(self) -> None:
        problems = []
        for f in fields(self):
            allowed, ok = f.metadata["allowed"]
            value = getattr(self, f.name)
            if not ok(value):
                problems.append(f"{f.name} must be {allowed}, got {value!r}")
        if not problems and self.buffer_size < self.batch_size:  # it could never sample
            problems.append(
                f"buffer_size must be >= batch_size ({self.batch_size}), got {self.buffer_size}"
            )
        if problems:
            raise ValueError(f"invalid DDPGConfig: {'; '.join(problems)}")


class Agent:
    """DDPG for ``num_agents`` arms sharing one actor, one critic and one replay buffer.

    ``act`` acts for all arms in one batched forward pass; ``step`` stores all arms'
    transitions and learns ``learn_iterations`` times every ``learn_every`` calls; call
    ``reset`` at the start of every episode. ``device=None`` picks CUDA when present. The
    seed fixes the network initialisation (through torch's global RNG), the noise, the
    warm-up actions and the replay sampling: same seed, same run on the CPU.
    ``compiled=True`` runs each update as one ``torch.compile``d graph (``compiled_update``:
    the same math in about two thirds of the time on a CPU; 30-70 s of compiling the first
    time); where that cannot work the agent says why in one line and stays eager.
    ``learn_while_stepping=True`` runs each update in a learner thread while the environment
    computes the step: ``act`` samples the batch and starts the update, the next ``step``
    waits for it. The networks act exactly as often updated as otherwise; each batch lacks
    only the newest step's transitions. The order of every random draw is fixed, so a seed
    still gives one run.
    """

    def __init__(
        self,
        state_size: int,
        action_size: int,
        num_agents: int,
        config: DDPGConfig | None = None,
        seed: int = 0,
        device: torch.device | str | None = None,
        compiled: bool = False,
        learn_while_stepping: bool = False,
    ) -> None:
        self.state_size, self.action_size, self.num_agents = state_size, action_size, num_agents
        self.compiled = compiled
        self._compiled_update: CompiledUpdate | None = None  # built at the first update
        self._learner = ThreadPoolExecutor(1, "learner") if learn_while_stepping else None
        self._pending: Future | None = None  # the update started by act(), if any
        self.config = cfg = config or DDPGConfig()
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)

        if cfg.buffer_size < num_agents:  # every env step adds one transition per arm
            raise ValueError(
                f"buffer_size must be >= the number of arms ({num_agents}), got {cfg.buffer_size}"
            )
        with _allocation_named(cfg):  # torch's allocator fails in C++ words
            torch.manual_seed(seed)
            self.actor_local = Actor(
                state_size, action_size, cfg.actor_hidden, cfg.batch_norm, cfg.output_init
            )

            def critic() -> Critic:
                return Critic(
                    state_size,
                    action_size,
                    cfg.critic_hidden,
                    cfg.batch_norm,
                    cfg.output_init,
                    cfg.critic_action_input,
                )

            self.critic_local = critic()
            self.critic2_local = critic() if cfg.twin_critics else None
            locals_ = [
                m
                for m in (self.actor_local, self.critic_local, self.critic2_local)
                if m is not None
            ]
            for module in locals_:
                module.to(self.device)
            # Target networks start as copies and stay in training mode, like the local networks:
            # their BatchNorm layers normalise with batch statistics (the recipe's behaviour).
            targets = [copy.deepcopy(m) for m in locals_]
            self.actor_target, self.critic_target = targets[:2]
            self.critic2_target = targets[2] if cfg.twin_critics else None
            self._local_params = [p for m in locals_ for p in m.parameters()]
            self._target_params = [p for m in targets for p in m.parameters()]
            for p in self._target_params:
                p.requires_grad_(False)

            self._actor_params = list(self.actor_local.parameters())
            self._critic_params = [p for m in locals_[1:] for p in m.parameters()]
            self._critic1_params = list(self.critic_local.parameters())  # frozen in update_actor
            # fused: one kernel for all parameters, the fastest Adam on the CPU and CUDA.
            self.actor_optimizer = torch.optim.Adam(self._actor_params, lr=cfg.lr_actor, fused=True)
            self.critic_optimizer = torch.optim.Adam(
                self._critic_params,
                lr=cfg.lr_critic,
                weight_decay=cfg.critic_weight_decay,
                fused=True,
            )

            self.memory = ReplayBuffer(cfg.buffer_size, state_size, action_size, self.device, seed)
        self.noise = OUNoise(
            (num_agents, action_size),
            cfg.ou_theta,
            cfg.ou_sigma,
            cfg.noise_scale,
            cfg.noise_decay,
            cfg.noise_min,
            seed=seed,
        )
        self.n_step = NStepAccumulator(cfg.n_step, cfg.gamma)
        self._rng = np.random.default_rng(seed + 1)  # warm-up actions
        self._generator = torch.Generator(self.device).manual_seed(seed)  # target smoothing
        self.t_step = 0  # calls of step(), i.e. env steps
        self.updates = 0  # critic updates
        self.episodes = 0  # calls of reset()

    # ----- acting ------------------------------------------------------------------------
    def act(self, states: np.ndarray, add_noise: bool = True) -> np.ndarray:
        """Actions in [-1, 1] for states (n, state_size); with noise n must be num_agents."""
        n = self.num_agents if add_noise else None
        states = _checked_array(states, "states", (n, self.state_size))
        self._finish_update()
        actions = self._policy_actions(states, add_noise)
        if add_noise and self._learner is not None and self._learning_due():
            self._pending = self._learner.submit(self._learn_all, self._sample_batches())
        return actions

    def _policy_actions(self, states: np.ndarray, add_noise: bool) -> np.ndarray:
        n = len(states)
        if add_noise and self.t_step < self.config.warmup_steps:
            return self._rng.uniform(-1, 1, (n, self.action_size)).astype(np.float32)
        self.actor_local.eval()  # BatchNorm must use its running statistics, not these n rows
        with torch.inference_mode():
            actions = self.actor_local(torch.from_numpy(states).to(self.device)).cpu().numpy()
        self.actor_local.train()
        if not np.isfinite(actions).all():  # np.clip would pass NaN on to the environment
            raise DivergedError(
                "the actor's actions are NaN or infinite: training diverged "
                "(smaller learning rates or gradient clipping may help)"
            )
        if add_noise:
            actions = actions + self.noise.sample()
            if self.config.noise_decay_per == "step":
                self.noise.decay_scale()
        return np.clip(actions, -1.0, 1.0)

    def reset(self) -> None:
        """Start an episode: store the last one's pending n-step transitions, reset the noise."""
        for transition in self.n_step.flush():
            self.memory.add(*transition)
        self.noise.reset()
        if self.episodes > 0 and self.config.noise_decay_per == "episode":
            self.noise.decay_scale()
        self.episodes += 1

    # ----- storing and learning ----------------------------------------------------------
    def step(
        self,
        states: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_states: np.ndarray,
        terminals: np.ndarray,
    ) -> None:
        """Store one env step of every arm and learn on schedule.

        ``terminals`` marks TRUE terminal states only (never for Reacher). After a time-limit
        end, pass the true final observations as ``next_states``: the value is bootstrapped.
        """
        self._finish_update()
        n, s, a = self.num_agents, self.state_size, self.action_size
        transition = (
            _checked_array(states, "states", (n, s)),
            _checked_array(actions, "actions", (n, a)),
            _checked_array(rewards, "rewards", (n,)),
            _checked_array(next_states, "next_states", (n, s)),
            _checked_array(terminals, "terminals", (n,), dtype=bool),
        )
        for completed in self.n_step.push(*transition):
            self.memory.add(*completed)
        if self._learner is None and self._learning_due():
            self._learn_all(self._sample_batches())
        self.t_step += 1

    def _learning_due(self) -> bool:
        """Is an update due at the env step being taken (the ``t_step + 1``-th)?"""
        cfg = self.config
        return (self.t_step + 1) % cfg.learn_every == 0 and len(self.memory) >= cfg.batch_size

    def _sample_batches(self) -> list[Batch]:
        return [
            self.memory.sample(self.config.batch_size) for _ in range(self.config.learn_iterations)
        ]

    def _learn_all(self, batches: list[Batch]) -> None:
        for batch in batches:
            self.learn(batch)

    def _finish_update(self) -> None:
        """Wait for the update that ``act`` started, if any; raise what it raised."""
        if self._pending is not None:
            error = self._pending.exception()  # a Ctrl-C while waiting leaves it pending
            self._pending = None
            if error is not None:
                raise error

    def learn(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One critic update; every ``policy_delay`` of them an actor and target update.

        Returns the (detached) critic loss and actor loss (None when the actor waited).
        """
        if self.compiled and (losses := self._compiled_learn(batch)) is not None:
            self.updates += 1
            return losses
        critic_loss = self.update_critic(batch)
        self.updates += 1
        if self.updates % self.config.policy_delay != 0:
            return critic_loss, None
        actor_loss = self.update_actor(batch.states)
        self.soft_update()
        return critic_loss, actor_loss

    def _compiled_learn(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor] | None:
        """One update through ``CompiledUpdate``, compiled at the first call; None (and eager
        from then on) where it cannot run."""
        if self._compiled_update is not None:
            return self._compiled_update(batch)
        reason = unsupported(self.config)
        if reason is None:
            self._compiled_update = CompiledUpdate(self, self.config)
            try:
                return self._compiled_update.compile_now(batch)
            except Exception as error:  # inductor raises before running anything
                self._compiled_update = None
                first_line = (str(error).strip().splitlines() or [""])[0]
                reason = f"torch.compile failed ({type(error).__name__}: {first_line})"
        print(f"the learner's update runs eagerly: {reason}", flush=True)
        self.compiled = False
        return None

    @torch.no_grad()
    def compute_targets(self, batch: Batch) -> torch.Tensor:
        """TD targets r + discount * Q'(s', mu'(s')), shape (B, 1)."""
        next_actions = self.actor_target(batch.next_states)
        if self.config.target_noise > 0:
            noise = (
                torch.randn(next_actions.shape, generator=self._generator, device=self.device)
                * self.config.target_noise
            )
            clip = self.config.target_noise_clip
            next_actions = (next_actions + noise.clamp_(-clip, clip)).clamp_(-1.0, 1.0)
        q_next = self.critic_target(batch.next_states, next_actions)
        if self.critic2_target is not None:
            q_next = torch.minimum(q_next, self.critic2_target(batch.next_states, next_actions))
        return batch.rewards + batch.discounts * q_next

    def update_critic(self, batch: Batch) -> torch.Tensor:
        """One gradient step on the mean squared TD error; returns the loss."""
        targets = self.compute_targets(batch)
        loss = nn.functional.mse_loss(self.critic_local(batch.states, batch.actions), targets)
        if self.critic2_local is not None:
            loss = loss + nn.functional.mse_loss(
                self.critic2_local(batch.states, batch.actions), targets
            )
        self.critic_optimizer.zero_grad()
        loss.backward()
        if self.config.critic_grad_clip is not None:
            nn.utils.clip_grad_norm_(self._critic_params, self.config.critic_grad_clip)
        self.critic_optimizer.step()
        return loss.detach()

    def update_actor(self, states: torch.Tensor) -> torch.Tensor:
        """One gradient step raising Q(s, mu(s)) (descent on its negative); returns the loss."""
        # Gradients for the actor only. With the critic's weights frozen for the forward pass,
        # autograd records nothing for its state branch and saves nothing for its weight
        # gradients (cheaper than recording them and skipping them with backward(inputs=...)).
        for p in self._critic1_params:
            p.requires_grad_(False)
        try:
            loss = -self.critic_local(states, self.actor_local(states)).mean()
        finally:
            for p in self._critic1_params:
                p.requires_grad_(True)
        self.actor_optimizer.zero_grad()
        loss.backward()
        self.actor_optimizer.step()
        return loss.detach()

    @torch.no_grad()
    def soft_update(self) -> None:
        """Polyak averaging: theta_target <- (1 - tau) theta_target + tau theta_local.

        Easy to overlook: this must run under ``no_grad``. With grad mode on, the in-place
        lerp of a target parameter towards a (grad-requiring) local one records a LerpBackward
        node per parameter and update, turning the targets into non-leaf tensors that hold an
        ever-growing autograd chain (about 0.5 MB leaked per update).
        """
        for target, local in zip(self._target_params, self._local_params, strict=True):
            target.lerp_(local, self.config.tau)

    # ----- the whole training state, for snapshots (snapshot.py) ---------------------------
    def _networks(self) -> dict[str, nn.Module]:
        names = ("actor_local", "actor_target", "critic_local", "critic_target")
        names += ("critic2_local", "critic2_target") if self.critic2_local is not None else ()
        return {name: getattr(self, name) for name in names}

    def training_state(self) -> dict[str, Any]:
        """Everything a continued run needs to go on as this one would have: every network
        (targets and BatchNorm statistics included), both Adam states, the noise, the replay
        buffer, every random generator and the counters; tensors and plain Python only, so
        that ``torch.load(weights_only=True)`` reads it. The n-step transitions still pending
        are stored in the buffer first, as the next ``reset`` would store them.
        Raises ``DivergedError`` if a network holds NaN or infinite values.
        """
        self._finish_update()
        for transition in self.n_step.flush():
            self.memory.add(*transition)
        networks = {name: m.state_dict() for name, m in self._networks().items()}
        _check_finite(networks, "a snapshot")
        if self._compiled_update is not None:  # it keeps Adam's moments itself
            optimizers = self._compiled_update.optimizer_state_dicts()
        else:
            optimizers = {
                "actor": self.actor_optimizer.state_dict(),
                "critic": self.critic_optimizer.state_dict(),
            }
        return {
            "networks": networks,
            "optimizers": optimizers,
            "noise": self.noise.state_dict(),
            "memory": self.memory.state_dict(),
            "warmup_rng": self._rng.bit_generator.state,
            "target_noise_rng": self._generator.get_state(),
            "counters": {"t_step": self.t_step, "updates": self.updates, "episodes": self.episodes},
        }

    def load_training_state(self, state: dict[str, Any]) -> None:
        """Continue from ``training_state()`` of an agent with the same config and sizes."""
        self._finish_update()
        for name, module in self._networks().items():
            module.load_state_dict(state["networks"][name])
        self.actor_optimizer.load_state_dict(state["optimizers"]["actor"])
        self.critic_optimizer.load_state_dict(state["optimizers"]["critic"])
        self._compiled_update = None  # rebuilt at the next update, from the optimizers' state
        self.noise.load_state_dict(state["noise"])
        self.memory.load_state_dict(state["memory"])
        self._rng.bit_generator.state = state["warmup_rng"]
        self._generator.set_state(state["target_noise_rng"])
        self.n_step.flush()
        counters = state["counters"]
        self.t_step, self.updates, self.episodes = (
            counters["t_step"],
            counters["updates"],
            counters["episodes"],
        )

    # ----- checkpoints (file checks: end of this module) ----------------------------------
    def _checkpoint_files(self) -> dict[str, nn.Module]:
        files = {ACTOR_FILE: self.actor_local, CRITIC_FILE: self.critic_local}
        if self.critic2_local is not None:
            files[CRITIC2_FILE] = self.critic2_local
        return files

    def save(self, directory: str | Path) -> None:
        """Write the local networks as plain state_dicts, each file atomically, then their
        SHA-256 sums (``CHECKSUM_FILE``), which ``load_checked`` verifies: a file that was
        corrupted, or that a killed save left out of step with the others, is refused.

        Raises ``DivergedError`` and writes nothing if any value is NaN or infinite, so a
        checkpoint on disk is always usable.
        """
        self._finish_update()
        directory = Path(directory)
        states = {name: m.state_dict() for name, m in self._checkpoint_files().items()}
        _check_finite(states, str(directory))
        directory.mkdir(parents=True, exist_ok=True)
        sums = []
        for name, state in states.items():
            buffer = io.BytesIO()
            torch.save({k: v.detach().cpu() for k, v in state.items()}, buffer)
            atomic_write(buffer.getvalue(), directory / name)
            sums.append(f"{hashlib.sha256(buffer.getvalue()).hexdigest()}  {name}\n")
        atomic_write("".join(sums).encode(), directory / CHECKSUM_FILE)

    def load(self, directory: str | Path) -> None:
        """Load the local networks (checked) and copy them into the targets."""
        self._finish_update()
        directory = Path(directory)
        for name, module in self._checkpoint_files().items():
            load_checked(module, directory / name, self.device)
        with torch.no_grad():  # as in soft_update: no autograd history on the targets
            for target, local in zip(self._target_params, self._local_params, strict=True):
                target.copy_(local)


# ----- the agent's parts ------------------------------------------------------------------


class Batch(NamedTuple):
    """A sampled mini-batch; rewards and discounts are (B, 1) like the critic's output."""

    states: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_states: torch.Tensor
    discounts: torch.Tensor  # gamma**n to bootstrap, 0 after a true terminal state


class ReplayBuffer:
    """Fixed-size ring of transitions in ONE pre-allocated float32 tensor, shared by all arms.

    Each row packs ``state | action | reward | next_state | discount``, so a sample is one
    ``index_select``; the columns come back as views. ``torch.empty`` lets the OS page the
    memory in as rows are written, so a 1e6 buffer costs nothing until it fills.
    """

    def __init__(
        self,
        capacity: int,
        state_size: int,
        action_size: int,
        device: torch.device | str = "cpu",
        seed: int = 0,
    ) -> None:
        self.capacity = capacity
        self.device = torch.device(device)
        s, a = state_size, action_size
        self._widths = [s, a, 1, s, 1]
        self._data = torch.empty((capacity, sum(self._widths)), dtype=torch.float32)
        self._pos = 0
        self._size = 0
        self._generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return self._size

    def add(
        self,
        states: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_states: np.ndarray,
        discounts: np.ndarray,
    ) -> None:
        """Append one row per arm: states (n, S), actions (n, A), rewards and discounts (n,)."""
        rows = np.concatenate(
            (states, actions, rewards[:, None], next_states, discounts[:, None]),
            axis=1,
            dtype=np.float32,
        )
        n = len(rows)
        if n > self.capacity:
            raise ValueError(f"cannot add {n} rows to a buffer of capacity {self.capacity}")
        index = (self._pos + np.arange(n)) % self.capacity
        self._data[torch.from_numpy(index)] = torch.from_numpy(rows)
        self._pos = (self._pos + n) % self.capacity
        self._size = min(self._size + n, self.capacity)

    def state_dict(self) -> dict[str, Any]:
        """The stored rows (a copy unless full: saving a view saves the whole capacity), the
        ring's position and the sampling generator."""
        rows = self._data[: self._size]
        return {
            "rows": rows if self._size == self.capacity else rows.clone(),
            "pos": self._pos,
            "generator": self._generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        rows = state["rows"]
        if rows.shape[0] > self.capacity or rows.shape[1:] != self._data.shape[1:]:
            raise ValueError(
                f"the saved buffer holds rows of shape {tuple(rows.shape)}, which do not fit "
                f"this one's {tuple(self._data.shape)}"
            )
        self._data[: len(rows)] = rows
        self._size, self._pos = len(rows), state["pos"]
        self._generator.set_state(state["generator"])

    def sample(self, batch_size: int) -> Batch:
        """Uniform sample with replacement, as tensors on the buffer's device."""
        if batch_size > self._size:
            raise ValueError(f"cannot sample {batch_size} rows from {self._size} stored")
        index = torch.randint(self._size, (batch_size,), generator=self._generator)
        rows = self._data.index_select(0, index).to(self.device, non_blocking=True)
        return Batch(*rows.split(self._widths, dim=1))  # one op for the five column views


class OUNoise:
    """Ornstein-Uhlenbeck noise, one independent process per arm and action dimension.

    ``x <- x + theta (mu - x) + sigma N(0, 1)`` (dt = 1). The course template drew the
    increment from U[0, 1) (``random.random()``), whose mean 0.5 drifts x to about +0.67 and
    correlates all arms' pushes; Gaussian increments keep the mean at mu. The stationary
    standard deviation is ``sigma / sqrt(theta (2 - theta))`` (0.38 for the defaults).
    Samples are multiplied by ``scale``, which ``decay_scale`` shrinks towards ``min_scale``.
    """

    def __init__(
        self,
        shape: tuple[int, ...],
        theta: float,
        sigma: float,
        scale: float = 1.0,
        decay: float = 1.0,
        min_scale: float = 0.0,
        seed: int = 0,
        mu: float = 0.0,
    ) -> None:
        self.shape = shape
        self.theta, self.sigma, self.mu = theta, sigma, mu
        self.scale, self.decay, self.min_scale = scale, decay, min_scale
        self._rng = np.random.default_rng(seed)
        self.state = np.full(shape, mu, dtype=np.float32)

    def reset(self) -> None:
        self.state.fill(self.mu)

    def sample(self) -> np.ndarray:
        increment = self._rng.standard_normal(self.shape, dtype=np.float32)
        self.state += self.theta * (self.mu - self.state) + self.sigma * increment
        return self.scale * self.state

    def decay_scale(self) -> None:
        self.scale = max(self.min_scale, self.scale * self.decay)

    def state_dict(self) -> dict[str, Any]:
        return {
            "state": torch.from_numpy(self.state.copy()),
            "scale": self.scale,
            "rng": self._rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.state[...] = state["state"].numpy()
        self.scale = state["scale"]
        self._rng.bit_generator.state = state["rng"]


class NStepAccumulator:
    """Turns every arm's 1-step transitions into n-step ones, all arms at once.

    A transition from step t carries ``R = r_t + gamma r_{t+1} + ... + gamma^(m-1) r_{t+m-1}``,
    the state reached after those m <= n steps, and ``discount = gamma^m`` to bootstrap from it,
    or 0 if a true terminal state came first (the sum then stops there). ``flush`` emits the
    shorter windows left at an episode's end. With n = 1 this is the plain 1-step transition.
    """

    def __init__(self, n: int, gamma: float) -> None:
        self.n = n
        self.gamma = gamma
        self._window: deque[tuple[np.ndarray, ...]] = deque()

    def push(
        self,
        states: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_states: np.ndarray,
        terminals: np.ndarray,
    ) -> list[tuple[np.ndarray, ...]]:
        """Add one step of all arms; return the transitions completed by it (0 or 1)."""
        self._window.append((states, actions, rewards, next_states, terminals))
        if len(self._window) < self.n:
            return []
        return [self._pop_oldest()]

    def flush(self) -> list[tuple[np.ndarray, ...]]:
        """Emit and forget all pending (shorter) windows."""
        return [self._pop_oldest() for _ in range(len(self._window))]

    def _pop_oldest(self) -> tuple[np.ndarray, ...]:
        states, actions = self._window[0][:2]
        returns = np.zeros(len(states), dtype=np.float32)
        discounts = np.ones(len(states), dtype=np.float32)
        alive = np.ones(len(states), dtype=bool)  # no terminal state reached yet
        next_states = np.empty_like(states)
        for _, _, rewards, successors, terminals in self._window:
            returns += np.where(alive, discounts * rewards, 0.0).astype(np.float32)
            next_states[alive] = successors[alive]
            discounts[alive] *= self.gamma
            discounts[alive & terminals] = 0.0
            alive &= ~terminals
        self._window.popleft()
        return states, actions, returns, next_states, discounts


# ----- checkpoint files and input checks --------------------------------------------------


class CheckpointError(RuntimeError):
    """A checkpoint file cannot be read or does not fit the network it is loaded into."""


class DivergedError(RuntimeError):
    """The networks hold NaN or infinite values; their actions and checkpoints are useless."""


def _check_finite(states: dict[str, dict[str, torch.Tensor]], destination: str) -> None:
    """``DivergedError`` if any of the named state_dicts holds a NaN or infinite value."""
    for name, state in states.items():
        for key, value in state.items():
            if value.is_floating_point() and not torch.isfinite(value).all():
                raise DivergedError(
                    f"{key} of {name} is NaN or infinite: training diverged, so nothing was "
                    f"saved to {destination} (smaller learning rates may help)"
                )


def atomic_write(data: bytes | list[bytes], path: Path) -> None:
    """Write ``data`` (or its chunks, in order) to a temporary file in the same directory,
    then ``os.replace``.

    Readers, a crash and a Ctrl-C in the middle only ever see the old file or the new one.
    """
    # A process killed in the middle of a save leaves its temporary file behind: remove those.
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.writelines([data] if isinstance(data, bytes) else data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a checkpoint is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def recorded_sha256(path: Path) -> str | None:
    """The SHA-256 that the save recorded for ``path`` (``CHECKSUM_FILE`` beside it), if any."""
    sums = path.parent / CHECKSUM_FILE
    if not sums.is_file():  # saved before checksums existed, or by other code
        return None
    for line in sums.read_text().splitlines():
        digest, _, name = line.partition("  ")
        if name == path.name:
            return digest
    return None


def load_checked(module: nn.Module, path: str | Path, device: torch.device | str = "cpu") -> None:
    """Load a plain state_dict into ``module``, saying which file is wrong and how.

    Checks, in this order: the file exists, matches the SHA-256 its save recorded (if one
    did), is a readable state_dict with the module's keys and shapes, and holds no NaN or
    infinite value.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file {path} does not exist")
    data = path.read_bytes()
    expected = recorded_sha256(path)
    if expected is not None and hashlib.sha256(data).hexdigest() != expected:
        raise CheckpointError(
            f"{path} does not match the checksum in {path.parent / CHECKSUM_FILE}: it is "
            "corrupted, or a save was killed between its files"
        )
    try:
        state = torch.load(io.BytesIO(data), map_location=device, weights_only=True)
    except Exception as e:
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint: {e}") from e
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} holds a {type(state).__name__}, not a state_dict")
    expected = module.state_dict()
    problems = []
    if missing := sorted(expected.keys() - state.keys()):
        problems.append(f"missing keys {missing}")
    if unexpected := sorted(state.keys() - expected.keys()):
        problems.append(f"unexpected keys {unexpected}")
    for key in sorted(expected.keys() & state.keys()):
        value, want = state[key], expected[key]
        if not isinstance(value, torch.Tensor):
            problems.append(f"{key} is a {type(value).__name__}, not a tensor")
        elif value.shape != want.shape:
            problems.append(f"{key} has shape {tuple(value.shape)}, expected {tuple(want.shape)}")
        elif value.is_floating_point() and not torch.isfinite(value).all():
            problems.append(f"{key} contains NaN or infinite values")
    if problems:
        raise CheckpointError(
            f"{path} does not fit the agent's {type(module).__name__} "
            "(check the hidden sizes, batch_norm and critic_action_input of DDPGConfig): "
            + "; ".join(problems)
        )
    module.load_state_dict(state)


@contextlib.contextmanager
def _allocation_named(cfg: DDPGConfig) -> Iterator[None]:
    """Turn torch's out-of-memory RuntimeError into a MemoryError naming the sizes to change."""
    try:
        yield
    except RuntimeError as error:
        if "can't allocate memory" not in str(error):
            raise
        raise MemoryError(
            f"the agent does not fit in memory with actor_hidden {cfg.actor_hidden}, "
            f"critic_hidden {cfg.critic_hidden} and buffer_size {cfg.buffer_size}: "
            "choose smaller ones"
        ) from None


def _checked_array(x: object, name: str, shape: tuple[int | None, ...], dtype=np.float32):
    """``x`` as a contiguous array of ``dtype``; ValueError on a wrong shape or a NaN/inf."""
    try:
        array = np.ascontiguousarray(x, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} cannot be converted to a {np.dtype(dtype)} array: {e}") from e
    if array.ndim != len(shape) or any(
        w not in (None, n) for w, n in zip(shape, array.shape, strict=False)
    ):
        want = "(" + ", ".join("n" if w is None else str(w) for w in shape) + ")"
        raise ValueError(f"{name} must have shape {want}, got {array.shape}")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return array
