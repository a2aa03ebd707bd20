"""The shortcut path of a residual block, and the paper's three options for it.

When a block keeps the shape of its input, the shortcut is the identity: ``x`` itself.
When it halves the resolution and widens the channels, ``x`` no longer fits ``F(x)``
and the shortcut must reshape it. He et al. 2015 introduce options A and B in section 3.3
and compare three in section 4.1:

- **A**: no parameters. Subsample by the stride and pad the new channels with zeros
  (half before the input's channels and half after, by default: see :class:`ZeroPadShortcut`).
- **B**: a 1x1 convolution (+ BN) "projection", only where the shape changes.
- **C**: a projection on every shortcut, even where the identity would fit.

Table 3 of the paper: A, B and C give 25.03 / 24.52 / 24.19 % top-1 error for ResNet-34,
so the projections help a little; B is torchvision's choice, A the CIFAR networks'.

Taught in chapter 2.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from resnet_edu.core.arguments import check_choice, check_positive_int

SHORTCUT_OPTIONS: tuple[str, ...] = ("A", "B", "C")
#: Where option A puts its zero channels: half before and half after the input's ("both",
#: the default) or all after them ("end").
ZERO_PLACEMENTS: tuple[str, ...] = ("both", "end")


class ZeroPadShortcut(nn.Module):
    """Option A: subsample by the stride, then pad the extra channels with zeros.

    He et al. 2015, section 4.1: "(A) zero-padding shortcuts are used for increasing
    dimensions, and all shortcuts are parameter-free". The paper does not say where the
    zero channels go. The default, ``zeros="both"``, puts half of them before the input's
    channels and half after (``extra // 2`` before, the rest after), as the most-used CIFAR
    implementation with published checkpoints does (akamaster/pytorch_resnet_cifar10:
    ``F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, planes // 4, planes // 4))``), so its weights
    compute here what they computed there. ``zeros="end"`` appends them all after the
    input's channels. Both have no parameters, but they are different functions: a
    network trained with one scores badly with the other. Taught in chapter 2.

    Args:
        in_channels: channels of the block's input.
        out_channels: channels of the block's output (>= ``in_channels``).
        stride: spatial subsampling factor (the block's stride).
        zeros: ``"both"`` (default) or ``"end"``: where the zero channels go.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, zeros: str = "both") -> None:
        super().__init__()
        check_positive_int("in_channels", in_channels)
        check_positive_int("out_channels", out_channels)
        check_positive_int("stride", stride)
        check_choice("zeros", zeros, ZERO_PLACEMENTS)
        if out_channels < in_channels:
            raise ValueError(
                "option A can only add channels (zero padding), not remove them: got "
                f"in_channels={in_channels} > out_channels={out_channels}; use option B or C"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.zeros = zeros
        extra = out_channels - in_channels
        self.pad_before: int = extra // 2 if zeros == "both" else 0
        self.pad_after: int = extra - self.pad_before

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]  # (N, C_in, H/s, W/s)
        # (N, C_out, H/s, W/s): pad_before zero channels, the input's, pad_after zero channels
        return F.pad(x, (0, 0, 0, 0, self.pad_before, self.pad_after))

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}, zeros={self.zeros!r}"


def projection(
    in_channels: int,
    out_channels: int,
    stride: int,
    norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
) -> nn.Sequential:
    """Options B and C: a 1x1 convolution (no bias) followed by a norm layer.

    Named ``downsample.0`` (conv) and ``downsample.1`` (norm) inside a block, as in
    torchvision. Taught in chapter 2.

    Args:
        in_channels: channels of the block's input.
        out_channels: channels of the block's output.
        stride: the block's stride.
        norm_layer: the norm layer's constructor, called with ``out_channels``.
    """
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
        norm_layer(out_channels),
    )


def make_shortcut(
    option: str,
    in_channels: int,
    out_channels: int,
    stride: int,
    norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
    zeros: str = "both",
) -> nn.Module | None:
    """The shortcut module for one block under option A, B or C (paper sections 3.3 and 4.1).

    Returns ``None`` where the shortcut is the identity (the block then adds ``x``
    itself), a :class:`ZeroPadShortcut` for option A where the shape changes, and a
    1x1 projection for option B where the shape changes and for option C always.
    Taught in chapter 2.

    Args:
        option: ``"A"``, ``"B"`` or ``"C"``.
        in_channels: channels of the block's input.
        out_channels: channels of the block's output.
        stride: the block's stride.
        norm_layer: the projection's norm layer (options B and C).
        zeros: option A only: where the zero channels go (see :class:`ZeroPadShortcut`).
    """
    check_choice("shortcut option", option, SHORTCUT_OPTIONS)
    check_positive_int("in_channels", in_channels)
    check_positive_int("out_channels", out_channels)
    check_positive_int("stride", stride)
    shape_changes = stride != 1 or in_channels != out_channels
    if option == "C" or (option == "B" and shape_changes):
        return projection(in_channels, out_channels, stride, norm_layer)
    if option == "A" and shape_changes:
        return ZeroPadShortcut(in_channels, out_channels, stride, zeros)
    return None
