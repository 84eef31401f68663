"""Learner speed: DDPG updates per second of the agent, eager and compiled, of its former
private-API shortcuts, of a naive reference.

The three learners use the same networks (model.py), batch size and number of stored
transitions; their blocks alternate so that machine noise hits all of them alike.
- agent: ``ddpg_agent.Agent`` as it is, eager, public PyTorch API only (pre-allocated ring
  buffer, ``Adam(fused=True)`` stepped by ``optimizer.step()``, ``nn.utils.clip_grad_norm_``,
  a ``lerp_`` soft update, actor gradients only in the actor update, batched acting);
- compiled: the same agent with ``compiled=True``: the whole update as one ``torch.compile``d
  graph (``compiled_update.py``; compiled before timing, 1-6 s with a warm cache);
- private: the same agent with the shortcuts through private PyTorch API it once used
  (``PrivateApiAgent`` below: ``torch._fused_adam_`` called directly, ``torch._foreach_*``
  clipping and soft update, ``torch.batch_norm`` and ``F.linear`` instead of calling the
  modules). It gives identical parameters (checked below, before timing) and is kept only
  here, as the measurement behind dropping it;
- naive: the course template (deque of namedtuples + ``random.sample`` + ``np.vstack``,
  default Adam, Python-loop soft update, ``eval()``/``no_grad``/``train()`` acting).
One update = sample a batch, critic update (grad-norm clip 1), actor update, soft update.
Rates are per second of this thread's CPU time: on a quiet machine that is wall-clock time,
and on a busy one it leaves out the time slices of other processes (torch runs one thread).

    python -m benchmarks.learner_speed [--batch 256] [--fill 100000] [--threads 1] [--profile]

``--inductor-option KEY=VALUE`` (repeatable) adds a fifth learner, the compiled agent with those
inductor options on top of ``compiled_update.INDUCTOR_OPTIONS`` (e.g. ``cpp_wrapper=False``),
timed in the same alternating blocks and compared with the compiled agent.

``--profile`` prints where the compiled update's time goes (torch.profiler, 200 updates)
instead of timing the learners; it compiles the graph with inductor's Python wrapper, since
the C++ wrapper the agent uses runs the whole graph as one call the profiler cannot split.

The second-to-last line is ``updates_per_s: N`` (the eager agent, median block) with its
ratios; the last is ``compiled_ms_per_update: X (xR of the eager agent)``.
"""

