"""Learner-style implementations for tests/test_checks.py: correct ones and broken ones.

Each broken one carries a bug a learner really writes (several are the seed notes' own)
and is paired, in CORPUS, with the checker that must catch it and a phrase its hint
must contain.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


def projection(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))


# ---------------------------------------------------------------- correct solutions

class GoodPlain(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)))


class GoodBasic(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)  # in-place on fresh tensors is fine
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = projection(in_channels, out_channels, stride)

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)


class GoodBottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_channels, channels, stride=1):
        super().__init__()
        out_channels = 4 * channels
        self.conv1 = nn.Conv2d(in_channels, channels, 1, stride=stride, bias=False)  # paper: stride on 1x1
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = conv3x3(channels, channels)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv3 = nn.Conv2d(channels, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = projection(in_channels, out_channels, stride)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + self.shortcut(x))


class GoodPreAct(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = projection(in_channels, out_channels, stride)

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        return out + identity


def good_zero_pad(x, out_channels, stride):
    x = x[:, :, ::stride, ::stride]
    return F.pad(x, (0, 0, 0, 0, 0, out_channels - x.shape[1]))


def good_zero_pad_both_sides(x, out_channels, stride):
    """The package's default placement (akamaster's CIFAR checkpoints): half before, half after."""
    x = x[:, :, ::stride, ::stride]
    extra = out_channels - x.shape[1]
    return F.pad(x, (0, 0, 0, 0, extra // 2, extra - extra // 2))


def good_zero_pad_front(x, out_channels, stride):
    """All zero channels first: the paper does not say where they go, so this passes too."""
    x = x[:, :, ::stride, ::stride]
    return F.pad(x, (0, 0, 0, 0, out_channels - x.shape[1], 0))


def good_make_stage(block_cls, in_channels, channels, num_blocks, stride):
    blocks = [block_cls(in_channels, channels, stride)]
    for _ in range(1, num_blocks):
        blocks.append(block_cls(channels * block_cls.expansion, channels, 1))
    return nn.Sequential(*blocks)


def good_cifar_depth(depth):
    if depth < 8 or (depth - 2) % 6 != 0:
        raise ValueError(f"a CIFAR ResNet has 6n + 2 layers (8, 14, 20, ...), got {depth}")
    return (depth - 2) // 6


# ---------------------------------------------------------------- broken blocks

class NoSuper(GoodBasic):
    def __init__(self, in_channels, out_channels, stride=1):
        self.conv1 = conv3x3(in_channels, out_channels, stride)  # super().__init__() forgotten


class NoSuperNoLayers(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        self.stride = stride  # nothing assigned that would fail, but nn.Module is not set up

    def forward(self, x):
        return x


class StillStub(GoodBasic):
    def forward(self, x):
        raise NotImplementedError()


class ForwardBug(GoodBasic):
    def forward(self, x):
        out = self.conv1(x).flatten(1)  # a flatten that has no place in a block
        return self.bn1(out)


class NoForward(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = conv3x3(in_channels, out_channels, stride)

    def foward(self, x):  # misspelt
        return self.conv1(x)


class ReturnsTuple(GoodBasic):
    def forward(self, x):
        out = super().forward(x)
        return out, x


class ReturnsNone(GoodBasic):
    def forward(self, x):
        self.result = super().forward(x)


class IgnoresOutChannels(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = conv3x3(in_channels, in_channels, stride)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv2 = conv3x3(in_channels, in_channels)
        self.bn2 = nn.BatchNorm2d(in_channels)
        self.downsample = projection(in_channels, in_channels, stride) if stride != 1 else None

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + identity)


class NoProjection(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + x)


class NoProjectionStride1(NoProjection):
    """Projects when the stride changes but forgets a change of channels alone."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.downsample = projection(in_channels, out_channels, stride) if stride != 1 else None

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + identity)


class NoFinalRelu(GoodBasic):
    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.bn2(self.conv2(out)) + identity


class IgnoresStride(GoodBasic):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, 1)


class NanOutput(GoodBasic):
    def forward(self, x):
        out = super().forward(x)
        return out / (out - out).sum()  # "normalising" by a sum that is always zero


