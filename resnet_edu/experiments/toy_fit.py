"""Chapter 1's toy experiment: fit a near-identity map with plain and residual toy stacks.

The task (:func:`near_identity_task`): inputs ``x`` in R^8 drawn at random, targets
``h(x) = x + 0.2 tanh(A x)`` for a fixed random matrix ``A``, close to the identity.
:func:`toy_experiment` builds plain and residual stacks of several depths from the same random
draws (:func:`~resnet_edu.models.toy.toy_stack`), measures their signals at initialisation
(:func:`toy_signals`: the forward signal's standard deviation and the input-gradient norm) and
fits each with full-batch Adam (:func:`fit_toy`), recording the mean squared error at every step.
It is the degradation problem with nothing else in the way: every stack starts with healthy
signals in both directions, and the deeper plain stacks still fit worse. Taught in chapter 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from resnet_edu.core.arguments import check_choice, check_positive_int
from resnet_edu.core.tabular import Table
from resnet_edu.core.threads import small_network_threads, torch_threads
from resnet_edu.models.toy import TOY_KINDS, toy_stack


def near_identity_task(samples: int = 256, features: int = 8, strength: float = 0.2,
                       seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs ``x ~ N(0, I)`` and targets ``x + strength * tanh(A x)``, ``A`` random with variance 1/features.

    Args:
        samples: rows of ``x``.
        features: the dimension of ``x``.
        strength: how far the target is from the identity.
        seed: seed of ``x`` and ``A`` (a private generator: the global one is untouched).

    Returns:
        ``(x, y)``, both ``(samples, features)``.
    """
    check_positive_int("samples", samples)
    check_positive_int("features", features)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(samples, features, generator=generator)  # (N, D)
    a = torch.randn(features, features, generator=generator) / features**0.5  # (D, D)
    return x, x + strength * torch.tanh(x @ a.T)


def toy_signals(model: nn.Module, inputs: torch.Tensor, seed: int = 2) -> tuple[float, float]:
    """The forward and backward signal of ``model`` on ``inputs``, both 1 for the identity.

    Returns ``(forward std, input-gradient norm)``: the standard deviation of the output, and
    ``||g J|| / ||g||``, the norm of the gradient that reaches the input when a random gradient
    ``g`` (standard normal, of the output's shape) arrives at the output, over the norm of ``g``.
    ``J`` is the Jacobian of the output with respect to the input (every partial derivative
    ``d out_i / d in_j``). Far below 1 the gradient vanishes on its way back, far above 1 it explodes.

    Args:
        model: a toy stack (any module mapping ``(N, D)`` to ``(N, D')``).
        inputs: ``(N, D)``.
        seed: seed of ``g`` (a private generator).
    """
    x = inputs.detach().clone().requires_grad_(True)
    out = model(x)
    g = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed))
    (grad,) = torch.autograd.grad(out, x, g)
    return out.std().item(), (grad.norm() / g.norm()).item()


def fit_toy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int = 200, lr: float = 5e-3) -> list[float]:
    """Fit ``model`` to ``y`` with full-batch Adam; return the mean squared error before each step.

    Adam (Kingma and Ba 2015) scales each weight's step by its own gradient history, which keeps
    these stacks without normalisation layers stable at one learning rate for every depth.

    Args:
        model: trained in place.
        x: inputs ``(N, D)``.
        y: targets ``(N, D)``.
        steps: optimisation steps (each on the whole data set).
        lr: Adam's learning rate.
    """
    check_positive_int("steps", steps)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, foreach=False)
    losses = []
    for _ in range(steps):
        loss = F.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@dataclass
class ToyExperiment:
    """What :func:`toy_experiment` measured; prints as a table, one row per stack.

    Attributes:
        signals: ``(kind, blocks) -> (forward std, input-gradient norm)`` at initialisation.
        losses: ``(kind, blocks) -> `` the mean squared error before each step.
        models: ``(kind, blocks) -> `` the trained stack.
        steps: the number of steps.
    """

    signals: dict[tuple[str, int], tuple[float, float]] = field(default_factory=dict)
    losses: dict[tuple[str, int], list[float]] = field(default_factory=dict)
    models: dict[tuple[str, int], nn.Module] = field(default_factory=dict)
    steps: int = 0

    @property
    def final(self) -> dict[tuple[str, int], float]:
        """``(kind, blocks) -> `` the mean squared error at the last step."""
        return {key: losses[-1] for key, losses in self.losses.items()}

    def table(self) -> Table:
        headers = ["stack", "blocks", "forward std at init", "input-gradient norm at init",
                   "loss at start", f"loss after {self.steps} steps"]
        rows = [[kind, str(blocks), f"{std:.2f}", f"{gain:.2f}", f"{self.losses[kind, blocks][0]:#.2g}",
                 f"{self.losses[kind, blocks][-1]:#.2g}"]
                for (kind, blocks), (std, gain) in self.signals.items()]
        return Table(headers, rows)

    def __str__(self) -> str:
        return str(self.table())

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()


def toy_experiment(
    x: torch.Tensor,
    y: torch.Tensor,
    depths: Sequence[int] = (1, 4, 16),
    kinds: Sequence[str] = TOY_KINDS,
    *,
    hidden: int = 32,
    steps: int = 200,
    lr: float = 5e-3,
    seed: int = 0,
) -> ToyExperiment:
    """Build, measure and fit one toy stack per (depth, kind); see the module docstring.

    Args:
        x: inputs ``(N, D)`` (also used to scale the initial weights).
        y: targets ``(N, D)``.
        depths: numbers of blocks.
        kinds: any of ``"plain"``, ``"residual"``.
        hidden: hidden units per block.
        steps: Adam steps per stack.
        lr: Adam's learning rate.
        seed: seed of the initial weights (the same for every stack).
    """
    for kind in kinds:
        check_choice("kind", kind, TOY_KINDS)
    result = ToyExperiment(steps=steps)
    with torch_threads(small_network_threads(None)):
        for blocks in depths:
            for kind in kinds:
                model = toy_stack(kind, blocks, x, hidden=hidden, seed=seed)
                result.signals[kind, blocks] = toy_signals(model, x)
                result.losses[kind, blocks] = fit_toy(model, x, y, steps=steps, lr=lr)
                result.models[kind, blocks] = model
    return result