import argparse
import ast
import contextlib
import random
import statistics
import time
from collections import deque, namedtuple
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (the course template's spelling)
from torch import nn

import compiled_update
from ddpg_agent import Agent, DDPGConfig
from model import Actor, Critic
from reacher import ACTION_SIZE, NUM_AGENTS, OBSERVATION_SIZE

S, A = OBSERVATION_SIZE, ACTION_SIZE  # the course template's short names

Experience = namedtuple("Experience", "state action reward next_state done")


# ----- the private-API shortcuts the agent used before, for comparison only ------------------
def _batch_norm(norm: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``norm(x)`` for a training-mode BatchNorm1d as the calls its forward makes, no checks."""
    if not (type(norm) is nn.BatchNorm1d and norm.training):
        return norm(x)
    norm.num_batches_tracked.add_(1)
    return torch.batch_norm(
        x, norm.weight, norm.bias, norm.running_mean, norm.running_var, True,
        norm.momentum, norm.eps, torch.backends.cudnn.enabled,
    )  # fmt: skip


class PrivateApiActor(Actor):
    def forward(self, states: torch.Tensor) -> torch.Tensor:
        fc1, fc2, fc3 = self.fc1, self.fc2, self.fc3
        x = _batch_norm(self.bn0, states)
        x = _batch_norm(self.bn1, F.linear(x, fc1.weight, fc1.bias)).relu_()
        x = _batch_norm(self.bn2, F.linear(x, fc2.weight, fc2.bias)).relu_()
        return torch.tanh(F.linear(x, fc3.weight, fc3.bias))


class PrivateApiCritic(Critic):
    def forward(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        fc1, fc2, fc3 = self.fc1, self.fc2, self.fc3
        x = _batch_norm(self.bn0, states)
        if self.action_at_input:
            x = torch.cat((x, actions), dim=1)
        x = F.linear(x, fc1.weight, fc1.bias).relu_()
        if not self.action_at_input:
            x = torch.cat((x, actions), dim=1)
        x = F.linear(x, fc2.weight, fc2.bias).relu_()
        return F.linear(x, fc3.weight, fc3.bias)


def _adam_step(optimizer: torch.optim.Adam) -> None:
    """``optimizer.step()`` of a fused single-group Adam: the same kernel, called directly."""
    (group,) = optimizer.param_groups
    params = group["params"]
    state = optimizer.state
    if not all(p in state for p in params):
        optimizer.step()  # the first step creates the state
        return
    states = [state[p] for p in params]
    steps = [s["step"] for s in states]
    torch._foreach_add_(steps, 1)
    beta1, beta2 = group["betas"]
    torch._fused_adam_(
        params, [p.grad for p in params], [s["exp_avg"] for s in states],
        [s["exp_avg_sq"] for s in states], [], steps, amsgrad=False, lr=group["lr"],
        beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"], eps=group["eps"],
        maximize=False, grad_scale=None, found_inf=None,
    )  # fmt: skip


class PrivateApiAgent(Agent):
    """The agent's learner as it was: the same operations, fewer Python layers around them."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for net in (self.actor_local, self.actor_target):
            net.__class__ = PrivateApiActor  # only forward differs: same parameters, same init
        for net in (self.critic_local, self.critic_target):
            net.__class__ = PrivateApiCritic

    def update_critic(self, batch) -> torch.Tensor:
        targets = self.compute_targets(batch)
        loss = F.mse_loss(self.critic_local(batch.states, batch.actions), targets)
        for p in self._critic_params:
            p.grad = None
        loss.backward()
        grads = [p.grad for p in self._critic_params]
        norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads, 2.0)), 2.0)
        clip_coef = self.config.critic_grad_clip / (norm + 1e-6)
        torch._foreach_mul_(grads, torch.clamp(clip_coef, max=1.0))
        _adam_step(self.critic_optimizer)
        return loss.detach()

    def update_actor(self, states: torch.Tensor) -> torch.Tensor:
        for p in self._critic1_params:
            p.requires_grad_(False)
        loss = -self.critic_local(states, self.actor_local(states)).mean()
        for p in self._critic1_params:
            p.requires_grad_(True)
        for p in self._actor_params:
            p.grad = None
        loss.backward()
        _adam_step(self.actor_optimizer)
        return loss.detach()

    @torch.no_grad()
    def soft_update(self) -> None:
        torch._foreach_lerp_(self._target_params, self._local_params, self.config.tau)


