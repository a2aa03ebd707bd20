"""Tests for resnet_edu.models.networks: every named network, torchvision compatibility, bad input.

Published numbers come from /work/shared/FACTS.md (He et al. 2015 Table 1 and section 4.2;
torchvision's model documentation).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import resnet_edu
from resnet_edu import (
    BasicBlock,
    Bottleneck,
    PlainBlock,
    PreActBlock,
    ResNet,
    cifar_plain,
    cifar_resnet,
    count_parameters,
    count_weighted_layers,
)
from resnet_edu.models.init import default_init_, he_init_
from resnet_edu.models.shortcuts import ZeroPadShortcut

IMAGENET_LAYERS = {
    "resnet18": ("basic", [2, 2, 2, 2]),
    "resnet34": ("basic", [3, 4, 6, 3]),
    "resnet50": ("bottleneck", [3, 4, 6, 3]),
    "resnet101": ("bottleneck", [3, 4, 23, 3]),
    "resnet152": ("bottleneck", [3, 8, 36, 3]),
}
# torchvision's model documentation ("num_params"), FACTS.md
IMAGENET_PARAMS = {
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
}
# He et al. 2015 section 4.2, option A (FACTS.md, recomputed independently)
CIFAR_PARAMS = {20: 269_722, 32: 464_154, 44: 658_586, 56: 853_018, 110: 1_727_962}
OPTION_B_EXTRA = 2_752  # (16*32 + 2*32) + (32*64 + 2*64): the two projections of option B

ALL_NAMED = [*IMAGENET_PARAMS, "plain18", "plain34", *(f"resnet{d}" for d in CIFAR_PARAMS),
             *(f"plain{d}" for d in CIFAR_PARAMS)]


def build(name: str, **kwargs) -> ResNet:
    torch.manual_seed(0)
    return getattr(resnet_edu, name)(**kwargs)


# ----- the expected torchvision state_dict, generated independently ---------------------------


def torchvision_state_shapes(kind: str, layers: list[int], num_classes: int = 1000) -> dict[str, tuple]:
    """Names and shapes of ``torchvision.models.resnetXX().state_dict()``, without torchvision.

    Written from torchvision's published architecture (torchvision/models/resnet.py, the
    "ResNet" and "Bottleneck"/"BasicBlock" classes, unchanged since v0.2): a 7x7 conv1 with
    64 filters; bn1; layer1..layer4 of ``planes`` = 64/128/256/512, whose blocks are named
    ``layer{i}.{j}`` with conv1/bn1/conv2/bn2 (+conv3/bn3 for Bottleneck, expansion 4);
    a ``downsample`` Sequential (0: 1x1 conv without bias, 1: BatchNorm2d) on block 0 of
    a stage when the stride is not 1 or ``inplanes != planes * expansion``; and ``fc``.
    Every BatchNorm2d has weight, bias, running_mean, running_var and a 0-d
    num_batches_tracked. Convolutions have no bias. Deliberately does not use resnet_edu.
    """
    shapes: dict[str, tuple] = {}

    def add_bn(prefix: str, c: int) -> None:
        for name in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{prefix}.{name}"] = (c,)
        shapes[f"{prefix}.num_batches_tracked"] = ()

    shapes["conv1.weight"] = (64, 3, 7, 7)
    add_bn("bn1", 64)
    inplanes = 64
    expansion = 1 if kind == "basic" else 4
    for i, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers), start=1):
        for j in range(blocks):
            p = f"layer{i}.{j}"
            stride = 2 if (i > 1 and j == 0) else 1
            if kind == "basic":
                shapes[f"{p}.conv1.weight"] = (planes, inplanes, 3, 3)
                add_bn(f"{p}.bn1", planes)
                shapes[f"{p}.conv2.weight"] = (planes, planes, 3, 3)
                add_bn(f"{p}.bn2", planes)
            else:
                shapes[f"{p}.conv1.weight"] = (planes, inplanes, 1, 1)
                add_bn(f"{p}.bn1", planes)
                shapes[f"{p}.conv2.weight"] = (planes, planes, 3, 3)
                add_bn(f"{p}.bn2", planes)
                shapes[f"{p}.conv3.weight"] = (planes * 4, planes, 1, 1)
                add_bn(f"{p}.bn3", planes * 4)
            if j == 0 and (stride != 1 or inplanes != planes * expansion):
                shapes[f"{p}.downsample.0.weight"] = (planes * expansion, inplanes, 1, 1)
                add_bn(f"{p}.downsample.1", planes * expansion)
            inplanes = planes * expansion
    shapes["fc.weight"] = (num_classes, 512 * expansion)
    shapes["fc.bias"] = (num_classes,)
    return shapes


def torchvision_forward(sd: dict[str, torch.Tensor], x: torch.Tensor, kind: str, layers: list[int]) -> torch.Tensor:
    """torchvision's ResNet forward in eval mode, written functionally over a state_dict.

    Transcribed from torchvision's ``ResNet._forward_impl``, ``BasicBlock.forward`` and
    ``Bottleneck.forward`` (stride on the 3x3: "V1.5"). Deliberately does not use resnet_edu.
    """

    def bn(p, t):
        return F.batch_norm(t, sd[f"{p}.running_mean"], sd[f"{p}.running_var"], sd[f"{p}.weight"], sd[f"{p}.bias"],
                            training=False, eps=1e-5)

    def conv(p, t, stride=1, padding=0):
        return F.conv2d(t, sd[f"{p}.weight"], stride=stride, padding=padding)

    x = F.max_pool2d(F.relu(bn("bn1", conv("conv1", x, 2, 3))), 3, 2, 1)
    for i, blocks in enumerate(layers, start=1):
        for j in range(blocks):
            p, stride = f"layer{i}.{j}", (2 if i > 1 and j == 0 else 1)
            if kind == "basic":
                out = F.relu(bn(f"{p}.bn1", conv(f"{p}.conv1", x, stride, 1)))
                out = bn(f"{p}.bn2", conv(f"{p}.conv2", out, 1, 1))
            else:
                out = F.relu(bn(f"{p}.bn1", conv(f"{p}.conv1", x)))
                out = F.relu(bn(f"{p}.bn2", conv(f"{p}.conv2", out, stride, 1)))
                out = bn(f"{p}.bn3", conv(f"{p}.conv3", out))
            identity = x
            if f"{p}.downsample.0.weight" in sd:
                identity = bn(f"{p}.downsample.1", conv(f"{p}.downsample.0", x, stride))
            x = F.relu(out + identity)
    x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
    return F.linear(x, sd["fc.weight"], sd["fc.bias"])


def random_state(shapes: dict[str, tuple], seed: int = 0) -> dict[str, torch.Tensor]:
    """A checkpoint with torchvision's names and shapes and random, non-trivial values."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for name, shape in shapes.items():
        if name.endswith("num_batches_tracked"):
            state[name] = torch.tensor(100)
        elif name.endswith("running_var"):
            state[name] = torch.rand(shape, generator=g) + 0.5
        else:
            state[name] = torch.randn(shape, generator=g) * 0.05
    return state


