"""Running a model once and putting it back exactly as it was.

Counting, shape traces, cost tables, gradient measurements, evaluation and the lesion
study all run somebody's model. :func:`model_run` is the one way they do it: it puts
the model into the mode the measurement needs, tells the caller the device and dtype
of the model's weights (so the input can be made to match), and, in a ``finally``,
gives every submodule back the train/eval flag it had. ``model.train(was_training)``
would not: it overwrites submodules set on purpose, such as a BatchNorm frozen in eval
mode inside a model in training mode.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch
from torch import nn

__all__ = ["Placement", "placement", "model_run", "example_input"]


@dataclass(frozen=True)
class Placement:
    """Where a model's weights live: its device and floating-point dtype."""

    device: torch.device
    dtype: torch.dtype


def placement(model: nn.Module) -> Placement:
    """The device and dtype of ``model``'s first floating-point parameter or buffer.

    A model with none (a bare ``nn.ReLU``) is on the CPU in ``float32``. A model built
    on the meta device (``with torch.device("meta"): resnet152()``) reports ``meta``,
    so inputs made for it cost no memory.

    Args:
        model: any module.

    Raises:
        TypeError: if ``model`` is not an ``nn.Module``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    for tensor in list(model.parameters()) + list(model.buffers()):
        if tensor.is_floating_point():
            return Placement(tensor.device, tensor.dtype)
    first = next(model.parameters(), None)
    return Placement(first.device if first is not None else torch.device("cpu"), torch.float32)


@contextmanager
def model_run(model: nn.Module, *, training: bool = False, grad: bool = False) -> Iterator[Placement]:
    """Run ``model`` inside the ``with`` block in one mode, and restore every submodule's mode.

    Args:
        model: the module to run.
        training: ``False`` for eval mode (BatchNorm uses its running statistics), ``True``
            for training mode (batch statistics).
        grad: whether autograd records the forward pass (``True`` to call ``backward``).

    Yields:
        the model's :class:`Placement`, to build inputs on the right device and dtype.
    """
    where = placement(model)
    modes = [(module, module.training) for module in model.modules()]
    try:
        model.train(training)
        with torch.set_grad_enabled(grad):
            yield where
    finally:
        for module, mode in modes:
            module.training = mode


def example_input(where: Placement, size: Sequence[int]) -> torch.Tensor:
    """Zeros of shape ``size`` (batch included) on ``where``'s device and dtype.

    Args:
        where: what :func:`placement` or :func:`model_run` returned.
        size: the input's full shape, e.g. ``(1, 3, 224, 224)``.
    """
    return torch.zeros(tuple(size), device=where.device, dtype=where.dtype)
