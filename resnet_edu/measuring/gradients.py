"""Gradient flow: how large the gradient is at each layer after one backward pass.

:func:`gradient_norms` measures two things on one batch:

- the **backward signal**: the norm of ``dL/dx`` at the stem's output and at every
  block's output (what the paper calls "backward signals", section 4.1);
- the **weight gradients**: the norm of ``dL/dW`` of every conv and linear layer.

The summary number, used everywhere in the package and the book, is the
**first-to-last ratio** ``||dL/dx_0|| / ||dL/dx_L||``: the backward signal where it
enters the first block (the stem's output ``x_0``) over the signal at the last block's
output ``x_L`` (where the head starts). Below 1 the gradient vanishes on its way to the
input; above 1 it grows. The weight-gradient ratio (first conv over last conv) is kept
too, but it hides vanishing: ``dL/dW`` is the product of a layer's *input* and its
backward signal, and when the forward signal shrinks layer by layer (default init,
no BN) the two shrink in opposite directions and the ratio stays near 1 while every
gradient is tiny. Norms are taken in float64 so that squaring tiny entries does not
underflow. Taught in chapter 5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from resnet_edu.core.tabular import html_table, text_table
from resnet_edu.core.running import model_run
from resnet_edu.core.levels import select_modules

_WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


@dataclass(frozen=True)
class WeightGradient:
    """The gradient of one weighted layer's weight.

    Attributes:
        index: the layer's position among the conv/linear layers, in call order (0 = stem conv).
        name: its path in the model (``"layer2.0.conv1"``).
        type: its class name (``"Conv2d"``, ``"Linear"``).
        norm: ``||dL/dW||`` (Frobenius norm).
        numel: the number of weights (to compare layers of different sizes).
    """

    index: int
    name: str
    type: str
    norm: float
    numel: int


@dataclass(frozen=True)
class SignalGradient:
    """The gradient of the loss with respect to one block's output (the backward signal).

    Attributes:
        index: 0 for the stem's output, k for the k-th block's output.
        name: the module whose output it is (``"stem"``, ``"layer1.0"``).
        norm: ``||dL/dx||`` over the whole batch.
    """

    index: int
    name: str
    norm: float


@dataclass
class GradientNorms:
    """The result of :func:`gradient_norms`.

    Attributes:
        loss: the loss of the batch.
        signals: the backward signal at the stem and at each block, input to output.
        weights: the weight gradient of each conv/linear layer, input to output.
    """

    loss: float
    signals: list[SignalGradient]
    weights: list[WeightGradient]

    @property
    def first_to_last_ratio(self) -> float:
        """``||dL/dx_0|| / ||dL/dx_L||``: signal at the stem's output over the last block's output."""
        return _ratio(self.signals[0].norm, self.signals[-1].norm)

    @property
    def weight_ratio(self) -> float:
        """``||dL/dW||`` of the first conv over that of the last conv (the last weighted layer if none)."""
        convs = [w for w in self.weights if w.type.startswith("Conv")] or self.weights
        return _ratio(convs[0].norm, convs[-1].norm)

    def __str__(self) -> str:
        return text_table(*self._cells(), self._footer())

    def _repr_html_(self) -> str:
        return html_table(*self._cells(), self._footer())

    def _cells(self) -> tuple[list[str], list[list[str]]]:
        cells = [[str(s.index), s.name, f"{s.norm:.3g}"] for s in self.signals]
        return ["block", "output of", "||dL/dx||"], cells

    def _footer(self) -> str:
        return f"loss {self.loss:.4g}; first-to-last ratio {self.first_to_last_ratio:.3g}"


def _ratio(first: float, last: float) -> float:
    if last == 0.0:
        return float("nan") if first == 0.0 else float("inf")
    return first / last


def _signal_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Where the backward signal is measured: the stem's end and every block (ResNets),
    or every module of :func:`select_modules` at level ``"blocks"`` (any other model)."""
    stage_names = getattr(model, "stage_names", None)
    if not stage_names:
        return select_modules(model, "blocks")
    blocks = [(f"{s}.{i}", b) for s in stage_names for i, b in enumerate(getattr(model, s))]
    return [("stem", model.maxpool)] + blocks


def gradient_norms(
    model: nn.Module,
    batch: tuple[torch.Tensor, torch.Tensor],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy,
) -> GradientNorms:
    """Per-layer gradient norms after one forward and backward pass on ``batch``.

    The model runs in training mode (BN normalises with the batch's statistics, as
    in training); afterwards its modes, its BN running statistics and its ``.grad``
    fields are as they were (gradients are taken with ``torch.autograd.grad``).
    See the module docstring for the first-to-last ratio. Taught in chapter 5.

    Args:
        model: a classifier; the package's ResNets get one signal per block, other
            models one per module of ``select_modules(model, "blocks")``.
        batch: ``(images, labels)``.
        loss_fn: ``loss_fn(logits, labels)``; cross-entropy by default.

    Raises:
        TypeError: if ``model`` is not a module or ``batch`` not a pair of tensors.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2 and all(isinstance(t, torch.Tensor) for t in batch)):
        raise TypeError("batch must be a pair (images, labels) of tensors, e.g. next(iter(loader))")

    signals: list[tuple[str, torch.Tensor]] = []
    layers: list[tuple[str, nn.Module]] = []
    names = {m: n for n, m in model.named_modules()}
    hooks = [
        m.register_forward_hook(lambda _m, _i, out, n=n: signals.append((n, out)))
        for n, m in _signal_modules(model)
    ]
    hooks += [
        m.register_forward_hook(lambda mod, _i, _o: layers.append((names[mod], mod)))
        for m in model.modules() if isinstance(m, _WEIGHTED)
    ]
    buffers = {name: b.clone() for name, b in model.named_buffers()}
    try:
        with model_run(model, training=True, grad=True) as where:
            images, labels = batch[0].to(where.device), batch[1].to(where.device)
            loss = loss_fn(model(images), labels)
            signals = [(n, out) for n, out in signals if isinstance(out, torch.Tensor) and out.requires_grad]
            weights = [m.weight for _, m in layers]
            grads = torch.autograd.grad(loss, weights + [out for _, out in signals], allow_unused=True)
    finally:
        for hook in hooks:
            hook.remove()
        with torch.no_grad():
            for name, b in model.named_buffers():
                b.copy_(buffers[name])
    norm = lambda g: 0.0 if g is None else g.double().norm().item()  # noqa: E731
    weight_records = [
        WeightGradient(i, n, type(m).__name__, norm(g), m.weight.numel())
        for i, ((n, m), g) in enumerate(zip(layers, grads[: len(layers)]))
    ]
    signal_records = [SignalGradient(i, n, norm(g)) for i, ((n, _), g) in enumerate(zip(signals, grads[len(layers):]))]
    return GradientNorms(loss.item(), signal_records, weight_records)
