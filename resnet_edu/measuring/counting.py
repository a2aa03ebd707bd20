"""Counting a network: its depth (weighted layers), parameters and multiply-accumulates (MACs).

The paper's "FLOPs" (Table 1: 1.8 / 3.6 / 3.8 / 7.6 / 11.3 x10^9) are multiply-adds,
i.e. MACs. PyTorch's own counter reports FLOPs = 2 x MACs, so we halve it.
Taught in chapter 4.
"""

from __future__ import annotations

from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from resnet_edu.core.running import example_input, model_run


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """The number of scalars in ``model``'s parameters (each shared tensor counted once).

    Args:
        model: any module.
        trainable_only: count only parameters with ``requires_grad=True``.
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_macs(model: nn.Module, input_size: tuple[int, ...] = (1, 3, 224, 224)) -> int:
    """Multiply-accumulates of one forward pass, counted by ``torch.utils.flop_counter``.

    Runs the model once on zeros of ``input_size`` in eval mode under ``torch.no_grad()``
    (:func:`~resnet_edu.core.running.model_run`: every submodule's mode is restored). A
    model built under ``with torch.device("meta"):`` is counted without allocating
    its weights. Counts convolutions and matrix products (the fc);
    BN, ReLU, pooling and the additions of the shortcuts are not counted, as in the paper.

    Args:
        model: the network.
        input_size: the input's shape, batch included (MACs scale with the batch).
    """
    with model_run(model) as where, FlopCounterMode(display=False) as counter:
        model(example_input(where, input_size))
    return counter.get_total_flops() // 2


def count_weighted_layers(model: nn.Module) -> int:
    """The depth in a network's name: convolutions and linear layers on the main path.

    He et al. 2015 count "weighted layers" (Table 1, section 4.2): every convolution
    and the fc, but not the 1x1 projections of the shortcuts, which live in modules
    named ``downsample`` (torchvision's name, kept by this package). So
    ``resnet50()`` gives 50, ``resnet20()`` gives 20 and their plain twins the same.
    Each module object is counted once. Taught in chapter 4.

    Args:
        model: any module; layers under a ``downsample`` submodule are left out.

    Raises:
        TypeError: if ``model`` is not an ``nn.Module``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return sum(
        isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)) and "downsample" not in name.split(".")
        for name, module in model.named_modules()
    )