class MissingPaddingSeed002(GoodBasic):
    """Seed 002: nn.Conv2d(in, out, kernel_size=3, stride=stride) with no padding."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, bias=False)


class DownsampleNeverStoredSeed004(nn.Module):
    """Seed 004: __init__ takes downsample but never stores it."""

    def __init__(self, in_channels, out_channels, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class BnAfterAdd(GoodBasic):
    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out) + identity)  # the add moved before bn2
        return self.relu(out)


class ConvBias(GoodBasic):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)


class LazyBlock(GoodBasic):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.conv1 = nn.LazyConv2d(out_channels, 3, stride=stride, padding=1, bias=False)


class PythonList(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.layers = [conv3x3(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels)]
        self.downsample = projection(in_channels, out_channels, stride)

    def forward(self, x):
        out = x
        for layer in self.layers:
            out = layer(out)
        return F.relu(out + self.downsample(x))


class SharedBn(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn = nn.BatchNorm2d(out_channels)  # one BN for both convolutions
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = projection(in_channels, out_channels, stride)

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn(self.conv1(x)))
        return F.relu(self.bn(self.conv2(out)) + identity)


_LAYER_CACHE: dict = {}


def cached_conv3x3(cin, cout):
    """A "helper" that hands out the same layer for the same sizes: shared weights."""
    if (cin, cout) not in _LAYER_CACHE:
        _LAYER_CACHE[cin, cout] = conv3x3(cin, cout)
    return _LAYER_CACHE[cin, cout]


class SharedAcrossInstances(GoodBasic):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.conv2 = cached_conv3x3(out_channels, out_channels)


class AlwaysProjects(GoodBasic):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.downsample = projection(in_channels, out_channels, stride)  # option C


class OptionA(GoodBasic):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.out_channels = out_channels
        self.downsample = None

    def forward(self, x):
        identity = good_zero_pad(x, self.out_channels, self.conv1.stride[0])
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class NotAModule:
    def __init__(self, in_channels, out_channels, stride=1):
        self.conv1 = conv3x3(in_channels, out_channels, stride)

    def __call__(self, x):
        return self.conv1(x)


class WrongSignature(GoodBasic):
    def __init__(self, channels):
        super().__init__(channels, channels)


class Detached(GoodBasic):
    def forward(self, x):
        return super().forward(x).detach()


class ChangesInput(GoodBasic):
    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        identity += self.bn2(self.conv2(out))  # writes into x itself when identity is x
        return self.relu(identity)


class UnusedConv(GoodBasic):
    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.bn1(self.conv1(x))  # conv2 and bn2 forgotten
        return self.relu(out + identity)


# ---------------------------------------------------------------- broken bottlenecks

class Conv3OnXSeed002(GoodBottleneck):
    """Seed 002: `Fx = self.conv3(x)` throws away conv1 and conv2."""

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(x))
        return F.relu(out + self.shortcut(x))


class NoExpansion(GoodBottleneck):
    expansion = 1


class BottleneckNoExpand(nn.Module):
    expansion = 4

    def __init__(self, in_channels, channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = conv3x3(channels, channels, stride)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv3 = nn.Conv2d(channels, channels, 1, bias=False)  # forgot * 4
        self.bn3 = nn.BatchNorm2d(channels)
        self.shortcut = projection(in_channels, channels, stride)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        return F.relu(self.bn3(self.conv3(out)) + self.shortcut(x))


class Conv2WrongInput(GoodBottleneck):
    def __init__(self, in_channels, channels, stride=1):
        super().__init__(in_channels, channels, stride)
        self.conv2 = conv3x3(in_channels, channels)  # should take `channels`


# ---------------------------------------------------------------- broken plain / pre-act blocks

class PlainWithShortcut(GoodPlain):
    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if out.shape == x.shape:
            out = out + x
        return F.relu(out)


class PlainNoPadding(GoodPlain):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, bias=False)


class PreActReluAfterAdd(GoodPreAct):
    def forward(self, x):
        return F.relu(super().forward(x))


# ---------------------------------------------------------------- broken functions

def zero_pad_avg(x, out_channels, stride):
    x = F.avg_pool2d(x, stride) if stride > 1 else x
    return F.pad(x, (0, 0, 0, 0, 0, out_channels - x.shape[1]))


def zero_pad_reversed(x, out_channels, stride):
    x = x[:, :, ::stride, ::stride].flip(1)
    return F.pad(x, (0, 0, 0, 0, 0, out_channels - x.shape[1]))


def zero_pad_learnable(x, out_channels, stride):
    return nn.Conv2d(x.shape[1], out_channels, 1, stride=stride, bias=False)(x)


def zero_pad_no_subsample(x, out_channels, stride):
    return F.pad(x, (0, 0, 0, 0, 0, out_channels - x.shape[1]))


def make_stage_list_times_seed000(block_cls, in_channels, channels, num_blocks, stride):
    """Seed 000: `[IdenticalBlock(...)] * n` repeats one object."""
    first = block_cls(in_channels, channels, stride)
    rest = [block_cls(channels * block_cls.expansion, channels, 1)] * (num_blocks - 1)
    return nn.Sequential(first, *rest)


def make_stage_tuple_loop_seed002(block_cls, in_channels, channels, num_blocks, stride):
    """Seed 002: `for _ in (1, block_num)` always adds two more blocks."""
    blocks = [block_cls(in_channels, channels, stride)]
    for _ in (1, num_blocks):
        blocks.append(block_cls(channels * block_cls.expansion, channels, 1))
    return nn.Sequential(*blocks)


def make_stage_returns_list(block_cls, in_channels, channels, num_blocks, stride):
    return list(good_make_stage(block_cls, in_channels, channels, num_blocks, stride))


def make_stage_stride_everywhere(block_cls, in_channels, channels, num_blocks, stride):
    blocks = [block_cls(in_channels, channels, stride)]
    for _ in range(1, num_blocks):
        blocks.append(block_cls(channels * block_cls.expansion, channels, stride))
    return nn.Sequential(*blocks)


def make_stage_same_in_channels(block_cls, in_channels, channels, num_blocks, stride):
    blocks = [block_cls(in_channels, channels, stride)]
    for _ in range(1, num_blocks):
        blocks.append(block_cls(in_channels, channels, 1))
    return nn.Sequential(*blocks)


def cifar_depth_assert(depth):
    assert (depth - 2) % 6 == 0
    return (depth - 2) // 6


def cifar_depth_float(depth):
    if (depth - 2) % 6:
        raise ValueError("6n + 2")
    return (depth - 2) / 6


def cifar_depth_wrong(depth):
    if (depth - 2) % 6:
        raise ValueError("6n + 2")
    return (depth - 2) // 3


# (checker name, implementation, phrase the hint must contain)
CORPUS = [
    ("check_basic_block", NoSuper, "super().__init__()"),
    ("check_basic_block", NoSuperNoLayers, "super().__init__()"),
    ("check_basic_block", StillStub, "not written yet"),
    ("check_basic_block", ForwardBug, "line"),
    ("check_basic_block", NoForward, "has no forward method"),
    ("check_basic_block", ReturnsTuple, "returned a tuple of 2 items"),
    ("check_basic_block", ReturnsNone, "forget `return out`"),
    ("check_basic_block", IgnoresOutChannels, "the output has 16 channels, expected 32"),
    ("check_basic_block", NoProjection, "With stride 2 the shortcut needs a projection too"),
    ("check_basic_block", NoProjectionStride1, "the two tensors have 32 and 16 channels"),
    ("check_basic_block", NoFinalRelu, "Apply ReLU after the addition"),
    ("check_basic_block", IgnoresStride, "ignores stride"),
    ("check_basic_block", NanOutput, "NaN or inf"),
    ("check_basic_block", MissingPaddingSeed002, "the residual branch shrank. Every 3x3 convolution needs padding=1"),
    ("check_basic_block", DownsampleNeverStoredSeed004, "forward uses self.downsample, but __init__ never sets it"),
    ("check_basic_block", BnAfterAdd, "yours returns zeros"),
    ("check_basic_block", ConvBias, "bias=False"),
    ("check_basic_block", LazyBlock, "lazy layer"),
    ("check_basic_block", PythonList, "nn.ModuleList"),
    ("check_basic_block", SharedBn, "self.bn is used more than once"),
    ("check_basic_block", SharedAcrossInstances, "share self.conv2"),
    ("check_basic_block", AlwaysProjects, "although the shape does not change"),
    ("check_basic_block", OptionA, "the 1x1 projection on the shortcut is missing"),
    ("check_basic_block", NotAModule, "does not inherit from nn.Module"),
    ("check_basic_block", GoodBasic(16, 16), "pass the class itself"),
    ("check_basic_block", WrongSignature, "does your __init__ take these arguments"),
    ("check_basic_block", Detached, "does not require grad"),
    ("check_basic_block", ChangesInput, "changed its input tensor in place"),
    ("check_basic_block", UnusedConv, "self.conv2, self.bn2 are created in __init__ but never used"),
    ("check_basic_block", None, "expected a class"),
    ("check_bottleneck", Conv3OnXSeed002, "self.conv1, self.bn1, self.conv2, self.bn2 run in forward"),
    ("check_bottleneck", NoExpansion, "expansion = 4"),
    ("check_bottleneck", BottleneckNoExpand, "the output has 16 channels, expected 64"),
    ("check_bottleneck", Conv2WrongInput, "self.conv2 was built for 64 input channels but received a tensor with 16"),
    ("check_plain_block", PlainWithShortcut, "A plain block has no shortcut"),
    ("check_plain_block", PlainNoPadding, "the output shrank"),
    ("check_preact_block", PreActReluAfterAdd, "nothing follows the add"),
    ("check_preact_block", GoodBasic, "never negative"),
    ("check_zero_pad_shortcut", zero_pad_avg, "average-pool"),
    ("check_zero_pad_shortcut", zero_pad_reversed, "unchanged and in order"),
    ("check_zero_pad_shortcut", zero_pad_learnable, "learnable parameters"),
    ("check_zero_pad_shortcut", zero_pad_no_subsample, "subsample by the stride"),
    ("check_zero_pad_shortcut", GoodBasic, "got the class GoodBasic"),
    ("check_make_stage", make_stage_list_times_seed000, "are the same object"),
    ("check_make_stage", make_stage_tuple_loop_seed002, "`for _ in (1, num_blocks)`"),
    ("check_make_stage", make_stage_returns_list, "wrap the blocks as nn.Sequential"),
    ("check_make_stage", make_stage_stride_everywhere, "Only the first block downsamples"),
    ("check_make_stage", make_stage_same_in_channels, "After the first block the tensor has"),
    ("check_cifar_depth", cifar_depth_assert, "raise ValueError"),
    ("check_cifar_depth", cifar_depth_float, "return an int"),
    ("check_cifar_depth", cifar_depth_wrong, "6n + 2"),
]
