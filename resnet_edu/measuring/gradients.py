"""Gradient flow: how large the gradient is at each layer after one backward pass.

:func:`gradient_norms` measures two things on one batch:

- the **backward signal**: the norm of ``dL/dx`` at the stem's output and at every
  block's output (what the paper calls "backward signals", section 4.1);
- the **weight gradients**: the norm of ``dL/dW`` of every conv and linear layer.

The summary number, used everywhere in the package and the book, is the
**first-to-last ratio**, normalised by the network's identity twin::

    r = (||dL/dx_0|| / ||dL/dx_L||) / (||dL/dx_0|| / ||dL/dx_L|| of the identity twin)

``x_0`` is the stem's output (where the first block starts), ``x_L`` the last block's
output (where the head starts). The numerator, the **raw ratio** (``raw_ratio``), is
not 1 even for a network that passes its gradient through unchanged: the tensors have
different sizes (16x8x8 against 64x2x2 in the digits networks), the ReLU after each
addition drops the gradient where the stem's output is exactly 0, and option A's
transitions drop the gradient of their zero-padded channels. A zero-initialised
ResNet-56 scores about 0.35. The **identity twin**
(:func:`~resnet_edu.measuring.identity_twin.identity_twin`) is the same layout with
every block ``relu(0 + shortcut(x))``: it keeps only what those fixed losses let
through, and it is measured on the same batch. So ``r = 1`` exactly for the twin itself
(and for any zero-initialised option-A ResNet, which is its own twin); ``r < 1`` means
less gradient reaches the stem than the shortcuts alone would deliver (it vanishes),
``r > 1`` more (it grows). For a model that is not one of the package's networks, the
reference is the identity map (raw ratio 1) when the first and last signals have the
same size, and there is none otherwise.

The weight-gradient ratio (first conv over last conv) is kept too, but it hides
vanishing: ``dL/dW`` is the product of a layer's *input* and its backward signal, and
when the forward signal shrinks layer by layer (default init, no BN) the two shrink in
opposite directions and the ratio stays near 1 while every gradient is tiny. Norms are
taken in float64 so that squaring tiny entries does not underflow. Taught in chapter 5.
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
from resnet_edu.measuring.identity_twin import has_identity_twin, identity_twin

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
        reference_profile: the identity reference's backward signal at the same points,
            relative to its last one (``||dL/dx_l|| / ||dL/dx_L||`` of the identity twin;
            all 1 for the identity map); ``None`` where the model has no reference.
    """

    loss: float
    signals: list[SignalGradient]
    weights: list[WeightGradient]
    reference_profile: tuple[float, ...] | None = None

    @property
    def raw_ratio(self) -> float:
        """``||dL/dx_0|| / ||dL/dx_L||``: signal at the stem's output over the last block's, not normalised."""
        return _ratio(self.signals[0].norm, self.signals[-1].norm)

    @property
    def twin_ratio(self) -> float:
        """The raw ratio of the identity reference (the identity twin's; 1 for the identity map)."""
        if self.reference_profile is None:
            raise ValueError(
                "this model has no identity reference: it is not one of the package's networks and its first "
                "and last backward signals differ in size; use raw_ratio, or measure one of the package's networks"
            )
        return self.reference_profile[0]

    @property
    def first_to_last_ratio(self) -> float:
        """The raw ratio divided by the identity twin's: exactly 1 for a network that passes its gradient
        through its shortcuts unchanged, below 1 where the gradient vanishes, above 1 where it grows.
        See the module docstring."""
        return _ratio(self.raw_ratio, self.twin_ratio)

    @property
    def profile(self) -> list[float]:
        """Block by block, ``||dL/dx_l|| / ||dL/dx_L||`` divided by the identity twin's: it starts at
        :attr:`first_to_last_ratio` and ends at 1 (all 1 for the twin itself)."""
        last = self.signals[-1].norm
        reference = self.reference_profile
        if reference is None:
            self.twin_ratio  # raises the clear error
        return [_ratio(_ratio(s.norm, last), ref) for s, ref in zip(self.signals, reference or ())]

    @property
    def weight_ratio(self) -> float:
        """``||dL/dW||`` of the first conv over that of the last conv (the last weighted layer if none)."""
        convs = [w for w in self.weights if w.type.startswith("Conv")] or self.weights
        return _ratio(convs[0].norm, convs[-1].norm)

    def against(self, reference: GradientNorms) -> GradientNorms:
        """This result with ``reference``'s backward-signal profile as its identity reference.

        :func:`gradient_norms` does this with the model's identity twin; the sweep uses it
        to measure one twin per layout and share it.

        Args:
            reference: the identity twin's own result on the same batch.
        """
        if len(reference.signals) != len(self.signals):
            raise ValueError(
                f"the reference must be measured at the same points: it has {len(reference.signals)} "
                f"backward signals, this result {len(self.signals)}"
            )
        last = reference.signals[-1].norm
        profile = tuple(_ratio(s.norm, last) for s in reference.signals)
        return GradientNorms(self.loss, self.signals, self.weights, profile)

    def __str__(self) -> str:
        return text_table(*self._cells(), self._footer())

    def _repr_html_(self) -> str:
        return html_table(*self._cells(), self._footer())

    def _cells(self) -> tuple[list[str], list[list[str]]]:
        cells = [[str(s.index), s.name, f"{s.norm:.3g}"] for s in self.signals]
        return ["block", "output of", "||dL/dx||"], cells

    def _footer(self) -> str:
        footer = f"loss {self.loss:.4g}; raw ratio ||dL/dx_0|| / ||dL/dx_L|| {self.raw_ratio:.3g}"
        if self.reference_profile is not None:
            footer += (f"; identity twin's raw ratio {self.twin_ratio:.3g}; "
                       f"first-to-last ratio {self.first_to_last_ratio:.3g} (identity twin: 1)")
        return footer


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
    *,
    reference: bool = True,
) -> GradientNorms:
    """Per-layer gradient norms after one forward and backward pass on ``batch``.

    The model runs in training mode (BN normalises with the batch's statistics, as
    in training); afterwards its modes, its BN running statistics and its ``.grad``
    fields are as they were (gradients are taken with ``torch.autograd.grad``).
    For the package's networks the identity twin is measured on the same batch too (a
    second pass), and the first-to-last ratio is normalised by it: see the module
    docstring. Taught in chapter 5.

    Args:
        model: a classifier; the package's ResNets get one signal per block, other
            models one per module of ``select_modules(model, "blocks")``.
        batch: ``(images, labels)``.
        loss_fn: ``loss_fn(logits, labels)``; cross-entropy by default.
        reference: measure the identity reference (False: one pass, and only the raw
            ratio; :meth:`GradientNorms.against` adds a reference later).

    Raises:
        TypeError: if ``model`` is not a module or ``batch`` not a pair of tensors.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2 and all(isinstance(t, torch.Tensor) for t in batch)):
        raise TypeError("batch must be a pair (images, labels) of tensors, e.g. next(iter(loader))")
    result, sizes = _backward(model, batch, loss_fn)
    if not reference:
        return result
    if has_identity_twin(model):
        twin, _ = _backward(identity_twin(model), batch, loss_fn)
        return result.against(twin)
    if len(set(sizes)) == 1:  # the identity map passes the gradient unchanged: raw ratio 1 everywhere
        return GradientNorms(result.loss, result.signals, result.weights, tuple(1.0 for _ in sizes))
    return result


def _backward(
    model: nn.Module,
    batch: tuple[torch.Tensor, torch.Tensor],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> tuple[GradientNorms, list[int]]:
    """One forward and backward pass: the norms (no reference), and each signal's number of elements."""
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
    sizes = [out[0].numel() for _, out in signals]  # per example
    return GradientNorms(loss.item(), signal_records, weight_records), sizes