# ----- the course template's learner ---------------------------------------------------------
class NaiveLearner:
    """The course template's learner, kept to its essentials."""

    def __init__(self, batch_size: int, gamma: float = 0.99, tau: float = 1e-3) -> None:
        self.batch_size, self.gamma, self.tau = batch_size, gamma, tau
        self.actor_local, self.actor_target = Actor(S, A), Actor(S, A)
        self.critic_local, self.critic_target = Critic(S, A), Critic(S, A)
        self.actor_optimizer = torch.optim.Adam(self.actor_local.parameters(), lr=1e-3)
        self.critic_optimizer = torch.optim.Adam(self.critic_local.parameters(), lr=1e-3)
        self.memory: deque[Experience] = deque(maxlen=1_000_000)

    def act(self, states: np.ndarray) -> np.ndarray:
        self.actor_local.eval()
        with torch.no_grad():
            actions = self.actor_local(torch.from_numpy(states).float()).numpy()
        self.actor_local.train()
        return np.clip(actions + 0.2 * np.random.standard_normal(actions.shape), -1, 1)

    def sample(self):
        batch = random.sample(self.memory, k=self.batch_size)
        return tuple(
            torch.from_numpy(np.vstack([getattr(e, field) for e in batch])).float()
            for field in Experience._fields
        )

    def learn(self) -> None:
        states, actions, rewards, next_states, dones = self.sample()
        with torch.no_grad():
            q_next = self.critic_target(next_states, self.actor_target(next_states))
        q_targets = rewards + self.gamma * q_next * (1 - dones)
        critic_loss = F.mse_loss(self.critic_local(states, actions), q_targets)
        self.critic_optimizer.zero_grad()
        critic_loss.backward()
        torch.nn.utils.clip_grad_norm_(self.critic_local.parameters(), 1)
        self.critic_optimizer.step()
        actor_loss = -self.critic_local(states, self.actor_local(states)).mean()
        self.actor_optimizer.zero_grad()
        actor_loss.backward()
        self.actor_optimizer.step()
        for local, target in (
            (self.critic_local, self.critic_target),
            (self.actor_local, self.actor_target),
        ):
            for t, p in zip(target.parameters(), local.parameters(), strict=True):
                t.data.copy_(self.tau * p.data + (1.0 - self.tau) * t.data)


