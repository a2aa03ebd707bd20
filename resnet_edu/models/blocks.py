"""The building blocks, in the order the book teaches them.

- :class:`PlainBlock`: two 3x3 conv-BN-ReLU layers, no shortcut (chapter 2's baseline).
- :class:`BasicBlock`: the same two layers plus a shortcut, ``relu(F(x) + x)`` (chapter 2).
- :class:`Bottleneck`: 1x1 reduce, 3x3, 1x1 expand, plus a shortcut (chapter 3).
- :class:`PreActBlock`: BN-ReLU-conv twice, then the add, nothing after (chapter 7).
- :class:`PreActBottleneck`: BN-ReLU-conv three times (1x1, 3x3, 1x1), then the add (chapter 7).

Names follow torchvision (``conv1, bn1, relu, conv2, bn2, downsample``), so state_dicts
load both ways. As in torchvision, the ReLUs are in place and the add is
``out += identity``: no extra copy of each activation, so a training step is as fast
and as lean as torchvision's. Each in-place operation only overwrites a tensor the
block itself just made (a norm layer's or a convolution's output), never the block's
input or output, so forward hooks on blocks (chapter 5) see every output as it was.
The exceptions are the pre-activation blocks, whose first ReLU acts on ``bn1(x)``: that is
``x`` itself when ``norm_layer=nn.Identity``, so their ReLUs are not in place.

Each block has ``out_channels``, the class attribute ``expansion`` (out_channels /
channels), ``has_shortcut`` (False only for :class:`PlainBlock`) and the property
``last_bn``: the norm layer whose weight zero-init sets to 0 (chapter 7). Every block
compiles with ``torch.jit.script``, traces with ``torch.fx`` and exports with
``torch.export``, like torchvision's.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from resnet_edu.core.arguments import check_positive_int
from resnet_edu.models.shortcuts import make_shortcut

NormLayer = Callable[[int], nn.Module]


def conv3x3(in_channels: int, out_channels: int, stride: int = 1, groups: int = 1, dilation: int = 1) -> nn.Conv2d:
    """A 3x3 convolution with padding ``dilation`` (1 by default) and no bias (the BN after it has one).

    Args:
        in_channels: input channels.
        out_channels: output channels.
        stride: 1 keeps H and W; 2 halves them (rounding up).
        groups: split the channels into this many groups, each convolved on its own
            (ResNeXt's "cardinality"); 1 is an ordinary convolution.
        dilation: spacing of the kernel's taps; padding grows with it, so H and W are kept.
    """
    return nn.Conv2d(
        in_channels, out_channels, kernel_size=3, stride=stride, padding=dilation,
        groups=groups, bias=False, dilation=dilation,
    )


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """A 1x1 convolution with no bias: mixes channels, touches no neighbours.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        stride: 1 keeps H and W; 2 keeps every other pixel.
    """
    return nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)


def _check_sizes(in_channels: int, channels: int, stride: int) -> None:
    check_positive_int("in_channels", in_channels)
    check_positive_int("channels", channels)
    check_positive_int("stride", stride)


class PlainBlock(nn.Module):
    """Two 3x3 conv-BN-ReLU layers and no shortcut: the unit of a "plain" network.

    He et al. 2015, section 3.3 ("Plain Network"): the baseline that gets *worse* as it
    gets deeper (Figure 1), which residual learning fixes. ``out = relu(bn2(conv2(
    relu(bn1(conv1(x))))))``. Taught in chapter 2 (and trained against ResNets in chapter 6).

    Args:
        in_channels: channels of the input.
        channels: channels of both convolutions (and of the output).
        stride: stride of the first convolution (2 halves H and W).
        norm_layer: norm constructor; ``nn.Identity`` turns BN off (chapter 5).
    """

    expansion: int = 1
    has_shortcut: bool = False
    __jit_unused_properties__ = ["last_bn"]

    def __init__(
        self, in_channels: int, channels: int, stride: int = 1, norm_layer: NormLayer = nn.BatchNorm2d
    ) -> None:
        super().__init__()
        _check_sizes(in_channels, channels, stride)
        self.out_channels = channels * self.expansion
        self.conv1 = conv3x3(in_channels, channels, stride)
        self.bn1 = norm_layer(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(channels, channels)
        self.bn2 = norm_layer(channels)

    @property
    def last_bn(self) -> nn.Module:
        """The block's last norm layer (``bn2``); kept for uniformity with residual blocks."""
        return self.bn2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(x)  # (N, C, H/s, W/s)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)  # (N, C, H/s, W/s)
        out = self.bn2(out)
        return self.relu(out)  # no "+ x": nothing skips the two layers


class BasicBlock(nn.Module):
    """The residual block: ``out = relu(F(x) + shortcut(x))``, two 3x3 layers in ``F``.

    He et al. 2015, section 3.1-3.2 and Figure 2: instead of asking two layers to fit
    ``H(x)``, let them fit the residual ``F(x) = H(x) - x`` and add ``x`` back. Where
    the block changes shape, the shortcut is option A, B or C of sections 3.3 and 4.1 (see
    :mod:`resnet_edu.models.shortcuts`). Used by ResNet-18/34 and the CIFAR ResNets.
    Taught in chapter 2.

    Args:
        in_channels: channels of the input.
        channels: channels of both convolutions (and of the output).
        stride: stride of the first convolution (2 halves H and W).
        shortcut: ``"A"``, ``"B"`` (default, as torchvision) or ``"C"``.
        norm_layer: norm constructor; ``nn.Identity`` turns BN off (chapter 5).
        zeros: option A only: where the zero channels go, ``"both"`` or ``"end"``
            (see :class:`~resnet_edu.models.shortcuts.ZeroPadShortcut`).
    """

    expansion: int = 1
    has_shortcut: bool = True
    __jit_unused_properties__ = ["last_bn"]

    def __init__(
        self,
        in_channels: int,
        channels: int,
        stride: int = 1,
        shortcut: str = "B",
        norm_layer: NormLayer = nn.BatchNorm2d,
        zeros: str = "both",
    ) -> None:
        super().__init__()
        _check_sizes(in_channels, channels, stride)
        self.out_channels = channels * self.expansion
        self.conv1 = conv3x3(in_channels, channels, stride)
        self.bn1 = norm_layer(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(channels, channels)
        self.bn2 = norm_layer(channels)
        self.downsample = make_shortcut(shortcut, in_channels, self.out_channels, stride, norm_layer, zeros)

    @property
    def last_bn(self) -> nn.Module:
        """The last norm layer of the residual branch ``F`` (``bn2``)."""
        return self.bn2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x  # (N, C_in, H, W)
        out = self.conv1(x)  # (N, C, H/s, W/s)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)  # (N, C, H/s, W/s)
        out = self.bn2(out)  # F(x)
        if self.downsample is not None:
            identity = self.downsample(x)  # (N, C, H/s, W/s)
        out += identity  # F(x) + x, in place: out is this block's own tensor
        return self.relu(out)


class Bottleneck(nn.Module):
    """The bottleneck block: 1x1 reduce to ``channels``, 3x3, 1x1 expand to 4x ``channels``.

    He et al. 2015, section 4.1 ("Deeper Bottleneck Architectures") and Figure 5: the
    1x1 layers shrink and restore the width so the costly 3x3 works on a quarter of the
    channels. Used by ResNet-50/101/152. Taught in chapter 3.

    Where the stride sits is a choice. The paper puts it on the first 1x1
    (``stride_in_1x1=True``): 3.86 / 7.57 / 11.28 GMACs for ResNet-50/101/152.
    torchvision ("ResNet V1.5", the default here) puts it on the 3x3, which sees every
    input pixel instead of skipping three in four; it costs more (4.09 / 7.80 / 11.51
    GMACs) and is about 0.5 % more accurate on ImageNet top-1. Parameters are the same.

    The rest of torchvision's family changes only the middle: its width is
    ``int(channels * base_width / 64) * groups``, and the 3x3 is a grouped convolution.
    ResNeXt (Xie et al. 2017, "Aggregated Residual Transformations", arXiv:1611.05431)
    uses ``groups=32, base_width=4`` (``resnext50_32x4d``: 32 groups of 4 channels, a
    128-channel 3x3 in the first stage where ResNet-50 has 64); Wide ResNet-50-2 (Zagoruyko and
    Komodakis 2016, arXiv:1605.07146) keeps ``groups=1`` and doubles ``base_width``.
    ``dilation`` spaces the 3x3's taps (torchvision's ``replace_stride_with_dilation``).

    Args:
        in_channels: channels of the input.
        channels: the stage's width; the output has ``4 * channels``.
        stride: 2 halves H and W (on the 3x3 or on the first 1x1, see above).
        shortcut: ``"A"``, ``"B"`` (default, as torchvision) or ``"C"``.
        stride_in_1x1: True for the paper's placement, False for torchvision's.
        norm_layer: norm constructor; ``nn.Identity`` turns BN off (chapter 5).
        zeros: option A only: where the zero channels go (``"both"`` or ``"end"``).
        groups: groups of the 3x3 convolution (ResNeXt's cardinality).
        base_width: channels per group at ``channels=64`` (64 for ResNet, 4 or 8 for ResNeXt).
        dilation: dilation (and padding) of the 3x3 convolution.
    """

    expansion: int = 4
    has_shortcut: bool = True
    __jit_unused_properties__ = ["last_bn"]

    def __init__(
        self,
        in_channels: int,
        channels: int,
        stride: int = 1,
        shortcut: str = "B",
        stride_in_1x1: bool = False,
        norm_layer: NormLayer = nn.BatchNorm2d,
        zeros: str = "both",
        groups: int = 1,
        base_width: int = 64,
        dilation: int = 1,
    ) -> None:
        super().__init__()
        _check_sizes(in_channels, channels, stride)
        check_positive_int("groups", groups)
        check_positive_int("base_width", base_width)
        check_positive_int("dilation", dilation)
        width = int(channels * (base_width / 64.0)) * groups  # the 3x3's channels: `channels` for ResNet
        if width == 0:
            raise ValueError(f"the bottleneck width int({channels} * {base_width} / 64) * {groups} is 0; "
                             "raise channels or base_width")
        stride_1x1, stride_3x3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self.out_channels = channels * self.expansion
        self.conv1 = conv1x1(in_channels, width, stride_1x1)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride_3x3, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, self.out_channels)
        self.bn3 = norm_layer(self.out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = make_shortcut(shortcut, in_channels, self.out_channels, stride, norm_layer, zeros)

    @property
    def last_bn(self) -> nn.Module:
        """The last norm layer of the residual branch ``F`` (``bn3``)."""
        return self.bn3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x  # (N, C_in, H, W)
        out = self.conv1(x)  # (N, W, H, W)      reduce to the width W (H/s with stride_in_1x1)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)  # (N, W, H/s, W/s)  3x3 (grouped for ResNeXt)
        out = self.bn2(out)
        out = self.relu(out)
        out = self.conv3(out)  # (N, 4C, H/s, W/s) expand
        out = self.bn3(out)  # F(x)
        if self.downsample is not None:
            identity = self.downsample(x)  # (N, 4C, H/s, W/s)
        out += identity  # F(x) + x, in place: out is this block's own tensor
        return self.relu(out)


class PreActBlock(nn.Module):
    """Full pre-activation: ``out = x + conv2(relu(bn2(conv1(relu(bn1(x))))))``.

    He et al. 2016, "Identity Mappings in Deep Residual Networks", section 4 and
    Figure 4(e): moving BN and ReLU *before* each convolution leaves nothing after the
    add, so ``x_L = x_l + sum F(x_i)`` holds exactly and the gradient reaches every
    block through the "1" of ``dE/dx_l = dE/dx_L (1 + ...)``. A network of these needs
    one last BN-ReLU after its final block; :class:`~resnet_edu.models.networks.ResNet` adds it.

    The first block of a network is special (the paper's appendix): "we adopt the first
    activation right after conv1 and before splitting into two paths". Its input is already
    the stem's BN-ReLU, so it is built with ``preactivate=False``: no ``bn1``, and both paths
    take that activated input. :class:`~resnet_edu.models.networks.ResNet` does this, so a
    network has one BN-ReLU between the stem convolution and the first block's ``conv1``.

    Elsewhere the shortcut (``downsample``) takes the raw ``x``, so the identity path of
    Figure 4(e) carries nothing but ``x``; where the shape changes, options A/B/C mean what
    they mean for :class:`BasicBlock`. Taught in chapter 7.

    Args:
        in_channels: channels of the input.
        channels: channels of both convolutions (and of the output).
        stride: stride of the first convolution (2 halves H and W).
        shortcut: ``"A"``, ``"B"`` (default) or ``"C"``.
        norm_layer: norm constructor; ``nn.Identity`` turns BN off (chapter 5).
        zeros: option A only: where the zero channels go (``"both"`` or ``"end"``).
        preactivate: False for the block right after the stem, whose input the stem's
            BN-ReLU has already activated: then ``bn1`` is ``None``.
    """

    expansion: int = 1
    has_shortcut: bool = True
    preactivation: bool = True
    __jit_unused_properties__ = ["last_bn"]

    def __init__(
        self,
        in_channels: int,
        channels: int,
        stride: int = 1,
        shortcut: str = "B",
        norm_layer: NormLayer = nn.BatchNorm2d,
        zeros: str = "both",
        preactivate: bool = True,
    ) -> None:
        super().__init__()
        _check_sizes(in_channels, channels, stride)
        _check_bool("preactivate", preactivate)
        self.out_channels = channels * self.expansion
        self.bn1 = norm_layer(in_channels) if preactivate else None
        self.relu = nn.ReLU()  # not in place: without BN, bn1(x) is x itself (the shortcut's input)
        self.conv1 = conv3x3(in_channels, channels, stride)
        self.bn2 = norm_layer(channels)
        self.conv2 = conv3x3(channels, channels)
        self.downsample = make_shortcut(shortcut, in_channels, self.out_channels, stride, norm_layer, zeros)

    @property
    def last_bn(self) -> nn.Module:
        """The last norm layer of the residual branch (``bn2``): zeroing it zeroes ``F``."""
        return self.bn2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x  # (N, C_in, H, W)
        out = x
        if self.bn1 is not None:  # None in the first block: the stem's BN-ReLU came before
            out = self.bn1(out)
            out = self.relu(out)
        out = self.conv1(out)  # (N, C, H/s, W/s)
        out = self.bn2(out)
        out = self.relu(out)
        out = self.conv2(out)  # (N, C, H/s, W/s): F(x)
        if self.downsample is not None:
            identity = self.downsample(x)  # (N, C, H/s, W/s)
        return out + identity  # F(x) + x, no ReLU after the add


class PreActBottleneck(nn.Module):
    """The pre-activation bottleneck: BN-ReLU-1x1, BN-ReLU-3x3, BN-ReLU-1x1, then the add.

    He et al. 2016, appendix: the CIFAR ResNet-164 and ResNet-1001 replace each
    ``[3x3, 16; 3x3, 16]`` unit of ResNet-110 by ``[1x1, 16; 3x3, 16; 1x1, 64]``
    (``channels=16``, output ``4 * channels``), and "when reducing the feature map size we
    use projection shortcuts [1] for increasing dimensions, and when pre-activation is used,
    these projection shortcuts are also with pre-activation". So where the block has a
    shortcut module, BN-ReLU comes *before* the split: the shortcut's 1x1 convolution (no
    norm layer after it: the next block's BN normalises the sum) and ``conv1`` both read
    ``relu(bn1(x))``. Where the shortcut is the identity it carries the raw ``x``. The stride
    is on the first 1x1, as in the paper (and in its authors' code, resnet-1k-layers).
    Taught in chapter 7.

    Args:
        in_channels: channels of the input.
        channels: the bottleneck's width; the output has ``4 * channels``.
        stride: stride of the first 1x1 convolution and of the projection (2 halves H and W).
        shortcut: ``"A"``, ``"B"`` (default: projection where the shape changes) or ``"C"``.
        norm_layer: norm constructor; ``nn.Identity`` turns BN off.
        zeros: option A only: where the zero channels go (``"both"`` or ``"end"``).
        preactivate: False for the block right after the stem (see :class:`PreActBlock`).
    """

    expansion: int = 4
    has_shortcut: bool = True
    preactivation: bool = True
    __jit_unused_properties__ = ["last_bn"]

    def __init__(
        self,
        in_channels: int,
        channels: int,
        stride: int = 1,
        shortcut: str = "B",
        norm_layer: NormLayer = nn.BatchNorm2d,
        zeros: str = "both",
        preactivate: bool = True,
    ) -> None:
        super().__init__()
        _check_sizes(in_channels, channels, stride)
        _check_bool("preactivate", preactivate)
        self.out_channels = channels * self.expansion
        self.bn1 = norm_layer(in_channels) if preactivate else None
        self.relu = nn.ReLU()  # not in place: without BN, bn1(x) is x itself (the shortcut's input)
        self.conv1 = conv1x1(in_channels, channels, stride)
        self.bn2 = norm_layer(channels)
        self.conv2 = conv3x3(channels, channels)
        self.bn3 = norm_layer(channels)
        self.conv3 = conv1x1(channels, self.out_channels)
        # Pre-activated projection: its input is already normalised, so no norm layer after it.
        self.downsample = make_shortcut(shortcut, in_channels, self.out_channels, stride, nn.Identity, zeros)

    @property
    def last_bn(self) -> nn.Module:
        """The last norm layer of the residual branch (``bn3``): zeroing it zeroes ``F``."""
        return self.bn3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x  # (N, C_in, H, W)
        out = x
        if self.bn1 is not None:  # None in the first block: the stem's BN-ReLU came before
            out = self.bn1(out)
            out = self.relu(out)
        if self.downsample is not None:
            identity = self.downsample(out)  # (N, 4C, H/s, W/s): pre-activated projection
        out = self.conv1(out)  # (N, C, H/s, W/s) reduce
        out = self.bn2(out)
        out = self.relu(out)
        out = self.conv2(out)  # (N, C, H/s, W/s) 3x3
        out = self.bn3(out)
        out = self.relu(out)
        out = self.conv3(out)  # (N, 4C, H/s, W/s) expand: F(x)
        return out + identity  # nothing after the add


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
