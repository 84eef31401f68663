"""Actor and critic networks of the DDPG agent (PyTorch). They know nothing of Unity.

The defaults are the architectures this project started from, so that the course convention
``Actor(33, 4).load_state_dict(torch.load("checkpoints/checkpoint_actor.pth"))`` works:

- ``Actor``:  BN(33) -> 256 -> BN -> ReLU -> 128 -> BN -> ReLU -> 4 -> tanh   (42,950 parameters)
- ``Critic``: BN(33) -> 128 -> ReLU -> concat(action) -> 128 -> ReLU -> 1      (21,571 parameters)

Hidden layers use fan-in initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in the
number of INPUTS of the layer (the course template used ``weight.size()[0]``, the number of
outputs), which is also PyTorch's default bound. Final layers start at U(-3e-3, 3e-3) so that
the first actions and Q-values are near zero (Lillicrap et al. 2016, section 7);
``output_bound=None`` gives them the fan-in bound too, as TD3 and Stable-Baselines3 do. The
critic can also take the action at its input (``action_at_input=True``, as in TD3). The
agent's defaults (``ddpg_agent.DDPGConfig``) use both options; the actor's layers and their
shapes are the same either way.
"""

import math

import torch
from torch import nn


def fan_in_init_(layer: nn.Linear) -> nn.Linear:
    """Initialise weights and biases uniformly in +-1/sqrt(fan_in), fan_in = in_features."""
    bound = 1.0 / math.sqrt(layer.in_features)
    nn.init.uniform_(layer.weight, -bound, bound)
    nn.init.uniform_(layer.bias, -bound, bound)
    return layer


def final_init_(layer: nn.Linear, bound: float | None = 3e-3) -> nn.Linear:
    """Initialise an output layer uniformly in +-bound; None: the fan-in bound."""
    if bound is None:
        return fan_in_init_(layer)
    nn.init.uniform_(layer.weight, -bound, bound)
    nn.init.uniform_(layer.bias, -bound, bound)
    return layer


def _norm(size: int, batch_norm: bool) -> nn.Module:
    return nn.BatchNorm1d(size) if batch_norm else nn.Identity()


class Actor(nn.Module):
    """Deterministic policy mu(s) -> action in [-1, 1]^action_size."""

    def __init__(
        self,
        state_size: int,
        action_size: int,
        hidden: tuple[int, int] = (256, 128),
        batch_norm: bool = True,
        output_bound: float | None = 3e-3,
    ) -> None:
        super().__init__()
        h1, h2 = hidden
        self.bn0 = _norm(state_size, batch_norm)
        self.fc1 = fan_in_init_(nn.Linear(state_size, h1))
        self.bn1 = _norm(h1, batch_norm)
        self.fc2 = fan_in_init_(nn.Linear(h1, h2))
        self.bn2 = _norm(h2, batch_norm)
        self.fc3 = final_init_(nn.Linear(h2, action_size), output_bound)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        x = self.bn0(states)
        x = torch.relu(self.bn1(self.fc1(x)))
        x = torch.relu(self.bn2(self.fc2(x)))
        return torch.tanh(self.fc3(x))


class Critic(nn.Module):
    """Action-value function Q(s, a); the action joins after the first hidden layer, or with
    ``action_at_input`` at the input, next to the (normalised) state."""

    def __init__(
        self,
        state_size: int,
        action_size: int,
        hidden: tuple[int, int] = (128, 128),
        batch_norm: bool = True,
        output_bound: float | None = 3e-3,
        action_at_input: bool = False,
    ) -> None:
        super().__init__()
        h1, h2 = hidden
        self.action_at_input = action_at_input
        at_input, at_second = (action_size, 0) if action_at_input else (0, action_size)
        self.bn0 = _norm(state_size, batch_norm)
        self.fc1 = fan_in_init_(nn.Linear(state_size + at_input, h1))
        self.fc2 = fan_in_init_(nn.Linear(h1 + at_second, h2))
        self.fc3 = final_init_(nn.Linear(h2, 1), output_bound)

    def forward(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Return Q-values of shape (batch, 1)."""
        x = self.bn0(states)
        if self.action_at_input:
            x = torch.cat((x, actions), dim=1)
        x = torch.relu(self.fc1(x))
        if not self.action_at_input:
            x = torch.cat((x, actions), dim=1)
        x = torch.relu(self.fc2(x))
        return self.fc3(x)