@pytest.mark.parametrize("name", list(IMAGENET_LAYERS))
def test_state_dict_names_and_shapes_equal_torchvisions(meta_model, name):
    model = meta_model(name)
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    expected = torchvision_state_shapes(*IMAGENET_LAYERS[name])
    assert set(ours) - set(expected) == set()
    assert set(expected) - set(ours) == set()
    assert ours == expected
    # and torchvision's own num_params follows from the same shapes
    n = sum(torch.Size(s).numel() for k, s in expected.items() if not k.split(".")[-1].startswith(("running", "num")))
    assert n == IMAGENET_PARAMS[name]


@pytest.mark.parametrize("name", ["resnet18", pytest.param("resnet50", marks=pytest.mark.slow)])
def test_torchvision_checkpoint_loads_strictly_and_gives_torchvisions_outputs(name):
    kind, layers = IMAGENET_LAYERS[name]
    checkpoint = random_state(torchvision_state_shapes(kind, layers))
    model = build(name).eval()
    model.load_state_dict(checkpoint, strict=True)  # torchvision -> ours
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        torch.testing.assert_close(model(x), torchvision_forward(checkpoint, x, kind, layers), rtol=1e-4, atol=1e-5)
        # ours -> a torchvision-shaped dict -> a fresh model: the same outputs again
        back = {k: v.clone() for k, v in model.state_dict().items()}
        fresh = build(name).eval()
        fresh.load_state_dict(back, strict=True)
        torch.testing.assert_close(fresh(x), model(x))


# ----- parameter counts -----------------------------------------------------------------------


@pytest.mark.parametrize("name, expected", IMAGENET_PARAMS.items())
def test_imagenet_parameter_counts(meta_model, name, expected):
    assert count_parameters(meta_model(name)) == expected


