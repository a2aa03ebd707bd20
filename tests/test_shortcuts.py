"""Tests for resnet_edu.models.shortcuts: the paper's options A, B and C (sections 3.3 and 4.1)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from resnet_edu.measuring.counting import count_parameters
from resnet_edu.models.shortcuts import ZeroPadShortcut, make_shortcut


@pytest.mark.parametrize(
    "option, in_c, out_c, stride, expected",
    [
        ("A", 16, 16, 1, None),
        ("A", 16, 32, 2, ZeroPadShortcut),
        ("A", 16, 16, 2, ZeroPadShortcut),  # same width, smaller map: still subsample
        ("B", 16, 16, 1, None),
        ("B", 16, 32, 2, nn.Sequential),
        ("B", 64, 256, 1, nn.Sequential),  # a bottleneck's first block widens at stride 1
        ("C", 16, 16, 1, nn.Sequential),  # C projects even where identity would fit
        ("C", 16, 32, 2, nn.Sequential),
    ],
)
def test_which_shortcut_each_option_builds(option, in_c, out_c, stride, expected):
    shortcut = make_shortcut(option, in_c, out_c, stride)
    if expected is None:
        assert shortcut is None
    else:
        assert type(shortcut) is expected


def test_projection_has_torchvisions_names_and_shapes():
    shortcut = make_shortcut("B", 64, 128, 2)
    shapes = {k: tuple(v.shape) for k, v in shortcut.state_dict().items()}
    assert shapes["0.weight"] == (128, 64, 1, 1)
    assert "0.bias" not in shapes  # no conv bias: BN follows
    assert shapes["1.weight"] == shapes["1.bias"] == shapes["1.running_mean"] == (128,)
    assert shortcut[0].stride == (2, 2)
    # conv 64*128 + BN scale and shift 2*128
    assert count_parameters(shortcut) == 64 * 128 + 2 * 128


def test_projection_takes_the_norm_layer():
    shortcut = make_shortcut("C", 8, 8, 1, norm_layer=nn.Identity)
    assert isinstance(shortcut[1], nn.Identity)
    assert count_parameters(shortcut) == 8 * 8


@pytest.mark.parametrize("zeros, before", [("both", 2), ("end", 0)])  # 5 new channels: 2 before, 3 after
def test_zero_pad_subsamples_and_pads_with_zeros(zeros, before):
    x = torch.randn(2, 3, 5, 6, generator=torch.Generator().manual_seed(0))
    out = ZeroPadShortcut(3, 8, stride=2, zeros=zeros)(x)
    assert out.shape == (2, 8, 3, 3)  # ceil(5/2), ceil(6/2): the same as a stride-2 3x3 conv
    assert torch.equal(out[:, before:before + 3], x[:, :, ::2, ::2])
    assert torch.count_nonzero(out[:, :before]) == torch.count_nonzero(out[:, before + 3:]) == 0
    assert count_parameters(ZeroPadShortcut(3, 8, 2, zeros=zeros)) == 0


def test_zero_pad_output_matches_a_stride_two_convolution():
    x = torch.randn(1, 4, 7, 9)
    conv = nn.Conv2d(4, 8, 3, stride=2, padding=1, bias=False)
    assert ZeroPadShortcut(4, 8, 2)(x).shape == conv(x).shape


def test_unknown_option_is_refused_with_the_allowed_ones():
    with pytest.raises(ValueError, match=r"\('A', 'B', 'C'\).*'D'"):
        make_shortcut("D", 16, 32, 2)
    with pytest.raises(ValueError, match="one of"):
        make_shortcut("b", 16, 16, 1)  # case matters: the paper's letters


def test_option_a_cannot_remove_channels():
    with pytest.raises(ValueError, match="option B or C"):
        ZeroPadShortcut(32, 16, 1)


@pytest.mark.parametrize("bad", [0, -1])
def test_non_positive_sizes_are_refused(bad):
    with pytest.raises(ValueError, match="positive"):
        make_shortcut("B", bad, 16, 1)
    with pytest.raises(ValueError, match="positive"):
        make_shortcut("A", 16, 16, bad)
