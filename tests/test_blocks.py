"""Tests for resnet_edu.models.blocks: each block against its equation, written with torch.nn.functional."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resnet_edu.models.blocks import BasicBlock, Bottleneck, PlainBlock, PreActBlock, PreActBottleneck
from resnet_edu.measuring.counting import count_parameters
from resnet_edu.models.init import zero_init_residual_
from resnet_edu.models.shortcuts import ZeroPadShortcut


def randomise_bn_(module: nn.Module) -> nn.Module:
    """Give every BN non-trivial weights and running statistics, so eval-mode BN is not a no-op."""
    g = torch.Generator().manual_seed(1)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.data = torch.rand(m.num_features, generator=g) + 0.5
            m.bias.data = torch.randn(m.num_features, generator=g)
            m.running_mean = torch.randn(m.num_features, generator=g)
            m.running_var = torch.rand(m.num_features, generator=g) + 0.5
    return module.eval()


def bn(m: nn.BatchNorm2d, x: torch.Tensor) -> torch.Tensor:
    return F.batch_norm(x, m.running_mean, m.running_var, m.weight, m.bias, training=False, eps=m.eps)


def conv(m: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    return F.conv2d(x, m.weight, stride=m.stride, padding=m.padding)


def shortcut(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    if block.downsample is None:
        return x
    if isinstance(block.downsample, ZeroPadShortcut):
        return block.downsample(x)
    return bn(block.downsample[1], conv(block.downsample[0], x))


@pytest.fixture
def x() -> torch.Tensor:
    return torch.randn(2, 16, 8, 8, generator=torch.Generator().manual_seed(0))


# ----- each forward equals its equation -------------------------------------------------------


@pytest.mark.parametrize("stride, out_c", [(1, 16), (2, 32)])
def test_plain_block_is_two_layers_and_no_add(x, stride, out_c):
    b = randomise_bn_(PlainBlock(16, out_c, stride))
    expected = F.relu(bn(b.bn2, conv(b.conv2, F.relu(bn(b.bn1, conv(b.conv1, x))))))
    torch.testing.assert_close(b(x), expected)
    assert not b.has_shortcut and not hasattr(b, "downsample")


@pytest.mark.parametrize("option", ["A", "B", "C"])
@pytest.mark.parametrize("stride, out_c", [(1, 16), (2, 32)])
def test_basic_block_is_relu_of_f_plus_shortcut(x, option, stride, out_c):
    b = randomise_bn_(BasicBlock(16, out_c, stride, shortcut=option))
    f = bn(b.bn2, conv(b.conv2, F.relu(bn(b.bn1, conv(b.conv1, x)))))
    torch.testing.assert_close(b(x), F.relu(f + shortcut(b, x)))


@pytest.mark.parametrize("stride_in_1x1", [False, True])
@pytest.mark.parametrize("stride", [1, 2])
def test_bottleneck_is_reduce_3x3_expand_plus_shortcut(x, stride, stride_in_1x1):
    b = randomise_bn_(Bottleneck(16, 8, stride, stride_in_1x1=stride_in_1x1))
    out = F.relu(bn(b.bn1, conv(b.conv1, x)))
    out = F.relu(bn(b.bn2, conv(b.conv2, out)))
    f = bn(b.bn3, conv(b.conv3, out))
    torch.testing.assert_close(b(x), F.relu(f + shortcut(b, x)))
    assert b(x).shape == (2, 32, 8 // stride, 8 // stride)


@pytest.mark.parametrize("stride, out_c", [(1, 16), (2, 32)])
def test_preact_block_has_nothing_after_the_add(x, stride, out_c):
    b = randomise_bn_(PreActBlock(16, out_c, stride))
    f = conv(b.conv2, F.relu(bn(b.bn2, conv(b.conv1, F.relu(bn(b.bn1, x))))))
    torch.testing.assert_close(b(x), f + shortcut(b, x))
    assert (b(x) < 0).any()  # no ReLU after the add: negative values survive


def test_preact_block_without_preactivation_starts_at_conv1(x):
    # The network's first block: the stem's BN-ReLU came before, both paths read the same input
    b = randomise_bn_(PreActBlock(16, 16, preactivate=False))
    assert b.bn1 is None and sum(isinstance(m, nn.BatchNorm2d) for m in b.modules()) == 1
    f = conv(b.conv2, F.relu(bn(b.bn2, conv(b.conv1, x))))
    torch.testing.assert_close(b(x), f + x)


@pytest.mark.parametrize("stride, in_c", [(1, 64), (2, 64), (1, 16), (2, 32)])
def test_preact_bottleneck_equation(stride, in_c):
    # BN-ReLU-1x1 (stride), BN-ReLU-3x3, BN-ReLU-1x1; where the shape changes the projection
    # reads the pre-activated input and has no BN (He et al. 2016, appendix)
    x = torch.randn(2, in_c, 8, 8)
    b = randomise_bn_(PreActBottleneck(in_c, 16, stride))
    a = F.relu(bn(b.bn1, x))
    f = conv(b.conv3, F.relu(bn(b.bn3, conv(b.conv2, F.relu(bn(b.bn2, conv(b.conv1, a)))))))
    if b.downsample is None:
        expected = f + x
    else:
        assert not any(isinstance(m, nn.BatchNorm2d) for m in b.downsample.modules())
        expected = f + conv(b.downsample[0], a)
    torch.testing.assert_close(b(x), expected)
    assert b(x).shape == (2, 64, 8 // stride, 8 // stride) and (b(x) < 0).any()
    assert b.conv1.stride == (stride, stride) and b.conv2.stride == (1, 1)  # the paper's placement


def test_preact_bottleneck_without_preactivation(x):
    b = randomise_bn_(PreActBottleneck(16, 16, preactivate=False))
    assert b.bn1 is None
    f = conv(b.conv3, F.relu(bn(b.bn3, conv(b.conv2, F.relu(bn(b.bn2, conv(b.conv1, x)))))))
    torch.testing.assert_close(b(x), f + conv(b.downsample[0], x))


def test_preact_bottleneck_parameters_by_hand():
    # 1x1 64->16, 3x3 16->16, 1x1 16->64 and BNs over 64, 16, 16: ResNet-164's repeating unit
    assert count_parameters(PreActBottleneck(64, 16)) == 64 * 16 + 9 * 16 * 16 + 16 * 64 + 2 * (64 + 16 + 16)
    # a transition adds the projection's 1x1 weights only (no BN after it)
    assert count_parameters(PreActBottleneck(64, 32, 2)) == (
        64 * 32 + 9 * 32 * 32 + 32 * 128 + 2 * (64 + 32 + 32) + 64 * 128
    )


def test_preactivate_must_be_a_bool():
    for block in (PreActBlock, PreActBottleneck):
        with pytest.raises(TypeError, match="preactivate must be True or False"):
            block(16, 16, preactivate="no")


# ----- structure ------------------------------------------------------------------------------


def test_bottleneck_stride_placement():
    v15 = Bottleneck(64, 64, stride=2)
    paper = Bottleneck(64, 64, stride=2, stride_in_1x1=True)
    assert (v15.conv1.stride, v15.conv2.stride) == ((1, 1), (2, 2))  # torchvision V1.5
    assert (paper.conv1.stride, paper.conv2.stride) == ((2, 2), (1, 1))  # the paper
    assert count_parameters(v15) == count_parameters(paper)


@pytest.mark.parametrize(
    "block, out_c, last", [(PlainBlock, 8, "bn2"), (BasicBlock, 8, "bn2"), (Bottleneck, 32, "bn3"), (PreActBlock, 8, "bn2"),
     (PreActBottleneck, 32, "bn3")]
)
def test_expansion_out_channels_and_last_bn(block, out_c, last):
    b = block(4, 8)
    assert b.out_channels == out_c == 8 * block.expansion
    assert b.last_bn is getattr(b, last)
    assert not any("last_bn" in k for k in b.state_dict())  # a property, not a second registration


def test_parameter_counts_by_hand():
    c = 64
    # two 3x3 convs (9*c*c each, no bias) and two BNs (2c each)
    assert count_parameters(BasicBlock(c, c)) == 2 * 9 * c * c + 2 * 2 * c
    assert count_parameters(PlainBlock(c, c)) == 2 * 9 * c * c + 2 * 2 * c
    # 1x1 256->64, 3x3 64->64, 1x1 64->256, BNs 2*(64+64+256): ResNet-50's repeating block
    assert count_parameters(Bottleneck(256, 64)) == 256 * 64 + 9 * 64 * 64 + 64 * 256 + 2 * (64 + 64 + 256)
    # the first block of a stage adds the projection (1x1 conv + BN)
    assert count_parameters(BasicBlock(64, 128, 2)) == 9 * 64 * 128 + 9 * 128 * 128 + 4 * 128 + 64 * 128 + 2 * 128


def test_option_a_adds_no_parameters():
    assert count_parameters(BasicBlock(16, 32, 2, shortcut="A")) == count_parameters(PlainBlock(16, 32, 2))
    assert count_parameters(BasicBlock(16, 32, 2, shortcut="B")) > count_parameters(PlainBlock(16, 32, 2))


def test_identity_norm_turns_bn_off(x):
    for block in (PlainBlock(16, 32, 2, norm_layer=nn.Identity), BasicBlock(16, 32, 2, norm_layer=nn.Identity),
                  Bottleneck(16, 8, 2, norm_layer=nn.Identity), PreActBlock(16, 32, 2, norm_layer=nn.Identity)):
        assert not any(isinstance(m, nn.BatchNorm2d) for m in block.modules())
        assert block(x).shape[1] == block.out_channels


@pytest.mark.parametrize("block", [BasicBlock, Bottleneck])
def test_zero_init_makes_a_residual_block_relu_of_its_input(x, block):
    b = block(16, 16 // block.expansion)
    zero_init_residual_(b)
    torch.testing.assert_close(b(x), F.relu(x))  # F(x) = 0, so relu(0 + x)


def test_zero_init_makes_a_preact_block_the_identity(x):
    b = zero_init_residual_(PreActBlock(16, 16))
    torch.testing.assert_close(b(x), x)
    b = zero_init_residual_(PreActBottleneck(16, 4))
    torch.testing.assert_close(b(x), x)


def test_zero_init_leaves_plain_blocks_alone():
    b = zero_init_residual_(PlainBlock(16, 16))
    assert torch.all(b.bn2.weight == 1)


def test_zero_init_needs_a_norm_weight():
    with pytest.raises(ValueError, match="norm layer with a weight"):
        zero_init_residual_(BasicBlock(16, 16, norm_layer=nn.Identity))


def test_backward_reaches_every_parameter(x):
    for b in (PlainBlock(16, 32, 2), BasicBlock(16, 32, 2), Bottleneck(16, 8, 2), PreActBlock(16, 32, 2),
              PreActBottleneck(16, 8, 2)):
        b(x).sum().backward()
        assert all(p.grad is not None for p in b.parameters())


# ----- bad arguments --------------------------------------------------------------------------


@pytest.mark.parametrize("block", [PlainBlock, BasicBlock, Bottleneck, PreActBlock, PreActBottleneck])
def test_bad_sizes_are_refused(block):
    with pytest.raises(ValueError, match="channels must be a positive int"):
        block(16, 0)
    with pytest.raises(ValueError, match="stride must be a positive int"):
        block(16, 16, 0)
    with pytest.raises(TypeError, match="in_channels must be a positive int"):
        block(16.0, 16)


@pytest.mark.parametrize("block", [BasicBlock, Bottleneck, PreActBlock, PreActBottleneck])
def test_unknown_shortcut_is_refused(block):
    with pytest.raises(ValueError, match=r"one of \('A', 'B', 'C'\)"):
        block(16, 16, shortcut="identity")


@pytest.mark.parametrize("preactivate", [True, False])
def test_preact_bottleneck_scripts_and_traces(x, preactivate):
    b = randomise_bn_(PreActBottleneck(16, 8, 2, preactivate=preactivate))
    torch.testing.assert_close(torch.jit.script(b)(x), b(x))
    torch.testing.assert_close(torch.fx.symbolic_trace(b)(x), b(x))
