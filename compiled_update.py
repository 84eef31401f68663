"""The agent's whole DDPG update as one compiled graph: the same math, less per-op overhead.

On the CPU an eager update of the default networks spends more time in PyTorch's per-op
machinery (BatchNorm's checks, ``zero_grad``, the optimizer's wrapper, autograd's bookkeeping)
than in its 29 matrix products. Here the update (TD target, critic step with gradient clipping
and Adam, actor step with Adam, soft update of both targets) is one function of tensors:
gradients from ``torch.func.grad`` over ``torch.func.functional_call`` of the agent's own
modules, Adam written out as ``torch.optim.Adam`` computes it, every state tensor updated in
place. ``torch.compile`` (inductor) turns it into one graph of fused C++ kernels.

It reads and writes the agent's parameters and BatchNorm statistics in place (the modules
stay the source of truth for acting and checkpoints); the Adam moments live here. The test
``tests/test_compiled_update.py`` compares it with the eager ``Agent`` in float64.

Compiling takes 30-70 s the first time, a few seconds once cached. The cache lives in the
user's cache folder (``CACHE_DIR``), never in the temporary folder. Where compiling cannot
work or does not pay (no C++ compiler, an unsupported platform, an option the graph does not
cover, short mode ``REACHER_QUICK=1``) the agent stays eager and says so in one line.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "continuous-control"
# Inductor's cache defaults to the temporary folder, and importing torch._inductor already
# fixes that default in the environment: set ours before the first torch import below.
os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(CACHE_DIR / "inductor"))

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.func import functional_call, grad  # noqa: E402

if TYPE_CHECKING:
    from ddpg_agent import Batch, DDPGConfig

BETAS, EPS = (0.9, 0.999), 1e-8  # torch.optim.Adam's defaults, which the agent uses
INDUCTOR_OPTIONS = {
    # The graph's driver in C++ rather than Python: it calls the kernels without the
    # interpreter and without holding Python's lock, so that a learner thread runs beside the
    # simulator's client instead of taking turns with it (benchmarks.learner_speed and
    # benchmarks.course_speed measure both ways).
    "cpp_wrapper": True,
    # Inductor puts its precompiled C++ headers in the temporary folder whatever its cache
    # folder is; without them a cold compile takes a few seconds longer and leaves nothing.
    "cpp_cache_precompile_headers": False,
}

Tensors = dict[str, torch.Tensor]


def unsupported(config: DDPGConfig) -> str | None:
    """Why this config needs the eager update, or None: the graph covers DDPG's options only."""
    if os.environ.get("REACHER_QUICK") == "1":
        return "REACHER_QUICK=1 (short runs do not pay for compiling)"
    if config.twin_critics or config.target_noise > 0 or config.policy_delay != 1:
        return "the TD3 options (twin_critics, target_noise, policy_delay) run eagerly"
    if shutil.which(os.environ.get("CXX", "g++")) is None and shutil.which("clang++") is None:
        return "torch.compile needs a C++ compiler (g++ or clang++), and none was found"
    if os.environ.get("ATEN_CPU_CAPABILITY", "").lower() == "default":
        # Inductor then writes scalar C++, which torch 2.13 fails to compile for this graph
        # (it still emits at::vec reductions) and which would not beat the eager update.
        return "ATEN_CPU_CAPABILITY=default (no vector instructions) leaves nothing to gain"
    return None


def _tensors(module: nn.Module) -> tuple[Tensors, Tensors]:
    """Aliases of a module's parameters and buffers: writing to them writes to the module."""
    params = {name: p.detach() for name, p in module.named_parameters()}
    return params, dict(module.named_buffers())


