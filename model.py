"""Actor and critic networks of the DDPG agent (PyTorch). They know nothing of Unity.

The defaults are the seed report's architectures, so that the course convention
``Actor(33, 4).load_state_dict(torch.load("checkpoints/checkpoint_actor.pth"))`` works:

- ``Actor``:  BN(33) -> 256 -> BN -> ReLU -> 128 -> BN -> ReLU -> 4 -> tanh   (42,950 parameters)
- ``Critic``: BN(33) -> 128 -> ReLU -> concat(action) -> 128 -> ReLU -> 1      (21,571 parameters)

Hidden layers use fan-in initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in the
number of INPUTS of the layer (the course template used ``weight.size()[0]``, the number of
outputs). Final layers start at U(-3e-3, 3e-3) so that the first actions and Q-values are
near zero (Lillicrap et al. 2016, section 7).
"""

import math

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn


def fan_in_init_(layer: nn.Linear) -> nn.Linear:
    """Initialise weights and biases uniformly in +-1/sqrt(fan_in), fan_in = in_features."""
    bound = 1.0 / math.sqrt(layer.in_features)
    nn.init.uniform_(layer.weight, -bound, bound)
    nn.init.uniform_(layer.bias, -bound, bound)
    return layer


def final_init_(layer: nn.Linear, bound: float = 3e-3) -> nn.Linear:
    """Initialise an output layer uniformly in +-bound."""
    nn.init.uniform_(layer.weight, -bound, bound)
    nn.init.uniform_(layer.bias, -bound, bound)
    return layer


def _norm(size: int, batch_norm: bool) -> nn.Module:
    return nn.BatchNorm1d(size) if batch_norm else nn.Identity()


def _normalise(norm: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``norm(x)``, with a shortcut for the training-mode BatchNorm of every learner update.

    ``BatchNorm1d.forward`` spends about as long in Python (mode and argument checks) as the
    kernel takes on a batch of 256; DDPG updates are overhead-bound on the CPU and run 9 such
    layers. The shortcut makes exactly the calls ``forward`` makes in this case (count the
    batch, then ``torch.batch_norm`` with batch statistics and a running-average update).
    Anything else (eval mode, Identity, a batch of one, which ``forward`` rejects, a module
    with hooks) calls ``norm(x)``.
    """
    if (
        type(norm) is nn.BatchNorm1d
        and norm.training
        and norm.track_running_stats
        and norm.momentum is not None
        and x.dim() == 2
        and x.shape[0] > 1
        and not (norm._forward_hooks or norm._forward_pre_hooks)
    ):
        norm.num_batches_tracked.add_(1)
        return torch.batch_norm(
            x,
            norm.weight,
            norm.bias,
            norm.running_mean,
            norm.running_var,
            True,
            norm.momentum,
            norm.eps,
            torch.backends.cudnn.enabled,
        )
    return norm(x)


class Actor(nn.Module):
    """Deterministic policy mu(s) -> action in [-1, 1]^action_size."""

    def __init__(
        self,
        state_size: int,
        action_size: int,
        hidden: tuple[int, int] = (256, 128),
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        h1, h2 = hidden
        self.bn0 = _norm(state_size, batch_norm)
        self.fc1 = fan_in_init_(nn.Linear(state_size, h1))
        self.bn1 = _norm(h1, batch_norm)
        self.fc2 = fan_in_init_(nn.Linear(h1, h2))
        self.bn2 = _norm(h2, batch_norm)
        self.fc3 = final_init_(nn.Linear(h2, action_size))

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        # F.linear on the layers' weights skips nn.Module.__call__ (~1 us each, 15 per update:
        # updates are overhead-bound on the CPU). In-place ReLU saves an allocation per layer;
        # legal because neither BatchNorm's nor Linear's backward needs its own output.
        fc1, fc2, fc3 = self.fc1, self.fc2, self.fc3
        x = _normalise(self.bn0, states)
        x = _normalise(self.bn1, F.linear(x, fc1.weight, fc1.bias)).relu_()
        x = _normalise(self.bn2, F.linear(x, fc2.weight, fc2.bias)).relu_()
        return torch.tanh(F.linear(x, fc3.weight, fc3.bias))


class Critic(nn.Module):
    """Action-value function Q(s, a); the action joins after the first hidden layer."""

    def __init__(
        self,
        state_size: int,
        action_size: int,
        hidden: tuple[int, int] = (128, 128),
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        h1, h2 = hidden
        self.bn0 = _norm(state_size, batch_norm)
        self.fc1 = fan_in_init_(nn.Linear(state_size, h1))
        self.fc2 = fan_in_init_(nn.Linear(h1 + action_size, h2))
        self.fc3 = final_init_(nn.Linear(h2, 1))

    def forward(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Return Q-values of shape (batch, 1)."""
        # F.linear and in-place ReLU for the same reasons as in the actor.
        fc1, fc2, fc3 = self.fc1, self.fc2, self.fc3
        x = F.linear(_normalise(self.bn0, states), fc1.weight, fc1.bias).relu_()
        x = F.linear(torch.cat((x, actions), dim=1), fc2.weight, fc2.bias).relu_()
        return F.linear(x, fc3.weight, fc3.bias)