# ----- measuring -----------------------------------------------------------------------------
def random_transitions(n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    return (
        rng.standard_normal((n, S), dtype=np.float32),
        rng.uniform(-1, 1, (n, A)).astype(np.float32),
        rng.uniform(0, 0.04, n).astype(np.float32),
        rng.standard_normal((n, S), dtype=np.float32),
        np.zeros(n, dtype=np.float32),
    )


def same_parameters_after_updates(data: tuple[np.ndarray, ...], updates: int = 20) -> bool:
    """Do the agent and PrivateApiAgent, seeded alike, end with identical parameters?"""
    agents = [
        learner(S, A, NUM_AGENTS, DDPGConfig(), seed=0, device="cpu")
        for learner in (Agent, PrivateApiAgent)
    ]
    for agent in agents:
        agent.memory.add(*data)
        for _ in range(updates):
            agent.learn(agent.memory.sample(agent.config.batch_size))
    public, private = agents
    return all(
        torch.equal(p, q)
        for p, q in zip(
            public._local_params + public._target_params,
            private._local_params + private._target_params,
            strict=True,
        )
    )


def per_second(fn, seconds: float) -> float:
    """Calls of fn per CPU second of this thread, over a block of about `seconds`."""
    calls, start = 0, time.thread_time()
    while (elapsed := time.thread_time() - start) < seconds:
        fn()
        calls += 1
    return calls / elapsed


def profile_compiled(agent: Agent, batch: int, updates: int = 200) -> None:
    """The operators that take the compiled update's time, and each one's share."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
        for _ in range(updates):
            agent.learn(agent.memory.sample(batch))
    print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))


@contextlib.contextmanager
def inductor_options(overrides: dict[str, object]) -> Iterator[None]:
    """Compile with ``overrides`` on top of the agent's inductor options, within the block."""
    saved = dict(compiled_update.INDUCTOR_OPTIONS)
    compiled_update.INDUCTOR_OPTIONS.update(overrides)
    try:
        yield
    finally:
        compiled_update.INDUCTOR_OPTIONS.clear()
        compiled_update.INDUCTOR_OPTIONS.update(saved)


def option(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` with VALUE a Python literal (True, 256) or else a string."""
    key, _, value = text.partition("=")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--fill", type=int, default=100_000, help="transitions in the buffers")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--block-seconds", type=float, default=2.0)
    parser.add_argument("--profile", action="store_true", help="profile the compiled update")
    parser.add_argument(
        "--inductor-option",
        type=option,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="time a variant of the compiled agent with this inductor option",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    random.seed(0)
    rng = np.random.default_rng(0)
    data = random_transitions(args.fill, rng)
    identical = same_parameters_after_updates(tuple(column[:5000] for column in data))

    config = DDPGConfig(batch_size=args.batch)
    agent = Agent(S, A, NUM_AGENTS, config, seed=0, device="cpu")
    compiled = Agent(S, A, NUM_AGENTS, config, seed=0, device="cpu", compiled=True)
    private = PrivateApiAgent(S, A, NUM_AGENTS, config, seed=0, device="cpu")
    naive = NaiveLearner(args.batch)
    agent.memory.add(*data)
    compiled.memory.add(*data)
    if args.profile:  # the C++ wrapper runs the graph as one call the profiler cannot split
        with inductor_options({"cpp_wrapper": False}):
            compiled.learn(compiled.memory.sample(args.batch))
        profile_compiled(compiled, args.batch)
        return
    compiled.learn(compiled.memory.sample(args.batch))  # compiles, before any timing
    variant = None
    if args.inductor_option:
        variant = Agent(S, A, NUM_AGENTS, config, seed=0, device="cpu", compiled=True)
        variant.memory.add(*data)
        with inductor_options(dict(args.inductor_option)):
            variant.learn(variant.memory.sample(args.batch))
    private.memory.add(*data)
    naive.memory.extend(
        Experience(s, a, np.float32([r]), s2, np.float32([d]))
        for s, a, r, s2, d in zip(*data, strict=True)
    )
    del data

    states = rng.standard_normal((NUM_AGENTS, S), dtype=np.float32)
    benchmarks = {
        "agent updates/s": lambda: agent.learn(agent.memory.sample(args.batch)),
        "compiled updates/s": lambda: compiled.learn(compiled.memory.sample(args.batch)),
        **(
            {"variant updates/s": lambda: variant.learn(variant.memory.sample(args.batch))}
            if variant
            else {}
        ),
        "private updates/s": lambda: private.learn(private.memory.sample(args.batch)),
        "naive updates/s": naive.learn,
        "agent act calls/s": lambda: agent.act(states),
        "naive act calls/s": lambda: naive.act(states),
    }
    rates: dict[str, list[float]] = {name: [] for name in benchmarks}
    for fn in benchmarks.values():  # warm-up
        per_second(fn, 0.3)
    for _ in range(args.blocks):
        for name, fn in benchmarks.items():
            rates[name].append(per_second(fn, args.block_seconds))
    median = {name: statistics.median(r) for name, r in rates.items()}

    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), batch {args.batch}")
    print(f"buffers filled with {args.fill} transitions; {args.blocks} blocks per figure")
    print(f"private-API path: identical parameters after 20 updates: {identical}")
    for name, r in rates.items():
        blocks = ", ".join(f"{x:.0f}" for x in r)
        print(f"{name:>18}: median {median[name]:8.1f}  (blocks {blocks})")
    for who in ("agent", "compiled", "private", "naive"):
        print(f"{who:>7}: {1e3 / median[f'{who} updates/s']:.2f} ms per update")
    if variant:
        options = ", ".join(f"{k}={v!r}" for k, v in args.inductor_option)
        ratio = median["compiled updates/s"] / median["variant updates/s"]
        print(
            f"variant: {1e3 / median['variant updates/s']:.2f} ms per update ({options}): "
            f"x{ratio:.3f} of the compiled agent"
        )
    ours = median["agent updates/s"]
    vs_private = ours / median["private updates/s"]
    vs_naive = ours / median["naive updates/s"]
    act_vs_naive = median["agent act calls/s"] / median["naive act calls/s"]
    print(f"agent / private-API path: updates x{vs_private:.2f}")
    print(f"agent / naive: updates x{vs_naive:.2f}, acting x{act_vs_naive:.2f}")
    print(f"updates_per_s: {ours:.0f} (x{vs_naive:.2f} naive, x{vs_private:.2f} private-API path)")
    compiled_ms = 1e3 / median["compiled updates/s"]
    print(
        f"compiled_ms_per_update: {compiled_ms:.2f} (x{ours / median['compiled updates/s']:.2f} "
        "of the eager agent)"
    )


if __name__ == "__main__":
    main()
