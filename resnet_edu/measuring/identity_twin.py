"""The identity twin of a network: the reference that the gradient metric is measured against.

The twin of one of the package's networks (:class:`~resnet_edu.models.networks.ResNet`
with any block) keeps its stem and its head (same modules, same weights) and its
layout (stages, widths, strides), but every block becomes a residual block whose
branch outputs exactly zero and whose shortcut is option A's parameter-free one
(identity, or subsample-and-zero-pad where the shape changes). Each twin block
computes ``relu(0 + shortcut(x))``: the network passes its signal, and its gradient,
through the shortcuts alone. A zero-initialised option-A ResNet is its own twin.

Why a twin and not simply "1": even the identity network does not deliver the whole
gradient from the last block back to the stem, for two reasons. The ReLU after each
addition has derivative 0 where its input is exactly 0, and the stem's output is a ReLU
output, about half of whose entries are exactly 0: their gradient is dropped. And at
each option-A transition the gradient that arrives at the zero-padded channels goes
nowhere (those channels come from no input), so going back from 64 channels to 16
keeps about a quarter of the gradient's energy. The twin measures what survives
these two, so that a ratio against it says only what the branches (or their absence)
change. Taught in chapter 5.
"""

from __future__ import annotations

import copy

from torch import nn

from resnet_edu.models.blocks import BasicBlock
from resnet_edu.models.shortcuts import ZeroPadShortcut


def has_identity_twin(model: nn.Module) -> bool:
    """Whether :func:`identity_twin` can build ``model``'s twin (one of the package's ResNets or plain nets)."""
    return bool(getattr(model, "stage_names", None)) and callable(getattr(model, "named_blocks", None))


def identity_twin(model: nn.Module) -> nn.Module:
    """The identity twin of ``model``: same stem, head and layout, every block ``relu(0 + shortcut(x))``.

    A copy: ``model`` is not changed. Residual blocks are copied with the last layer of
    their branch zeroed (the last norm layer's weight and bias, or the last convolution's
    weight where there is no norm layer, ``norm_layer=nn.Identity``), and a projection
    shortcut (options B and C) is replaced by option A's (a projection would scale the
    gradient, which is what the metric must measure, not hide). A plain block becomes a
    :class:`~resnet_edu.models.blocks.BasicBlock` with option A and a zeroed branch.
    The twin of a twin computes exactly what the twin computes. Taught in chapter 5.

    Args:
        model: one of the package's networks (``cifar_network``, ``resnet18()``, ...).

    Raises:
        TypeError: if ``model`` is not one of the package's ResNets or plain networks.
    """
    if not has_identity_twin(model):
        raise TypeError(
            "identity_twin needs one of the package's networks (with stage_names and named_blocks(), "
            f"e.g. cifar_network(20, 'plain')), got {type(model).__name__}"
        )
    twin = copy.deepcopy(model)
    for name, block in twin.named_blocks():
        stage, index = name.split(".")
        getattr(twin, stage)[int(index)] = _twin_block(block)
    return twin


def _twin_block(block: nn.Module) -> nn.Module:
    """One block of the twin: a residual block (the same one if it has a shortcut) whose branch outputs 0."""
    if not getattr(block, "has_shortcut", False):
        conv1 = block.conv1
        in_channels, channels, stride = conv1.in_channels, conv1.out_channels, conv1.stride[0]
        norm = nn.Identity if isinstance(block.last_bn, nn.Identity) else type(block.last_bn)
        block = BasicBlock(in_channels, channels, stride, shortcut="A", norm_layer=norm).to(conv1.weight)
    downsample = getattr(block, "downsample", None)
    if downsample is not None and not isinstance(downsample, ZeroPadShortcut):
        conv = downsample[0]
        if conv.stride[0] == 1 and conv.in_channels == conv.out_channels:
            block.downsample = None  # option C where the shape is kept: the identity
        else:
            block.downsample = ZeroPadShortcut(conv.in_channels, conv.out_channels, conv.stride[0])
    _zero_branch(block)
    return block


def _zero_branch(block: nn.Module) -> None:
    """Make the residual branch output exactly 0: zero its last norm layer, or its last conv."""
    last = block.last_bn
    if getattr(last, "weight", None) is None:
        convs = [m for n, m in block.named_modules() if isinstance(m, nn.Conv2d) and not n.startswith("downsample")]
        last = convs[-1]
    nn.init.zeros_(last.weight)
    if getattr(last, "bias", None) is not None:
        nn.init.zeros_(last.bias)