@pytest.mark.parametrize("depth, expected", CIFAR_PARAMS.items())
def test_cifar_parameter_counts_both_options_and_plain_twin(meta_model, depth, expected):
    assert count_parameters(meta_model(f"resnet{depth}")) == expected
    assert count_parameters(meta_model("cifar_resnet", depth=depth, shortcut="A")) == expected
    assert count_parameters(meta_model("cifar_resnet", depth=depth, shortcut="B")) == expected + OPTION_B_EXTRA
    # Option C projects every shortcut: a 1x1 conv + BN (c_in * c + 2c) in each of the 3n blocks
    n = (depth - 2) // 6
    option_c_extra = n * (16 * 16 + 32) + (16 * 32 + 64) + (n - 1) * (32 * 32 + 64) + (32 * 64 + 128) + (n - 1) * (
        64 * 64 + 128
    )
    assert count_parameters(meta_model("cifar_resnet", depth=depth, shortcut="C")) == expected + option_c_extra
    assert count_parameters(meta_model(f"plain{depth}")) == expected  # "the same number of parameters"


@pytest.mark.parametrize("name", ["resnet18", "resnet34"])
def test_imagenet_option_b_differs_from_a_by_the_three_projections(meta_model, name):
    # stages 2-4 each open with a 1x1 conv + BN: 64->128, 128->256, 256->512
    projections = sum(c_in * c_out + 2 * c_out for c_in, c_out in [(64, 128), (128, 256), (256, 512)])
    assert count_parameters(meta_model(name, shortcut="A")) == IMAGENET_PARAMS[name] - projections
    plain = meta_model(name.replace("resnet", "plain"))
    assert count_parameters(plain) == IMAGENET_PARAMS[name] - projections

# The name is the depth: tests/test_counting.py (count_weighted_layers of every named network).


# ----- shapes, forward and backward -----------------------------------------------------------


def num_classes_of(name: str) -> int:
    return 1000 if name in IMAGENET_PARAMS or name in ("plain18", "plain34") else 10


@pytest.mark.parametrize("name", ALL_NAMED)
def test_forward_shape_of_every_model(meta_model, name):
    model = meta_model(name).eval()
    size = 32 if model.min_input_size == 32 else 8
    with torch.no_grad():
        out = model(torch.empty(2, 3, size, size, device="meta"))
    assert out.shape == (2, model.num_classes) and model.num_classes == num_classes_of(name)


# Every block kind and stem runs forward and backward for real. The bottleneck networks and
# ResNet-110 take seconds each (ResNet-152 half a minute on two busy cores): `make test` runs them,
# `make test-unit` leaves them out.
@pytest.mark.parametrize(
    "name",
    ["resnet18", "plain18", "resnet20", "plain20",
     *(pytest.param(name, marks=pytest.mark.slow) for name in ("resnet50", "resnet110", "resnet101", "resnet152"))],
)
def test_backward_reaches_every_parameter(name):
    model = build(name)
    size = 32 if model.min_input_size == 32 else 8
    out = model(torch.randn(2, 3, size, size))
    out.logsumexp(dim=1).mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_min_input_size_and_non_square_inputs(meta_model):
    assert meta_model("resnet18").min_input_size == 32  # 2 (conv1) * 2 (maxpool) * 2 * 2 * 2 (stages 2-4)
    assert meta_model("resnet20").min_input_size == 4  # stages 2 and 3
    model = meta_model("resnet18").eval()
    for shape in [(1, 3, 32, 32), (1, 3, 224, 224), (1, 3, 40, 75)]:
        assert model(torch.empty(shape, device="meta")).shape == (1, 1000)


def test_stage_shapes_follow_table_1(meta_model):
    model = meta_model("resnet50").eval()
    seen = {}
    for name in ("maxpool", "layer1", "layer2", "layer3", "layer4"):
        getattr(model, name).register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, tuple(o.shape)))
    model(torch.empty(1, 3, 224, 224, device="meta"))
    assert seen == {"maxpool": (1, 64, 56, 56), "layer1": (1, 256, 56, 56), "layer2": (1, 512, 28, 28),
                    "layer3": (1, 1024, 14, 14), "layer4": (1, 2048, 7, 7)}


# ----- plain twins, option A, the general builder ---------------------------------------------


@pytest.mark.parametrize("name", ["plain18", "plain34", "plain20", "plain110"])
def test_plain_twins_contain_no_shortcut(meta_model, name):
    model = meta_model(name)
    blocks = [m for m in model.modules() if isinstance(m, nn.Sequential) for m in m]
    assert blocks and all(type(b) is PlainBlock for b in blocks)
    assert not any(isinstance(m, ZeroPadShortcut) for m in model.modules())
    assert not any("downsample" in k for k in model.state_dict())