class CompiledUpdate:
    """One DDPG update per call, compiled on the first call; ``(critic_loss, actor_loss)``.

    Build it once the agent's networks have their final dtype and device (the agent does so
    at its first update); later ``.double()`` or ``.to()`` of the networks would detach it.
    """

    def __init__(self, agent, config: DDPGConfig) -> None:
        self.config = config
        self.actor, self.critic = agent.actor_local, agent.critic_local  # the templates
        self.actor_params, self.actor_buffers = _tensors(agent.actor_local)
        self.critic_params, self.critic_buffers = _tensors(agent.critic_local)
        self.actor_target, self.actor_target_buffers = _tensors(agent.actor_target)
        self.critic_target, self.critic_target_buffers = _tensors(agent.critic_target)
        # Adam's moments and step count start from the agent's optimizers: zero for a new
        # agent, a snapshot's for a continued run (``Agent.load_training_state``).
        self.optimizers = {"actor": agent.actor_optimizer, "critic": agent.critic_optimizer}
        self.actor_moments = self._moments(agent.actor_optimizer, self.actor_params)
        self.critic_moments = self._moments(agent.critic_optimizer, self.critic_params)
        critic_optimizer = agent.critic_optimizer
        first = critic_optimizer.state.get(critic_optimizer.param_groups[0]["params"][0], {})
        self.step = int(first.get("step", 0))  # Adam's step count, shared by both optimizers
        self._function: Callable = torch.compile(
            self.update, fullgraph=True, dynamic=False, options=INDUCTOR_OPTIONS
        )

    @staticmethod
    def _moments(optimizer: torch.optim.Adam, params: Tensors) -> tuple[Tensors, Tensors]:
        """Copies of the optimizer's Adam moments (zeros before its first step), by name; its
        parameters are the module's, in the same order."""
        states = [optimizer.state.get(p, {}) for p in optimizer.param_groups[0]["params"]]
        first, second = {}, {}
        for (key, param), state in zip(params.items(), states, strict=True):
            first[key] = state.get("exp_avg", torch.zeros_like(param)).clone()
            second[key] = state.get("exp_avg_sq", torch.zeros_like(param)).clone()
        return first, second

    def optimizer_state_dicts(self) -> dict[str, dict]:
        """Both Adam states as ``torch.optim.Adam.state_dict()`` gives them, for snapshots."""
        moments = {"actor": self.actor_moments, "critic": self.critic_moments}
        state_dicts = {}
        for name, optimizer in self.optimizers.items():
            first, second = moments[name]
            state_dict = optimizer.state_dict()
            state_dict["state"] = {
                i: {
                    "step": torch.tensor(float(self.step)),
                    "exp_avg": first[k],
                    "exp_avg_sq": second[k],
                }
                for i, k in enumerate(first)
            }
            state_dicts[name] = state_dict
        return state_dicts

    def __call__(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        # Adam's bias corrections for this step, in float64 as torch.optim.Adam computes them.
        # Outside the graph: there inductor recomputed both powers in every vector iteration
        # of every parameter's loop, and a step count counted inside gave NaN in float64.
        self.step += 1
        corrections = torch.tensor(
            [1 - BETAS[0] ** self.step, math.sqrt(1 - BETAS[1] ** self.step)], dtype=torch.float64
        )
        return self._function(batch, corrections)

    def compile_now(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """The first call: compile (cached), say so, and run it. Raises if compiling fails,
        before anything was updated (inductor compiles the whole graph before running it)."""
        print(
            "compiling the learner's update with torch.compile (30-70 s the first time, "
            f"seconds once cached in {os.environ['TORCHINDUCTOR_CACHE_DIR']})",
            flush=True,
        )
        start = time.perf_counter()
        losses = self(batch)
        print(f"compiled the learner's update in {time.perf_counter() - start:.0f} s", flush=True)
        return losses

    # ----- the update, as one function of tensors ------------------------------------------
    def _act(self, params: Tensors, buffers: Tensors, states: torch.Tensor) -> torch.Tensor:
        return functional_call(self.actor, (params, buffers), (states,))

    def _q(self, params: Tensors, buffers: Tensors, states, actions) -> torch.Tensor:
        return functional_call(self.critic, (params, buffers), (states, actions))

    def _adam(
        self,
        params: Tensors,
        grads: Tensors,
        moments: tuple[Tensors, Tensors],
        corrections: torch.Tensor,
        lr: float,
        weight_decay: float,
    ) -> None:
        """One step of ``torch.optim.Adam`` (L2 ``weight_decay``, no amsgrad), in place;
        ``corrections``: 1 - beta1^t and sqrt(1 - beta2^t)."""
        (beta1, beta2), (first, second) = BETAS, moments
        correction1, correction2_sqrt = corrections[0], corrections[1]
        for key, param in params.items():
            g = grads[key] + weight_decay * param if weight_decay else grads[key]
            first[key].lerp_(g, 1 - beta1)
            second[key].mul_(beta2).addcmul_(g, g, value=1 - beta2)
            denominator = second[key].sqrt() / correction2_sqrt + EPS
            param.sub_(lr / correction1 * first[key] / denominator)

    def update(self, batch: Batch, corrections: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Agent.update_critic, Agent.update_actor and Agent.soft_update, as one function."""
        cfg = self.config
        with torch.no_grad():  # TD targets r + discount * Q'(s', mu'(s'))
            next_actions = self._act(
                self.actor_target, self.actor_target_buffers, batch.next_states
            )
            q_next = self._q(
                self.critic_target, self.critic_target_buffers, batch.next_states, next_actions
            )
            targets = batch.rewards + batch.discounts * q_next

        # Buffers are arguments, not captured, so that BatchNorm may update its statistics.
        def critic_loss(params: Tensors, buffers: Tensors) -> tuple[torch.Tensor, torch.Tensor]:
            q = self._q(params, buffers, batch.states, batch.actions)
            loss = nn.functional.mse_loss(q, targets)
            return loss, loss.detach()

        grads, critic_loss_value = grad(critic_loss, has_aux=True)(
            self.critic_params, self.critic_buffers
        )
        if cfg.critic_grad_clip is not None:  # as nn.utils.clip_grad_norm_
            norms = torch.stack([torch.linalg.vector_norm(g) for g in grads.values()])
            scale = torch.clamp(
                cfg.critic_grad_clip / (torch.linalg.vector_norm(norms) + 1e-6), max=1.0
            )
            grads = {k: g * scale for k, g in grads.items()}
        self._adam(
            self.critic_params,
            grads,
            self.critic_moments,
            corrections,
            cfg.lr_critic,
            cfg.critic_weight_decay,
        )

        def actor_loss(params, buffers, critic_buffers) -> tuple[torch.Tensor, torch.Tensor]:
            actions = self._act(params, buffers, batch.states)
            loss = -self._q(self.critic_params, critic_buffers, batch.states, actions).mean()
            return loss, loss.detach()

        grads, actor_loss_value = grad(actor_loss, has_aux=True)(
            self.actor_params, self.actor_buffers, self.critic_buffers
        )
        self._adam(self.actor_params, grads, self.actor_moments, corrections, cfg.lr_actor, 0.0)

        with torch.no_grad():
            for target, local in (
                (self.actor_target, self.actor_params),
                (self.critic_target, self.critic_params),
            ):
                for key, value in local.items():
                    target[key].lerp_(value, cfg.tau)
        return critic_loss_value, actor_loss_value
