"""The compiled update computes what the eager agent computes.

``compiled_update.CompiledUpdate`` rewrites the agent's update as one function of tensors
(``torch.func`` gradients, Adam written out) so that ``torch.compile`` can fuse it. In float64
it must agree with the eager ``Agent.learn`` (``nn.Module``s, fused ``torch.optim.Adam``,
``clip_grad_norm_``) to 1e-9 after several updates, first as plain Python (fast, so every
config variant is covered), then compiled by inductor (one compile, about a minute cold).
"""

import getpass
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch
from test_reference_training import NETWORKS, random_batches

from compiled_update import unsupported
from ddpg_agent import Agent, DDPGConfig

STATE, ACTION = 33, 4


def float64_agent(config: DDPGConfig, compiled: bool) -> Agent:
    agent = Agent(STATE, ACTION, 20, config, seed=5, device="cpu", compiled=compiled)
    for name in (*NETWORKS, "critic2_local", "critic2_target"):
        if (network := getattr(agent, name)) is not None:
            network.double()  # before the first update, which builds the graph
    return agent


def assert_same_networks(agent: Agent, reference: Agent) -> None:
    for name in NETWORKS:
        expected = getattr(reference, name).state_dict()
        for key, value in getattr(agent, name).state_dict().items():
            torch.testing.assert_close(
                value, expected[key], rtol=1e-9, atol=1e-12, msg=f"{name}.{key}"
            )


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"critic_action_input": True, "output_init": None},
        {"batch_norm": False, "critic_grad_clip": None, "critic_weight_decay": 1e-2},
    ],
)
def test_the_update_function_matches_the_eager_agent_in_float64(settings, monkeypatch):
    monkeypatch.delenv("REACHER_QUICK", raising=False)
    monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)  # nothing is compiled here
    monkeypatch.setattr(torch, "compile", lambda function, **_: function)  # plain Python
    config = DDPGConfig(buffer_size=1000, **settings)
    eager, functional = float64_agent(config, False), float64_agent(config, True)
    for batch in random_batches(5):
        critic_loss, actor_loss = eager.learn(batch)
        losses = functional.learn(batch)
        torch.testing.assert_close(losses, (critic_loss, actor_loss), rtol=1e-9, atol=0)
    assert functional.compiled and functional._compiled_update is not None
    assert functional.updates == eager.updates == 5
    assert_same_networks(functional, eager)


@pytest.mark.timeout(400)
def test_the_compiled_update_matches_the_eager_agent_in_float64(capsys, monkeypatch):
    monkeypatch.delenv("REACHER_QUICK", raising=False)  # short mode stays eager
    config = DDPGConfig(buffer_size=1000)
    if reason := unsupported(config):  # a platform where the agent stays eager by design
        pytest.skip(f"the agent does not compile here: {reason}")
    eager, compiled = float64_agent(config, False), float64_agent(config, True)
    for batch in random_batches(5):
        eager.learn(batch)
        compiled.learn(batch)
    assert "compiled the learner's update in" in capsys.readouterr().out
    leftover = Path(tempfile.gettempdir()) / f"torchinductor_{getpass.getuser()}"
    assert not (leftover / "precompiled_headers").exists()  # nothing in the temporary folder
    assert compiled.compiled
    assert_same_networks(compiled, eager)


def test_importing_the_trainer_points_inductor_at_the_user_cache():
    # Importing torch._inductor fixes its default (the temporary folder) in the environment,
    # so compiled_update must set its own first, whatever imports it.
    environment = {k: v for k, v in os.environ.items() if k != "TORCHINDUCTOR_CACHE_DIR"}
    code = "import os, train, compiled_update; print(os.environ['TORCHINDUCTOR_CACHE_DIR'])"
    run = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
    )
    from compiled_update import CACHE_DIR

    assert run.stdout.strip() == str(CACHE_DIR / "inductor")


def test_td3_options_fall_back_to_eager_with_one_line(capsys, monkeypatch):
    monkeypatch.delenv("REACHER_QUICK", raising=False)
    agent = float64_agent(DDPGConfig(buffer_size=1000, twin_critics=True), True)
    agent.learn(random_batches(1)[0])
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("the learner's update runs eagerly: the TD3 options")
    assert not agent.compiled and agent.updates == 1


def test_short_mode_stays_eager_with_one_line(capsys, monkeypatch):
    monkeypatch.setenv("REACHER_QUICK", "1")
    agent = float64_agent(DDPGConfig(buffer_size=1000), True)
    agent.learn(random_batches(1)[0])
    (line,) = capsys.readouterr().out.splitlines()
    assert line == (
        "the learner's update runs eagerly: REACHER_QUICK=1 (short runs do not pay for compiling)"
    )
    assert not agent.compiled and agent._compiled_update is None


def test_scalar_only_torch_stays_eager_with_one_line(capsys, monkeypatch):
    # ATEN_CPU_CAPABILITY=default emulates a CPU without vector instructions: inductor's
    # scalar C++ for this graph does not compile (torch 2.13), so the agent must not try.
    monkeypatch.delenv("REACHER_QUICK", raising=False)
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "default")
    agent = float64_agent(DDPGConfig(buffer_size=1000), True)
    agent.learn(random_batches(1)[0])
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("the learner's update runs eagerly: ATEN_CPU_CAPABILITY=default")
    assert not agent.compiled and agent._compiled_update is None