def test_option_a_adds_no_parameters_to_the_network():
    for depth in (20, 56):
        resnet, plain = cifar_resnet(depth), cifar_plain(depth)
        assert any(isinstance(m, ZeroPadShortcut) for m in resnet.modules())
        assert {k: v.shape for k, v in resnet.state_dict().items()} == {k: v.shape for k, v in plain.state_dict().items()}


def test_general_builder_expresses_the_seeds_variants():
    # seed 003: ResNet-18 for 1-channel (grey) input and 10 classes (the seed feeds it 224x224)
    grey = ResNet(BasicBlock, [2, 2, 2, 2], in_channels=1, num_classes=10)
    stem_saved = 64 * 7 * 7 * (3 - 1)
    fc_saved = (512 + 1) * (1000 - 10)
    assert count_parameters(grey) == IMAGENET_PARAMS["resnet18"] - stem_saved - fc_saved
    assert grey.conv1.weight.shape == (64, 1, 7, 7)
    assert grey(torch.randn(2, 1, 32, 32)).shape == (2, 10)
    # seed 000: ResNet-50 with a 384-dimensional output
    with torch.device("meta"):
        embed = resnet_edu.resnet50(num_classes=384)
    assert embed.fc.weight.shape == (384, 2048)
    assert count_parameters(embed) == IMAGENET_PARAMS["resnet50"] - 2049 * (1000 - 384)
    # a depth nobody named: 26 layers of basic blocks = 1 + 2 * (3 + 3 + 3 + 3) + 1
    with torch.device("meta"):
        r26 = ResNet(BasicBlock, [3, 3, 3, 3])
        assert count_weighted_layers(r26) == 26
        assert r26(torch.empty(2, 3, 32, 32)).shape == (2, 1000)
    # and fewer or more stages than four
    assert ResNet(Bottleneck, [1, 1], widths=(8, 16), stem="cifar", num_classes=5)(torch.randn(2, 3, 4, 4)).shape == (2, 5)


def test_preact_network_ends_with_bn_relu():
    model = ResNet(PreActBlock, [2, 2, 2], (16, 32, 64), stem="cifar", num_classes=10)
    assert isinstance(model.final_bn, nn.BatchNorm2d) and model.final_bn.num_features == 64
    assert build("resnet20").final_bn is None
    assert model(torch.randn(2, 3, 8, 8)).shape == (2, 10)


def bn_layers(model: nn.Module) -> int:
    return sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())


def test_preact_network_has_one_activation_between_conv1_and_the_first_conv():
    # He et al. 2016, appendix: "the first activation right after conv1 and before splitting into
    # two paths": the stem's BN-ReLU, then layer1.0 starts at conv1 and its shortcut reads the same
    model = resnet_edu.preact_resnet110().eval()
    first = model.layer1[0]
    assert first.bn1 is None and all(b.bn1 is not None for _, b in model.named_blocks()[1:])
    x = torch.randn(2, 3, 8, 8)
    seen = {}
    first.register_forward_pre_hook(lambda _m, args: seen.setdefault("in", args[0]))
    model(x)
    stem = F.relu(model.bn1(model.conv1(x)))
    torch.testing.assert_close(seen["in"], stem)
    # 6n + 1 BN layers: two per block, one in the stem, one at the end, none in layer1.0's start
    assert bn_layers(model) == 6 * 18 + 1 == 109
    assert bn_layers(resnet_edu.cifar_resnet(110)) == 6 * 18 + 1  # the original: also 109, in other places


@pytest.mark.parametrize("name, n, bn", [("preact_resnet164", 18, 163), ("preact_resnet1001", 111, 1000)])
def test_preact_bottleneck_networks_count_bn_and_layers(name, n, bn):
    with torch.device("meta"):
        model = getattr(resnet_edu, name)()
    assert model.blocks_per_stage == (n, n, n) and isinstance(model.layer1[0], resnet_edu.PreActBottleneck)
    assert bn_layers(model) == 9 * n + 1 == bn  # three per block, stem, final, not layer1.0's own
    assert count_weighted_layers(model) == 9 * n + 2  # the 1x1 projections are not counted as layers
    assert [getattr(model, s)[-1].out_channels for s in model.stage_names] == [64, 128, 256]


