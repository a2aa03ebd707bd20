"""Tests for torchvision's whole ResNet family in resnet_edu: counts, state_dict layout, options, builders.

The expected state_dict of each network is generated here from torchvision's rules, independently of
resnet_edu (torchvision/models/resnet.py: ``_make_layer``, ``Bottleneck.__init__`` with
``width = int(planes * (base_width / 64.0)) * groups``, a ``downsample`` 1x1 conv + BN where the
shape changes). Networks are built on the meta device: no memory, no init time.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import resnet_edu
from resnet_edu.measuring.counting import count_parameters
from resnet_edu.measuring.published import PUBLISHED_TORCHVISION_WEIGHTS
from resnet_edu.models.blocks import BasicBlock, Bottleneck, PlainBlock, PreActBlock, PreActBottleneck
from resnet_edu.models.networks import IMAGENET_RESNETS, TORCHVISION_RESNETS, ResNet

# torchvision's documented num_params (FACTS.md: "torchvision's wider family ... checked").
FAMILY_PARAMS = {
    "resnext50_32x4d": 25_028_904,
    "resnext101_32x8d": 88_791_336,
    "resnext101_64x4d": 83_455_272,
    "wide_resnet50_2": 68_883_240,
    "wide_resnet101_2": 126_886_696,
}
# block kind, blocks per stage, groups, width_per_group: torchvision's builders
FAMILY_CONFIG = {
    "resnet18": ("basic", [2, 2, 2, 2], 1, 64),
    "resnet34": ("basic", [3, 4, 6, 3], 1, 64),
    "resnet50": ("bottleneck", [3, 4, 6, 3], 1, 64),
    "resnet101": ("bottleneck", [3, 4, 23, 3], 1, 64),
    "resnet152": ("bottleneck", [3, 8, 36, 3], 1, 64),
    "resnext50_32x4d": ("bottleneck", [3, 4, 6, 3], 32, 4),
    "resnext101_32x8d": ("bottleneck", [3, 4, 23, 3], 32, 8),
    "resnext101_64x4d": ("bottleneck", [3, 4, 23, 3], 64, 4),
    "wide_resnet50_2": ("bottleneck", [3, 4, 6, 3], 1, 128),
    "wide_resnet101_2": ("bottleneck", [3, 4, 23, 3], 1, 128),
}


def torchvision_shapes(kind: str, layers: list[int], groups: int, width_per_group: int) -> dict[str, tuple]:
    """Every state_dict key of torchvision's ResNet and its shape, from torchvision's rules."""
    shapes: dict[str, tuple] = {}

    def add_bn(prefix: str, c: int) -> None:
        for name in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{prefix}.{name}"] = (c,)
        shapes[f"{prefix}.num_batches_tracked"] = ()

    shapes["conv1.weight"] = (64, 3, 7, 7)
    add_bn("bn1", 64)
    expansion = 1 if kind == "basic" else 4
    inplanes = 64
    for i, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers), start=1):
        for j in range(blocks):
            p, stride = f"layer{i}.{j}", (2 if i > 1 and j == 0 else 1)
            if kind == "basic":
                shapes[f"{p}.conv1.weight"] = (planes, inplanes, 3, 3)
                add_bn(f"{p}.bn1", planes)
                shapes[f"{p}.conv2.weight"] = (planes, planes, 3, 3)
                add_bn(f"{p}.bn2", planes)
            else:
                width = int(planes * (width_per_group / 64.0)) * groups
                shapes[f"{p}.conv1.weight"] = (width, inplanes, 1, 1)
                add_bn(f"{p}.bn1", width)
                shapes[f"{p}.conv2.weight"] = (width, width // groups, 3, 3)
                add_bn(f"{p}.bn2", width)
                shapes[f"{p}.conv3.weight"] = (planes * 4, width, 1, 1)
                add_bn(f"{p}.bn3", planes * 4)
            if j == 0 and (stride != 1 or inplanes != planes * expansion):
                shapes[f"{p}.downsample.0.weight"] = (planes * expansion, inplanes, 1, 1)
                add_bn(f"{p}.downsample.1", planes * expansion)
            inplanes = planes * expansion
    shapes["fc.weight"] = (1000, 512 * expansion)
    shapes["fc.bias"] = (1000,)
    return shapes


def meta(name: str, **kwargs) -> ResNet:
    with torch.device("meta"):
        return getattr(resnet_edu, name)(**kwargs)


# ----- counts and layout ----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(FAMILY_PARAMS))
def test_family_parameter_counts_are_torchvisions(name):
    assert count_parameters(meta(name)) == FAMILY_PARAMS[name] == PUBLISHED_TORCHVISION_WEIGHTS[name].parameters


def test_the_family_is_torchvisions_and_its_weights_are_named():
    assert list(TORCHVISION_RESNETS) == list(FAMILY_CONFIG)
    assert all(TORCHVISION_RESNETS[n] is IMAGENET_RESNETS[n] for n in IMAGENET_RESNETS)
    for name, builder in TORCHVISION_RESNETS.items():
        assert builder is getattr(resnet_edu, name) and name in resnet_edu.__all__


@pytest.mark.parametrize("name", list(FAMILY_CONFIG))
def test_state_dict_loads_strictly_both_ways_in_torchvisions_layout(name):
    expected = torchvision_shapes(*FAMILY_CONFIG[name])
    model = meta(name)
    # ours -> torchvision: the same names, in the same order, with the same shapes
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == list(expected.items())
    # torchvision -> ours: a state_dict in torchvision's layout loads with strict=True
    theirs = {k: torch.empty(shape, device="meta") for k, shape in expected.items()}
    model.load_state_dict(theirs, strict=True, assign=True)
    n = sum(v.numel() for k, v in theirs.items() if "running" not in k and "num_batches" not in k)
    assert n == PUBLISHED_TORCHVISION_WEIGHTS[name].parameters


def test_resnext_computes_torchvisions_function():
    """torchvision's Bottleneck forward, written functionally, on resnext50_32x4d's own weights."""
    torch.manual_seed(0)
    model = resnet_edu.resnext50_32x4d().eval()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    sd = model.state_dict()

    def bn(p, t):
        return F.batch_norm(t, sd[f"{p}.running_mean"], sd[f"{p}.running_var"], sd[f"{p}.weight"], sd[f"{p}.bias"],
                            training=False, eps=1e-5)

    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        out = F.max_pool2d(F.relu(bn("bn1", F.conv2d(x, sd["conv1.weight"], stride=2, padding=3))), 3, 2, 1)
        for i, blocks in enumerate([3, 4, 6, 3], start=1):
            for j in range(blocks):
                p, stride = f"layer{i}.{j}", (2 if i > 1 and j == 0 else 1)
                y = F.relu(bn(f"{p}.bn1", F.conv2d(out, sd[f"{p}.conv1.weight"])))
                y = F.relu(bn(f"{p}.bn2", F.conv2d(y, sd[f"{p}.conv2.weight"], stride=stride, padding=1, groups=32)))
                y = bn(f"{p}.bn3", F.conv2d(y, sd[f"{p}.conv3.weight"]))
                if f"{p}.downsample.0.weight" in sd:
                    out = bn(f"{p}.downsample.1", F.conv2d(out, sd[f"{p}.downsample.0.weight"], stride=stride))
                out = F.relu(y + out)
        expected = F.linear(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1), sd["fc.weight"], sd["fc.bias"])
        torch.testing.assert_close(model(x), expected, rtol=1e-4, atol=1e-4)


# ----- the options: groups, width_per_group, replace_stride_with_dilation ---------------------


def test_dilation_keeps_the_resolution_as_torchvisions_does():
    model = meta("resnet50", replace_stride_with_dilation=[False, True, True]).eval()
    seen = {}
    for name in ("layer2", "layer3", "layer4"):
        model.get_submodule(name).register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, o.shape[-1]))
    model(torch.empty(1, 3, 224, 224, device="meta"))
    assert seen == {"layer2": 28, "layer3": 28, "layer4": 28}  # output stride 8 instead of 32
    assert model.min_input_size == 8
    # torchvision: the first block of a dilated stage keeps the previous dilation, the others dilate
    assert model.layer3[0].conv2.dilation == (1, 1) and model.layer3[1].conv2.dilation == (2, 2)
    assert model.layer4[0].conv2.dilation == (2, 2) and model.layer4[2].conv2.dilation == (4, 4)
    assert model.layer4[1].conv2.padding == (4, 4)
    assert model.layer3[0].downsample[0].stride == (1, 1)
    assert count_parameters(model) == count_parameters(meta("resnet50"))  # dilation adds no weights


@pytest.mark.parametrize("block", [BasicBlock, PlainBlock, PreActBlock, PreActBottleneck])
def test_other_blocks_refuse_groups_width_and_dilation_like_torchvision(block):
    with pytest.raises(ValueError, match=f"{block.__name__} only supports groups=1 and width_per_group=64"):
        ResNet(block, [1, 1, 1, 1], groups=32)
    with pytest.raises(ValueError, match="only supports groups=1 and width_per_group=64"):
        ResNet(block, [1, 1, 1, 1], width_per_group=128)
    with pytest.raises(ValueError, match=f"{block.__name__} does not support dilation"):
        ResNet(block, [1, 1, 1, 1], replace_stride_with_dilation=[False, False, True])


def test_bad_family_arguments_get_clear_errors():
    with pytest.raises(ValueError, match=r"one bool per stage after the first \(3 for 4 stages\)"):
        meta("resnet50", replace_stride_with_dilation=[True, True])
    with pytest.raises(ValueError, match=r"one bool per stage after the first \(2 for 3 stages\)"):
        ResNet(Bottleneck, [1, 1, 1], (16, 32, 64), replace_stride_with_dilation=[True, True, True])
    with pytest.raises(ValueError, match="groups must be a positive int"):
        meta("resnet50", groups=0)
    with pytest.raises(ValueError, match="bottleneck width"):
        Bottleneck(64, 1, base_width=4)  # int(1 * 4 / 64) * 1 == 0


# ----- builders take torchvision's arguments --------------------------------------------------

CIFAR_BUILDERS = ["resnet20", "resnet32", "resnet44", "resnet56", "resnet110",
                  "plain20", "plain32", "plain44", "plain56", "plain110"]


@pytest.mark.parametrize("name", [*TORCHVISION_RESNETS, "plain18", "plain34", *CIFAR_BUILDERS])
def test_every_builder_takes_weights_none_and_progress(name):
    model = meta(name, weights=None, progress=False)
    assert isinstance(model, ResNet)
    loader = "load_cifar_checkpoint" if name in CIFAR_BUILDERS else "load_torchvision_weights"
    with pytest.raises(ValueError, match=f"weights must be None, got 'IMAGENET1K_V1'.*{loader}.*load_checkpoint"):
        meta(name, weights="IMAGENET1K_V1")


def test_family_builders_pass_other_arguments_to_resnet():
    model = meta("resnext50_32x4d", num_classes=10, zero_init_residual=True)
    assert model.fc.weight.shape == (10, 2048) and model.layer1[0].conv2.groups == 32
    with pytest.raises(TypeError, match="multiple values for keyword argument 'groups'"):
        meta("resnext50_32x4d", groups=8)
