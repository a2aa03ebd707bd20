"""Tests for resnet_edu.measuring.counting: parameters and MACs against hand counts and published numbers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import resnet_edu
from resnet_edu.measuring.counting import count_macs, count_parameters, count_weighted_layers

# torchvision's model documentation, GFLOPS column (multiply-adds) at 224x224, FACTS.md
TORCHVISION_GMACS = {"resnet18": 1.814, "resnet34": 3.664, "resnet50": 4.089, "resnet101": 7.801, "resnet152": 11.514}
# He et al. 2015 Table 1 with the stride on the first 1x1, recomputed (the paper prints 3.8 / 7.6 / 11.3)
PAPER_GMACS = {"resnet50": 3.86, "resnet101": 7.57, "resnet152": 11.28}


def test_count_parameters_by_hand():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.Linear(8, 2))
    assert count_parameters(model) == (3 * 8 * 9 + 8) + 2 * 8 + (8 * 2 + 2)


def test_count_parameters_counts_a_shared_tensor_once():
    shared = nn.Linear(4, 4)
    assert count_parameters(nn.Sequential(shared, nn.ReLU(), shared)) == 4 * 4 + 4


def test_count_parameters_trainable_only():
    model = resnet_edu.resnet20()
    for p in model.parameters():
        p.requires_grad_(False)
    for p in model.fc.parameters():
        p.requires_grad_(True)
    assert count_parameters(model, trainable_only=True) == 64 * 10 + 10
    assert count_parameters(model) == 269_722


def test_count_macs_by_hand():
    # a 3x3 conv 3->8 on 10x10 (padding 1): 8 * 3 * 9 MACs at each of 100 positions; fc 800 -> 5
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.Flatten(), nn.Linear(800, 5))
    assert count_macs(model, (1, 3, 10, 10)) == 8 * 3 * 9 * 100 + 800 * 5
    assert count_macs(model, (4, 3, 10, 10)) == 4 * (8 * 3 * 9 * 100 + 800 * 5)  # scales with the batch


@pytest.mark.parametrize("training", [True, False])
def test_count_macs_restores_the_mode_and_leaves_bn_statistics_alone(training):
    model = resnet_edu.resnet20().train(training)
    before = model.bn1.running_mean.clone(), model.bn1.num_batches_tracked.clone()
    count_macs(model, (2, 3, 32, 32))
    assert model.training is training
    assert all(m.training is training for m in model.modules())
    assert torch.equal(model.bn1.running_mean, before[0]) and torch.equal(model.bn1.num_batches_tracked, before[1])


# The large networks are built on the meta device: no weights, counted in milliseconds.


@pytest.mark.parametrize("name, gmacs", TORCHVISION_GMACS.items())
def test_macs_at_224_match_torchvision_within_half_a_percent(meta_model, name, gmacs):
    assert count_macs(meta_model(name)) / 1e9 == pytest.approx(gmacs, rel=0.005)


@pytest.mark.parametrize("name, gmacs", PAPER_GMACS.items())
def test_papers_stride_placement_matches_table_1(meta_model, name, gmacs):
    macs = count_macs(meta_model(name, stride_in_1x1=True))
    assert abs(macs / 1e9 - gmacs) <= 0.1
    # and it is cheaper than torchvision's placement by a visible margin
    assert TORCHVISION_GMACS[name] - macs / 1e9 > 0.2


def test_plain34_is_resnet34_less_its_three_projections(meta_model):
    # 1x1 projections 64->128 at 28x28, 128->256 at 14x14, 256->512 at 7x7
    projections = 64 * 128 * 28 * 28 + 128 * 256 * 14 * 14 + 256 * 512 * 7 * 7
    assert count_macs(meta_model("plain34")) == count_macs(meta_model("resnet34")) - projections
    assert count_macs(meta_model("plain34")) == count_macs(meta_model("resnet34", shortcut="A"))


def test_vgg16_at_224_matches_torchvision(meta_model):
    # torchvision's documentation: 138,357,544 parameters, 15.47 GFLOPS (multiply-adds)
    model = meta_model("vgg16")
    assert count_parameters(model) == 138_357_544
    assert count_macs(model) / 1e9 == pytest.approx(15.47, abs=0.005)


def test_count_macs_on_the_meta_device_equals_the_real_count(meta_model):
    assert count_macs(meta_model("resnet20"), (2, 3, 32, 32)) == count_macs(resnet_edu.resnet20(), (2, 3, 32, 32))


def test_cifar_resnet20_macs():
    # hand count at 32x32: stem 16*3*9*1024; stage k has 2n 3x3 convs of c_k*c_k*9 at (32/2^(k-1))^2,
    # except the first conv of stages 2 and 3, which reads c_{k-1} channels; fc 64*10
    n, total = 3, 16 * 3 * 9 * 32 * 32
    for c_in, c, side in [(16, 16, 32), (16, 32, 16), (32, 64, 8)]:
        total += (c_in * c * 9 + (2 * n - 1) * c * c * 9) * side * side
    total += 64 * 10
    assert count_macs(resnet_edu.resnet20(), (1, 3, 32, 32)) == total
    assert count_macs(resnet_edu.plain20(), (1, 3, 32, 32)) == total  # option A adds no MACs


@pytest.mark.parametrize(
    "name, depth",
    [("resnet18", 18), ("resnet34", 34), ("resnet50", 50), ("resnet101", 101), ("resnet152", 152),
     ("plain18", 18), ("plain34", 34),
     ("resnet20", 20), ("resnet32", 32), ("resnet44", 44), ("resnet56", 56), ("resnet110", 110),
     ("plain20", 20), ("plain32", 32), ("plain44", 44), ("plain56", 56), ("plain110", 110)],
)
def test_count_weighted_layers_is_the_depth_in_the_name(name, depth):
    with torch.device("meta"):
        model = getattr(resnet_edu, name)()
    assert count_weighted_layers(model) == depth
    # the 1x1 projections (option B: one per stage whose shape changes) are the only layers left out
    convs = sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules())
    projections = 0 if name.startswith("plain") or depth in (20, 32, 44, 56, 110) else 4 if depth >= 50 else 3
    assert convs - count_weighted_layers(model) == projections


def test_count_weighted_layers_other_configurations():
    with torch.device("meta"):
        assert count_weighted_layers(resnet_edu.ResNet(resnet_edu.BasicBlock, [3, 3, 3, 3])) == 26
        assert count_weighted_layers(resnet_edu.cifar_resnet(1202)) == 1202
        assert count_weighted_layers(resnet_edu.cifar_resnet(20, shortcut="C")) == 20
    assert count_weighted_layers(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Linear(4, 2))) == 2
    with pytest.raises(TypeError, match="nn.Module"):
        count_weighted_layers([nn.Linear(2, 2)])