def test_preact_parameter_counts_against_the_2016_paper():
    # He et al. 2016, Table 4: ResNet-164 (1.7M), ResNet-1001 (10.2M), one decimal. The paper does
    # not say what it counts: ResNet-1001's 10.2M are its weights without BN's scales and shifts.
    from resnet_edu.measuring.published import PUBLISHED_PREACT_CIFAR

    with torch.device("meta"):
        models = {"ResNet-110": resnet_edu.preact_resnet110(), "ResNet-164": resnet_edu.preact_resnet164(),
                  "ResNet-1001": resnet_edu.preact_resnet1001()}
    counts = {name: count_parameters(m) for name, m in models.items()}
    assert counts == {"ResNet-110": 1_727_962, "ResNet-164": 1_703_258, "ResNet-1001": 10_327_706}
    bn = {name: sum(p.numel() for mod in m.modules() if isinstance(mod, nn.BatchNorm2d) for p in mod.parameters())
          for name, m in models.items()}
    for name in ("ResNet-110", "ResNet-164"):
        assert round(counts[name] / 1e6, 1) == PUBLISHED_PREACT_CIFAR[name].parameters_millions
    assert round((counts["ResNet-1001"] - bn["ResNet-1001"]) / 1e6, 1) == 10.2
    assert round(counts["ResNet-1001"] / 1e6, 1) == 10.3 != PUBLISHED_PREACT_CIFAR["ResNet-1001"].parameters_millions


def test_preact_builders_refuse_wrong_depths():
    with pytest.raises(ValueError, match="9n \\+ 2 layers"):
        resnet_edu.cifar_preact_resnet(32, bottleneck=True)
    with pytest.raises(ValueError, match="6n \\+ 2 layers"):
        resnet_edu.cifar_preact_resnet(1001)
    with pytest.raises(TypeError, match="bottleneck must be True or False"):
        resnet_edu.cifar_preact_resnet(164, bottleneck="yes")
    with pytest.raises(ValueError, match="untrained networks"):
        resnet_edu.preact_resnet164(weights="DEFAULT")


def test_norm_layer_identity_builds_a_network_without_bn():
    model = build("resnet20", norm_layer=nn.Identity, shortcut="B")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert model(torch.randn(2, 3, 8, 8)).shape == (2, 10)


def test_stride_in_1x1_is_the_papers_placement(meta_model):
    model = meta_model("resnet50", stride_in_1x1=True)
    assert model.layer2[0].conv1.stride == (2, 2) and model.layer2[0].conv2.stride == (1, 1)
    assert count_parameters(model) == IMAGENET_PARAMS["resnet50"]
    with pytest.raises(ValueError, match="only applies to Bottleneck"):
        build("resnet18", stride_in_1x1=True)


# ----- initialisation -------------------------------------------------------------------------


def test_seeded_construction_is_reproducible_and_the_seed_matters():
    a, b = build("resnet20"), build("resnet20")
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    torch.manual_seed(1)
    c = resnet_edu.resnet20()
    assert not torch.equal(a.conv1.weight, c.conv1.weight)


def test_he_init_as_torchvision():
    model = build("resnet50")
    w = model.layer4[0].conv2.weight  # 512 x 512 x 3 x 3: fan_out = 512 * 9
    assert w.std().item() == pytest.approx((2 / (512 * 9)) ** 0.5, rel=0.02)
    assert w.mean().abs().item() < 1e-3
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0)
    bound = 1 / 2048**0.5  # fc keeps PyTorch's default uniform(-1/sqrt(in), 1/sqrt(in))
    assert model.fc.weight.abs().max().item() <= bound


def test_default_init_is_pytorchs_and_he_init_restores_torchvisions():
    model = build("resnet20")
    model.bn1.running_mean.fill_(3.0)
    default_init_(model)
    w = model.layer3[1].conv1.weight  # 64 x 64 x 3 x 3: fan_in = 576
    bound = 1 / 576**0.5  # kaiming_uniform_(a=sqrt(5)) is uniform(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert w.abs().max().item() <= bound
    assert w.std().item() == pytest.approx(bound / 3**0.5, rel=0.05)
    assert torch.all(model.bn1.running_mean == 0)  # BN statistics reset too
    he_init_(model)
    assert w.std().item() == pytest.approx((2 / 576) ** 0.5, rel=0.05)  # fan_out = fan_in here


