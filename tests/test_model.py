"""Actor and Critic: the baseline recipe's architectures, fan-in initialisation, options."""

import math

import pytest
import torch
from torch import nn

from model import Actor, Critic


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_default_architectures_have_the_reported_sizes():
    assert n_params(Actor(33, 4)) == 42_950
    assert n_params(Critic(33, 4)) == 21_571


def test_output_shapes_and_action_range():
    torch.manual_seed(0)
    actor, critic = Actor(33, 4), Critic(33, 4)
    states = 10 * torch.randn(64, 33)
    actions = actor(states)
    assert actions.shape == (64, 4)
    assert actions.abs().max() <= 1.0
    assert critic(states, actions).shape == (64, 1)


@pytest.mark.parametrize(
    ("make", "layer", "fan_in"),
    [
        (lambda: Actor(33, 4), "fc1", 33),
        (lambda: Actor(33, 4), "fc2", 256),
        (lambda: Critic(33, 4), "fc2", 132),  # hidden 128 + the action
    ],
)
def test_hidden_layers_use_fan_in_bounds(make, layer, fan_in):
    torch.manual_seed(0)
    weight = getattr(make(), layer).weight
    bound = 1 / math.sqrt(fan_in)
    # Close to the bound from below: a fan-out bound (the course bug) would be far off.
    assert 0.95 * bound < weight.abs().max() <= bound


@pytest.mark.parametrize("net", [Actor(33, 4), Critic(33, 4)])
def test_final_layers_start_small(net):
    assert net.fc3.weight.abs().max() <= 3e-3
    assert net.fc3.bias.abs().max() <= 3e-3


def test_output_bound_none_gives_the_output_layers_the_fan_in_bound():
    torch.manual_seed(0)
    for net, fan_in in (
        (Actor(33, 4, output_bound=None), 128),
        (Critic(33, 4, output_bound=None), 128),
    ):
        bound = 1 / math.sqrt(fan_in)
        assert 0.95 * bound < net.fc3.weight.abs().max() <= bound  # far above 3e-3


def test_critic_can_take_the_action_at_its_input():
    torch.manual_seed(0)
    critic = Critic(33, 4, hidden=(48, 16), batch_norm=False, action_at_input=True)
    assert critic.fc1.weight.shape == (48, 33 + 4)
    assert critic.fc2.weight.shape == (16, 48)
    states, actions = torch.randn(8, 33), torch.rand(8, 4) * 2 - 1
    q = critic(states, actions)
    assert q.shape == (8, 1)
    # The action reaches Q through the first layer: changing it changes Q.
    assert not torch.equal(q, critic(states, -actions))


def test_hidden_sizes_and_batch_norm_are_configurable():
    actor = Actor(33, 4, hidden=(64, 32), batch_norm=False)
    critic = Critic(33, 4, hidden=(48, 16), batch_norm=False)
    for net in (actor, critic):
        assert not any(isinstance(m, nn.BatchNorm1d) for m in net.modules())
    assert actor.fc2.weight.shape == (32, 64)
    assert critic.fc2.weight.shape == (16, 48 + 4)
    assert actor(torch.randn(1, 33)).shape == (1, 4)  # no BatchNorm: a batch of 1 is fine


def test_layers_are_called_as_modules_so_summaries_and_hooks_see_them():
    # torchinfo lists the modules that run (through forward hooks): every Linear must show.
    from torchinfo import summary

    actor = str(summary(Actor(33, 4), input_size=(8, 33), verbose=0))
    critic = str(summary(Critic(33, 4), input_size=[(8, 33), (8, 4)], verbose=0))
    assert actor.count("Linear") == 3 and actor.count("BatchNorm1d") == 3
    assert critic.count("Linear") == 3 and critic.count("BatchNorm1d") == 1
