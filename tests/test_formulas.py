"""The closed-form counts in resnet_edu.measuring.formulas against numel() and FlopCounterMode."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from resnet_edu.measuring import formulas as f
from resnet_edu.models.blocks import BasicBlock, Bottleneck


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def macs_of(module: nn.Module, x: torch.Tensor) -> int:
    """Multiply-adds of one forward pass, measured by PyTorch (FLOPs / 2)."""
    module.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(x)
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return flops // 2


# ---------------------------------------------------------------- single layers

CONV_GRID = list(itertools.product([1, 3, 16], [1, 8, 64], [1, 3, 7, (1, 3)], [False, True]))


@pytest.mark.parametrize("c_in,c_out,k,bias", CONV_GRID)
def test_conv_params_match_numel(c_in, c_out, k, bias):
    conv = nn.Conv2d(c_in, c_out, k, bias=bias)
    assert f.conv_params(c_in, c_out, k, bias=bias) == n_params(conv)


@pytest.mark.parametrize("c", [1, 3, 16, 64, 2048])
def test_bn_params_match_numel_and_exclude_buffers(c):
    bn = nn.BatchNorm2d(c)
    assert f.bn_params(c) == n_params(bn)
    # the running statistics exist but are buffers, not parameters
    assert sum(b.numel() for b in bn.buffers()) > 0


@pytest.mark.parametrize("n_in,n_out,bias", list(itertools.product([1, 64, 512, 2048], [1, 10, 1000], [False, True])))
def test_linear_params_match_numel(n_in, n_out, bias):
    assert f.linear_params(n_in, n_out, bias=bias) == n_params(nn.Linear(n_in, n_out, bias=bias))


CONV_MAC_GRID = [
    # c_in, c_out, k, stride, padding, size
    (3, 64, 7, 2, 3, 32),   # an ImageNet-style stem on a small image
    (16, 16, 3, 1, 1, 8),
    (16, 32, 3, 2, 1, 9),   # odd size: output ceil(9/2) = 5
    (64, 256, 1, 1, 0, 7),
    (64, 128, 1, 2, 0, 8),  # a projection shortcut
    (5, 7, (1, 3), 1, (0, 1), 6),
]


@pytest.mark.parametrize("c_in,c_out,k,stride,padding,size", CONV_MAC_GRID)
@pytest.mark.parametrize("bias", [False, True])
def test_conv_macs_match_flop_counter(c_in, c_out, k, stride, padding, size, bias):
    conv = nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding, bias=bias)
    x = torch.randn(1, c_in, size, size)
    out = conv(x)
    expected = macs_of(conv, x)
    assert f.conv_macs(c_in, c_out, k, out.shape[-2], out.shape[-1]) == expected


@pytest.mark.parametrize("size,k,stride,padding", list(itertools.product([1, 7, 8, 32, 224], [1, 3, 7], [1, 2], [0, 1, 3])))
def test_conv_output_size_matches_torch(size, k, stride, padding):
    if size + 2 * padding < k:
        with pytest.raises(ValueError, match="larger than the padded input"):
            f.conv_output_size(size, k, stride, padding)
        return
    out = nn.Conv2d(1, 1, k, stride=stride, padding=padding)(torch.zeros(1, 1, size, size))
    assert f.conv_output_size(size, k, stride, padding) == out.shape[-1]


@pytest.mark.parametrize("n_in,n_out", [(512, 1000), (2048, 1000), (64, 10), (1, 1)])
def test_linear_macs_match_flop_counter(n_in, n_out):
    fc = nn.Linear(n_in, n_out)
    assert f.linear_macs(n_in, n_out) == macs_of(fc, torch.randn(1, n_in))


# ------------------------------------------------- reference blocks built here
# Written out in the test, independent of resnet_edu.models.blocks, so the block
# formulas are checked against plain PyTorch whatever the package contains.


class RefBasic(nn.Module):
    def __init__(self, c_in: int, c: int, stride: int, project: bool):
        super().__init__()
        self.residual = nn.Sequential(
            nn.Conv2d(c_in, c, 3, stride, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
            nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c),
        )
        self.shortcut = (
            nn.Sequential(nn.Conv2d(c_in, c, 1, stride, bias=False), nn.BatchNorm2d(c))
            if project
            else None
        )

    def forward(self, x):
        out = self.residual(x)
        if self.shortcut is not None:
            return torch.relu(out + self.shortcut(x))
        return out  # option A / identity: no multiply-adds on the shortcut


class RefBottleneck(nn.Module):
    def __init__(self, c_in: int, c: int, stride: int, project: bool, stride_in_1x1: bool, expansion: int = 4):
        super().__init__()
        s1, s3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self.residual = nn.Sequential(
            nn.Conv2d(c_in, c, 1, s1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
            nn.Conv2d(c, c, 3, s3, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
            nn.Conv2d(c, expansion * c, 1, bias=False), nn.BatchNorm2d(expansion * c),
        )
        self.shortcut = (
            nn.Sequential(nn.Conv2d(c_in, expansion * c, 1, stride, bias=False), nn.BatchNorm2d(expansion * c))
            if project
            else None
        )

    def forward(self, x):
        out = self.residual(x)
        if self.shortcut is not None:
            return torch.relu(out + self.shortcut(x))
        return out


BASIC_GRID = [
    # c_in, c, stride, size
    (16, 16, 1, 8),
    (16, 32, 2, 8),
    (64, 64, 1, 7),
    (64, 128, 2, 9),
    (3, 8, 1, 5),
    (32, 32, 2, 6),   # stride without a channel change
]


def shape_changes_basic(c_in, c, stride):
    return stride != 1 or c_in != c


@pytest.mark.parametrize("c_in,c,stride,size", BASIC_GRID)
@pytest.mark.parametrize("projection", [None, True, False])
def test_basic_block_formulas_match_reference(c_in, c, stride, size, projection):
    project = shape_changes_basic(c_in, c, stride) if projection is None else projection
    block = RefBasic(c_in, c, stride, project)
    x = torch.randn(1, c_in, size, size)
    assert f.basic_block_params(c_in, c, stride, projection) == n_params(block)
    assert f.basic_block_macs(c_in, c, size, size, stride, projection) == macs_of(block, x)


BOTTLENECK_GRID = [
    # c_in, c, stride, size
    (64, 64, 1, 8),     # first block of ResNet-50's conv2_x: 64 -> 256, projection
    (256, 64, 1, 8),    # identity shortcut
    (256, 128, 2, 8),
    (512, 128, 1, 5),
    (16, 4, 2, 7),
    (64, 16, 2, 6),     # 64 -> 64 channels but stride 2
]


@pytest.mark.parametrize("c_in,c,stride,size", BOTTLENECK_GRID)
@pytest.mark.parametrize("projection", [None, True, False])
@pytest.mark.parametrize("stride_in_1x1", [False, True])
def test_bottleneck_formulas_match_reference(c_in, c, stride, size, projection, stride_in_1x1):
    project = (stride != 1 or c_in != 4 * c) if projection is None else projection
    block = RefBottleneck(c_in, c, stride, project, stride_in_1x1)
    x = torch.randn(1, c_in, size, size)
    assert f.bottleneck_params(c_in, c, stride, projection) == n_params(block)
    assert f.bottleneck_macs(c_in, c, size, size, stride, projection, stride_in_1x1=stride_in_1x1) == macs_of(block, x)


def test_bottleneck_expansion_other_than_four():
    block = RefBottleneck(32, 8, 2, True, False, expansion=2)
    x = torch.randn(1, 32, 6, 6)
    assert f.bottleneck_params(32, 8, 2, expansion=2) == n_params(block)
    assert f.bottleneck_macs(32, 8, 6, 6, 2, expansion=2) == macs_of(block, x)


def test_stride_placement_changes_macs_not_params():
    """The paper's stride-on-1x1 bottleneck is cheaper than torchvision's V1.5."""
    v1 = f.bottleneck_macs(256, 128, 56, 56, stride=2, stride_in_1x1=True)
    v15 = f.bottleneck_macs(256, 128, 56, 56, stride=2, stride_in_1x1=False)
    # only the first 1x1 differs: 256*128 at 56x56 versus at 28x28
    assert v15 - v1 == 256 * 128 * (56 * 56 - 28 * 28)


def test_resnet18_parameter_total_from_formulas():
    """Sum the formulas over ResNet-18's layout (paper Table 1) and hit torchvision's 11,689,512."""
    total = f.conv_params(3, 64, 7) + f.bn_params(64)
    c_in = 64
    for c, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
        total += f.basic_block_params(c_in, c, stride) + f.basic_block_params(c, c, 1)
        c_in = c
    total += f.linear_params(512, 1000)
    assert total == 11_689_512


def test_resnet50_parameter_total_from_formulas():
    total = f.conv_params(3, 64, 7) + f.bn_params(64)
    c_in = 64
    for c, n, stride in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
        total += f.bottleneck_params(c_in, c, stride)
        total += (n - 1) * f.bottleneck_params(4 * c, c, 1)
        c_in = 4 * c
    total += f.linear_params(2048, 1000)
    assert total == 25_557_032


def test_resnet20_parameter_total_from_formulas():
    """CIFAR ResNet-20 with option A shortcuts (no projections): 269,722 (paper section 4.2)."""
    total = f.conv_params(3, 16, 3) + f.bn_params(16)
    c_in = 16
    for c, stride in [(16, 1), (32, 2), (64, 2)]:
        total += f.basic_block_params(c_in, c, stride, projection=False)
        total += 2 * f.basic_block_params(c, c, 1)
        c_in = c
    total += f.linear_params(64, 10)
    assert total == 269_722


def test_resnet50_macs_from_formulas_match_torchvision_and_paper():
    """4.089 G (torchvision V1.5) and about 3.858 G (paper's stride placement) at 224x224."""
    def total(stride_in_1x1: bool) -> int:
        macs = f.conv_macs(3, 64, 7, 112, 112)
        c_in, size = 64, 56
        for c, n, stride in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
            macs += f.bottleneck_macs(c_in, c, size, size, stride, stride_in_1x1=stride_in_1x1)
            size = f.conv_output_size(size, 1, stride)
            macs += (n - 1) * f.bottleneck_macs(4 * c, c, size, size)
            c_in = 4 * c
        return macs + f.linear_macs(2048, 1000)

    assert total(False) / 1e9 == pytest.approx(4.089, abs=0.0005)
    assert total(True) / 1e9 == pytest.approx(3.858, abs=0.0005)


# ------------------------------------------- against the package's own blocks

OPTION = {None: "B", True: "C", False: "A"}  # projection -> the paper's shortcut option


@pytest.mark.parametrize("c_in,c,stride,size", BASIC_GRID)
@pytest.mark.parametrize("projection", [None, True, False])
def test_basic_block_formulas_match_package_block(c_in, c, stride, size, projection):
    block = BasicBlock(c_in, c, stride=stride, shortcut=OPTION[projection])
    x = torch.randn(1, c_in, size, size)
    assert f.basic_block_params(c_in, c, stride, projection) == n_params(block)
    assert f.basic_block_macs(c_in, c, size, size, stride, projection) == macs_of(block, x)


@pytest.mark.parametrize("c_in,c,stride,size", BOTTLENECK_GRID)
@pytest.mark.parametrize("projection", [None, True, False])
@pytest.mark.parametrize("stride_in_1x1", [False, True])
def test_bottleneck_formulas_match_package_block(c_in, c, stride, size, projection, stride_in_1x1):
    block = Bottleneck(c_in, c, stride=stride, shortcut=OPTION[projection], stride_in_1x1=stride_in_1x1)
    x = torch.randn(1, c_in, size, size)
    assert f.bottleneck_params(c_in, c, stride, projection) == n_params(block)
    assert f.bottleneck_macs(c_in, c, size, size, stride, projection, stride_in_1x1=stride_in_1x1) == macs_of(block, x)


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    "call",
    [
        lambda: f.conv_params(0, 8, 3),
        lambda: f.conv_params(3, 8, 0),
        lambda: f.conv_params(3, 8, (3, 3, 3)),
        lambda: f.conv_params(3.0, 8, 3),
        lambda: f.bn_params(-1),
        lambda: f.linear_params(True, 10),
        lambda: f.conv_macs(3, 8, 3, 0, 4),
        lambda: f.basic_block_params(16, 16, stride=0),
        lambda: f.bottleneck_params(16, 4, expansion=0),
        lambda: f.basic_block_macs(16, 16, 0, 8),
        lambda: f.conv_output_size(8, 3, padding=-1),
    ],
)
def test_invalid_arguments_raise_value_error(call):
    with pytest.raises(ValueError, match="must be|larger than"):
        call()


def test_projection_must_be_none_or_bool():
    with pytest.raises(TypeError, match="projection must be None, True or False"):
        f.basic_block_params(16, 32, 2, projection="B")
    with pytest.raises(TypeError, match="stride_in_1x1"):
        f.bottleneck_macs(64, 16, 8, 8, stride_in_1x1="yes")
