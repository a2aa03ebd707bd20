"""The closed-form counts in resnet_edu.measuring.formulas against the modules they describe.

Every formula is checked against ``count_parameters`` / ``count_macs`` of the real ``nn.Module``
(a torch layer, a package block, a whole network built on the meta device), on the cases where a
formula goes wrong: stride 1 versus 2, a channel change or none, projection or not, a bias, odd
and non-square sizes, and the paper's real layer shapes.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import resnet_edu
from resnet_edu.measuring import formulas as f
from resnet_edu.measuring.counting import count_macs, count_parameters
from resnet_edu.models.blocks import BasicBlock, Bottleneck

# ---------------------------------------------------------------- single layers


@pytest.mark.parametrize(
    "c_in, c_out, k, bias",
    [
        (3, 64, 7, False),  # the ImageNet stem
        (64, 64, 3, False),  # a basic block's 3x3
        (64, 256, 1, False),  # a bottleneck's expanding 1x1
        (5, 8, (1, 3), True),  # a non-square kernel, with a bias
        (16, 1, 1, True),
    ],
)
def test_conv_params_match_the_module(c_in, c_out, k, bias):
    assert f.conv_params(c_in, c_out, k, bias=bias) == count_parameters(nn.Conv2d(c_in, c_out, k, bias=bias))


@pytest.mark.parametrize("c", [1, 2048])
def test_bn_params_match_the_module_and_leave_out_the_buffers(c):
    bn = nn.BatchNorm2d(c)
    assert f.bn_params(c) == count_parameters(bn)
    assert sum(b.numel() for b in bn.buffers()) > 0  # running statistics exist, as buffers


@pytest.mark.parametrize("n_in, n_out, bias", [(512, 1000, True), (2048, 1000, True), (64, 10, False)])
def test_linear_params_match_the_module(n_in, n_out, bias):
    assert f.linear_params(n_in, n_out, bias=bias) == count_parameters(nn.Linear(n_in, n_out, bias=bias))


@pytest.mark.parametrize(
    "size, k, stride, padding",
    [
        (224, 7, 2, 3),  # the stem: 112
        (56, 1, 2, 0),  # a projection shortcut: 28
        (9, 3, 2, 1),  # odd size: ceil(9 / 2) = 5
        (8, 3, 1, 1),  # "same" padding
        (7, 3, 1, 0),  # no padding: 5
        (1, 1, 1, 0),
    ],
)
def test_conv_output_size_matches_torch(size, k, stride, padding):
    out = nn.Conv2d(1, 1, k, stride=stride, padding=padding)(torch.zeros(1, 1, size, size))
    assert f.conv_output_size(size, k, stride, padding) == out.shape[-1]


def test_conv_output_size_refuses_a_kernel_larger_than_the_padded_input():
    with pytest.raises(ValueError, match="larger than the padded input"):
        f.conv_output_size(2, 3, 1, 0)


@pytest.mark.parametrize(
    "c_in, c_out, k, stride, padding, size, bias",
    [
        (3, 64, 7, 2, 3, 32, False),  # an ImageNet-style stem on a small image
        (16, 16, 3, 1, 1, 8, False),
        (16, 32, 3, 2, 1, 9, False),  # odd size: output ceil(9/2) = 5
        (64, 128, 1, 2, 0, 8, False),  # a projection shortcut
        (5, 7, (1, 3), 1, (0, 1), 6, False),  # non-square kernel
        (16, 32, 3, 1, 1, 8, True),  # a bias adds no multiply-adds
    ],
)
def test_conv_macs_match_count_macs(c_in, c_out, k, stride, padding, size, bias):
    conv = nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding, bias=bias)
    out = conv(torch.zeros(1, c_in, size, size))
    expected = count_macs(conv, (1, c_in, size, size))
    assert f.conv_macs(c_in, c_out, k, out.shape[-2], out.shape[-1]) == expected


def test_conv_macs_of_a_non_square_output():
    conv = nn.Conv2d(4, 8, 3, stride=2, padding=1, bias=False)
    assert f.conv_macs(4, 8, 3, 4, 6) == count_macs(conv, (1, 4, 7, 11))  # out 4 x 6


@pytest.mark.parametrize("n_in, n_out", [(2048, 1000), (1, 1)])
def test_linear_macs_match_count_macs(n_in, n_out):
    assert f.linear_macs(n_in, n_out) == count_macs(nn.Linear(n_in, n_out), (1, n_in))


# ------------------------------------------------------- the package's own blocks

OPTION = {None: "B", True: "C", False: "A"}  # projection -> the paper's shortcut option


@pytest.mark.parametrize(
    "c_in, c, stride, size, projection",
    [
        (64, 64, 1, 56, None),  # ResNet-18's conv2_x: identity shortcut
        (64, 128, 2, 56, None),  # first block of conv3_x: stride 2 and a projection
        (32, 32, 2, 6, None),  # stride without a channel change still projects
        (16, 32, 2, 9, False),  # option A at an odd size: no parameters, no MACs
        (16, 16, 1, 8, True),  # option C projects where identity would fit
        (3, 8, 1, 5, None),  # a channel change at stride 1
    ],
)
def test_basic_block_formulas_match_the_block(c_in, c, stride, size, projection):
    block = BasicBlock(c_in, c, stride=stride, shortcut=OPTION[projection])
    assert f.basic_block_params(c_in, c, stride, projection) == count_parameters(block)
    assert f.basic_block_macs(c_in, c, size, size, stride, projection) == count_macs(block, (1, c_in, size, size))


@pytest.mark.parametrize(
    "c_in, c, stride, size, projection, stride_in_1x1",
    [
        (64, 64, 1, 56, None, False),  # first block of ResNet-50's conv2_x: 64 -> 256 projects at stride 1
        (256, 64, 1, 56, None, False),  # identity shortcut
        (256, 128, 2, 56, None, False),  # conv3_x, torchvision's stride on the 3x3
        (256, 128, 2, 56, None, True),  # conv3_x, the paper's stride on the first 1x1
        (512, 128, 1, 7, True, False),  # option C on an identity-shaped block
        (16, 4, 2, 7, False, True),  # option A, odd size, stride on the 1x1
        (64, 16, 2, 6, None, False),  # 64 -> 64 channels but stride 2
    ],
)
def test_bottleneck_formulas_match_the_block(c_in, c, stride, size, projection, stride_in_1x1):
    block = Bottleneck(c_in, c, stride=stride, shortcut=OPTION[projection], stride_in_1x1=stride_in_1x1)
    assert f.bottleneck_params(c_in, c, stride, projection) == count_parameters(block)
    macs = f.bottleneck_macs(c_in, c, size, size, stride, projection, stride_in_1x1=stride_in_1x1)
    assert macs == count_macs(block, (1, c_in, size, size))


def test_bottleneck_expansion_other_than_four():
    class Bottleneck2(Bottleneck):
        expansion = 2

    block = Bottleneck2(32, 8, stride=2)
    assert block.out_channels == 16
    assert f.bottleneck_params(32, 8, 2, expansion=2) == count_parameters(block)
    assert f.bottleneck_macs(32, 8, 6, 6, 2, expansion=2) == count_macs(block, (1, 32, 6, 6))


def test_stride_placement_changes_macs_not_params():
    """The paper's stride-on-1x1 bottleneck is cheaper than torchvision's V1.5: only the first 1x1 differs."""
    v1 = f.bottleneck_macs(256, 128, 56, 56, stride=2, stride_in_1x1=True)
    v15 = f.bottleneck_macs(256, 128, 56, 56, stride=2, stride_in_1x1=False)
    assert v15 - v1 == 256 * 128 * (56 * 56 - 28 * 28)


# ----------------------------------------------- whole networks (paper Table 1)


def basic_network_params(stages, stem_k=7, c0=64, classes=1000, projection=None) -> int:
    """Parameters of a basic-block network from the formulas: stem, ``stages`` = [(c, n, stride)], fc."""
    total = f.conv_params(3, c0, stem_k) + f.bn_params(c0)
    c_in = c0
    for c, n, stride in stages:
        total += f.basic_block_params(c_in, c, stride, projection) + (n - 1) * f.basic_block_params(c, c, 1)
        c_in = c
    return total + f.linear_params(c_in, classes)


def bottleneck_network_params(stages) -> int:
    total = f.conv_params(3, 64, 7) + f.bn_params(64)
    c_in = 64
    for c, n, stride in stages:
        total += f.bottleneck_params(c_in, c, stride) + (n - 1) * f.bottleneck_params(4 * c, c, 1)
        c_in = 4 * c
    return total + f.linear_params(c_in, 1000)


def resnet50_macs(stride_in_1x1: bool) -> int:
    macs = f.conv_macs(3, 64, 7, 112, 112)
    c_in, size = 64, 56
    for c, n, stride in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
        macs += f.bottleneck_macs(c_in, c, size, size, stride, stride_in_1x1=stride_in_1x1)
        size = f.conv_output_size(size, 1, stride)
        macs += (n - 1) * f.bottleneck_macs(4 * c, c, size, size)
        c_in = 4 * c
    return macs + f.linear_macs(2048, 1000)


@pytest.mark.parametrize(
    "name, from_formulas, published",
    [
        ("resnet18", lambda: basic_network_params([(64, 2, 1), (128, 2, 2), (256, 2, 2), (512, 2, 2)]), 11_689_512),
        ("resnet50", lambda: bottleneck_network_params([(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]),
         25_557_032),
        # CIFAR ResNet-20, option A (no projections): 0.27 M in the paper's section 4.2
        ("resnet20", lambda: basic_network_params([(16, 3, 1), (32, 3, 2), (64, 3, 2)], stem_k=3, c0=16, classes=10,
                                                  projection=False), 269_722),
    ],
)
def test_network_parameters_from_formulas(meta_model, name, from_formulas, published):
    assert from_formulas() == count_parameters(meta_model(name)) == published


@pytest.mark.parametrize("stride_in_1x1, gmacs", [(False, 4.089), (True, 3.858)])
def test_resnet50_macs_from_formulas(meta_model, stride_in_1x1, gmacs):
    """4.089 G (torchvision V1.5) and about 3.858 G (the paper's stride placement) at 224x224."""
    macs = resnet50_macs(stride_in_1x1)
    assert macs == count_macs(meta_model("resnet50", stride_in_1x1=stride_in_1x1))
    assert macs / 1e9 == pytest.approx(gmacs, abs=0.0005)


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    "call",
    [
        lambda: f.conv_params(0, 8, 3),
        lambda: f.conv_params(3, 8, (3, 3, 3)),
        lambda: f.bn_params(-1),
        lambda: f.conv_macs(3, 8, 3, 0, 4),
        lambda: f.bottleneck_params(16, 4, expansion=0),
        lambda: f.conv_output_size(8, 3, padding=-1),
    ],
)
def test_out_of_range_arguments_raise_value_error(call):
    with pytest.raises(ValueError, match="must be"):
        call()


def test_wrong_types_raise_type_error():
    with pytest.raises(TypeError, match="in_channels must be a positive int"):
        f.conv_params(3.0, 8, 3)
    with pytest.raises(TypeError, match="in_features"):
        f.linear_params(True, 10)
    with pytest.raises(TypeError, match="projection must be None, True or False"):
        f.basic_block_params(16, 32, 2, projection="B")
    with pytest.raises(TypeError, match="stride_in_1x1"):
        f.bottleneck_macs(64, 16, 8, 8, stride_in_1x1="yes")
