"""Chapter 1's toy stacks: tiny fully connected blocks, chained plainly or with the input added back.

A :class:`ToyBlock` computes ``f(x) = W2 relu(W1 x + b1) + b2``. A *plain* stack chains them,
``x_i = f_i(x_{i-1})``; a *residual* stack wraps each in :class:`ToyResidual`,
``x_i = x_{i-1} + f_i(x_{i-1})``. :func:`toy_stack` builds either from the same random draws.

Healthy signal propagation, without any normalisation layer: each block's last layer is rescaled
at initialisation so that, on the training inputs, a plain block's output has standard deviation 1
and a residual branch's output 1/sqrt(blocks) (so that the sum of the input and every branch keeps
its size). This data-dependent scaled init is Mishkin and Matas' LSUV (2016, "All you need is a
good init") reduced to one scale per block. No normalisation layer, so a plain block can compute
the identity exactly (:func:`identity_toy_block`): the constructed solution of He et al. 2015,
section 1. Taught in chapter 1.
"""

from __future__ import annotations

import torch
from torch import nn

from resnet_edu.core.arguments import check_choice, check_positive_int

TOY_KINDS: tuple[str, ...] = ("plain", "residual")


class ToyBlock(nn.Module):
    """``f(x) = fc2(relu(fc1(x)))``: one hidden layer of ``hidden`` ReLUs, ``features`` in and out.

    Args:
        features: the size of the input and of the output.
        hidden: the number of hidden units.
    """

    def __init__(self, features: int, hidden: int) -> None:
        super().__init__()
        check_positive_int("features", features)
        check_positive_int("hidden", hidden)
        self.fc1 = nn.Linear(features, hidden)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden, features)
        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")  # variance 2 / features
        nn.init.normal_(self.fc2.weight, std=hidden**-0.5)  # variance 1 / hidden
        nn.init.zeros_(self.fc1.bias)
        nn.init.zeros_(self.fc2.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.fc1(x)  # (N, hidden)
        out = self.relu(out)
        return self.fc2(out)  # (N, features)


class ToyResidual(nn.Module):
    """``x + f(x)``: a toy block with its input added back.

    Args:
        f: the residual branch, a :class:`ToyBlock`.
    """

    def __init__(self, f: nn.Module) -> None:
        super().__init__()
        self.f = f

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.f(x)  # (N, features)
        return out + identity


@torch.no_grad()
def toy_stack(kind: str, blocks: int, inputs: torch.Tensor, hidden: int = 32, seed: int = 0) -> nn.Sequential:
    """A plain or residual stack of ``blocks`` toy blocks, scaled on ``inputs`` at initialisation.

    The blocks' weights are drawn after ``torch.manual_seed(seed)``, so a plain and a residual
    stack of the same size start from the same draws. Then, block by block, the last layer
    (``fc2``, weight and bias) is divided by the standard deviation of the block's output on the
    signal that reaches it, times ``sqrt(blocks)`` for a residual branch: the forward signal
    keeps its size at every depth (see the module docstring).

    Args:
        kind: ``"plain"`` or ``"residual"``.
        blocks: the number of blocks.
        inputs: training inputs ``(N, features)``, used only to scale the initial weights.
        hidden: hidden units per block.
        seed: seed of the random draws.

    Raises:
        ValueError: for an unknown ``kind``, ``blocks`` or ``hidden`` below 1, or ``inputs``
            that is not a 2-D tensor with at least two rows.
        TypeError: if ``blocks`` or ``hidden`` is not an int.
    """
    check_choice("kind", kind, TOY_KINDS)
    check_positive_int("blocks", blocks)
    if not (isinstance(inputs, torch.Tensor) and inputs.dim() == 2 and inputs.shape[0] >= 2):
        raise ValueError(f"inputs must be a 2-D tensor (N, features) with N >= 2, got {_describe(inputs)}")
    torch.manual_seed(seed)
    layers = [ToyBlock(inputs.shape[1], hidden) for _ in range(blocks)]
    target_std = 1.0 if kind == "plain" else blocks**-0.5
    signal = inputs
    for block in layers:
        scale = target_std / block(signal).std()
        block.fc2.weight.mul_(scale)
        block.fc2.bias.mul_(scale)
        signal = block(signal) if kind == "plain" else signal + block(signal)
    if kind == "residual":
        layers = [ToyResidual(block) for block in layers]
    return nn.Sequential(*layers)


@torch.no_grad()
def identity_toy_block(features: int, hidden: int = 32) -> ToyBlock:
    """A plain toy block whose weights make it compute the identity exactly.

    ``relu(x) - relu(-x) = x``: hidden units ``0..features-1`` carry ``relu(x)``, units
    ``features..2*features-1`` carry ``relu(-x)``, ``fc2`` subtracts them; every other weight
    and every bias is zero. Needs ``hidden >= 2 * features``.

    Raises:
        ValueError: if ``hidden < 2 * features``.
    """
    check_positive_int("features", features)
    if not (isinstance(hidden, int) and hidden >= 2 * features):
        raise ValueError(f"hidden must be an int >= 2 * features = {2 * features} to carry relu(x) and relu(-x), "
                         f"got {hidden!r}")
    block = ToyBlock(features, hidden)
    eye = torch.eye(features)
    for layer in (block.fc1, block.fc2):
        layer.weight.zero_()
        layer.bias.zero_()
    block.fc1.weight[:features] = eye  # hidden units 0..features-1 carry relu(x)
    block.fc1.weight[features:2 * features] = -eye  # the next features units carry relu(-x)
    block.fc2.weight[:, :features] = eye
    block.fc2.weight[:, features:2 * features] = -eye  # relu(x) - relu(-x) = x
    return block


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return type(value).__name__