def test_zero_init_residual_zeroes_exactly_the_last_bn_of_each_branch():
    model = build("resnet50", zero_init_residual=True)
    zeroed = {n for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d) and torch.all(m.weight == 0)}
    expected = {f"layer{i}.{j}.bn3" for i, n in enumerate([3, 4, 6, 3], start=1) for j in range(n)}
    assert zeroed == expected
    assert torch.all(model.layer2[0].downsample[1].weight == 1)


# ----- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [21, 19, 2, 7, 100])
def test_cifar_depth_must_be_6n_plus_2(depth):
    with pytest.raises(ValueError, match=r"6n \+ 2.*20, 32"):
        cifar_resnet(depth)
    with pytest.raises(ValueError, match=r"6n \+ 2"):
        cifar_plain(depth)


def test_cifar_depth_must_be_an_int():
    with pytest.raises(TypeError, match="depth must be a positive int"):
        cifar_resnet("20")
    with pytest.raises(ValueError, match="depth must be a positive int"):
        cifar_resnet(-4)


def test_unknown_shortcut_option():
    with pytest.raises(ValueError, match=r"shortcut must be one of \('A', 'B', 'C'\), got 'D'"):
        ResNet(BasicBlock, [2, 2, 2, 2], shortcut="D")
    with pytest.raises(ValueError, match="shortcut must be one of"):
        cifar_plain(20, shortcut="projection")  # checked even where plain blocks ignore it


def test_unknown_stem():
    with pytest.raises(ValueError, match=r"stem must be one of \('imagenet', 'cifar'\)"):
        ResNet(BasicBlock, [2, 2, 2, 2], stem="tiny")


@pytest.mark.parametrize("layers", [[2, 2, 2], [2, 2, 2, 2, 2]])
def test_layers_of_the_wrong_length(layers):
    with pytest.raises(ValueError, match="one entry per stage"):
        ResNet(BasicBlock, layers)


@pytest.mark.parametrize("layers, error", [([2, 0, 2, 2], ValueError), ([], ValueError), ([2, 2.0, 2, 2], TypeError),
                                           (4, TypeError)])
def test_layers_with_a_zero_or_a_non_int(layers, error):
    with pytest.raises(error, match="layers"):
        ResNet(BasicBlock, layers)


@pytest.mark.parametrize("widths", [(64, 0, 256, 512), (64, -128, 256, 512)])
def test_non_positive_widths(widths):
    with pytest.raises(ValueError, match="widths must hold positive ints"):
        ResNet(BasicBlock, [2, 2, 2, 2], widths)


@pytest.mark.parametrize("num_classes", [0, -10])
def test_non_positive_classes(num_classes):
    with pytest.raises(ValueError, match="num_classes must be a positive int"):
        build("resnet18", num_classes=num_classes)


def test_non_positive_in_channels_and_bad_block():
    with pytest.raises(ValueError, match="in_channels must be a positive int"):
        build("resnet20", in_channels=0)
    with pytest.raises(TypeError, match="block must be a block class"):
        ResNet(nn.Conv2d, [2, 2, 2, 2])
    with pytest.raises(TypeError, match="block must be a block class"):
        ResNet(BasicBlock(3, 3), [2, 2, 2, 2])


def test_input_with_the_wrong_number_of_channels():
    with pytest.raises(ValueError, match=r"expects 3 input channel\(s\), got 1"):
        build("resnet18")(torch.randn(2, 1, 64, 64))
    with pytest.raises(ValueError, match=r"expects 1 input channel\(s\), got 3"):
        build("resnet18", in_channels=1)(torch.randn(2, 3, 64, 64))


def test_inputs_smaller_than_the_downsampling_run_as_in_torchvision():
    # torchvision's ResNets run inputs down to 1x1 in eval mode (its weights' min_size is (1, 1))
    for name, size in [("resnet50", 31), ("resnet18", 1), ("resnet20", 3), ("resnet20", 1)]:
        model = build(name).eval()
        with torch.no_grad():
            assert model(torch.randn(1, 3, size, size)).shape == (1, model.num_classes)
    # in training mode BatchNorm needs more than one value per channel: PyTorch says so itself
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        build("resnet18")(torch.randn(1, 3, 16, 16))


@pytest.mark.parametrize("shape", [(3, 32, 32), (32, 32), (1, 2, 3, 32, 32)])
def test_input_must_be_4d(shape):
    with pytest.raises(ValueError, match=r"4-D input \(N, C, H, W\)"):
        build("resnet20")(torch.randn(shape))


def test_input_must_be_a_tensor():
    with pytest.raises(TypeError, match="torch.Tensor"):
        build("resnet20")([[0.0]])
