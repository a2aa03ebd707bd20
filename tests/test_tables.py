"""Tests for resnet_edu.measuring.costs, resnet_edu.measuring.comparison and resnet_edu.models.vgg: counts vs published numbers.

Table 1 itself is tested in test_table1.py.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resnet_edu import count_macs, count_parameters, plain20, resnet20
from resnet_edu.measuring.comparison import imagenet_comparison
from resnet_edu.measuring.costs import CostRow, cost_table
from resnet_edu.measuring.formulas import basic_block_macs, basic_block_params, bottleneck_params
from resnet_edu.measuring.published import PUBLISHED_IMAGENET


def test_stage_table_of_resnet18_adds_up_and_matches_the_counters(meta_model):
    model = meta_model("resnet18")
    table = cost_table(model, (1, 3, 224, 224))
    assert [r.name for r in table] == ["conv1..maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc"]
    assert sum(r.parameters for r in table) == table.total_parameters == count_parameters(model) == 11_689_512
    assert sum(r.macs for r in table) == table.total_macs == count_macs(model, (1, 3, 224, 224))
    # stem: 7x7 conv 3->64 at 112x112 (MACs) plus its BN (parameters), by hand
    assert table.row("conv1..maxpool") == CostRow("conv1..maxpool", "Stem", 7 * 7 * 3 * 64 + 2 * 64, 7 * 7 * 3 * 64 * 112 * 112)
    # layer4 = one projecting block at 7x7 + one identity block, from the closed-form formulas
    layer4 = table.row("layer4")
    assert layer4.parameters == basic_block_params(256, 512, 2) + basic_block_params(512, 512)
    assert layer4.macs == basic_block_macs(256, 512, 14, 14, 2) + basic_block_macs(512, 512, 7, 7)
    assert table.row("fc").macs == 512 * 1000


def test_block_table_of_resnet50_matches_the_bottleneck_formula(meta_model):
    table = cost_table(meta_model("resnet50"), (1, 3, 224, 224), level="blocks")
    blocks = [r for r in table if r.type == "Bottleneck"]
    assert len(blocks) == 16
    assert table.row("layer3.0").parameters == bottleneck_params(512, 256, 2)
    assert table.row("layer3.5").parameters == bottleneck_params(1024, 256)
    assert sum(r.macs for r in table) == table.total_macs == 4_089_184_256


def test_macs_scale_with_batch_and_with_the_input_area():
    one = cost_table(resnet20(), (1, 3, 32, 32))
    two = cost_table(resnet20(), (2, 3, 32, 32))
    assert two.total_macs == 2 * one.total_macs
    small = cost_table(resnet20(), (1, 3, 16, 16))
    conv_part = one.total_macs - one.row("fc").macs
    assert small.total_macs - small.row("fc").macs == conv_part // 4


def test_plain_twin_has_the_same_costs_as_the_option_a_resnet():
    res, plain = cost_table(resnet20(), (1, 3, 32, 32)), cost_table(plain20(), (1, 3, 32, 32))
    assert res.total_parameters == plain.total_parameters == 269_722
    assert res.total_macs == plain.total_macs


def test_work_outside_modules_gets_its_own_row():
    class Functional(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.weight = nn.Parameter(torch.zeros(3, 4 * 8 * 8))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.linear(self.conv(x).flatten(1), self.weight)

    table = cost_table(Functional(), (1, 1, 8, 8), level="layers")
    assert table.row("conv").macs == 9 * 4 * 64
    assert table.row("(forward)").macs == 3 * 256
    assert sum(r.macs for r in table) == table.total_macs


def test_cost_table_restores_modes_and_prints():
    model = resnet20()
    model.train()
    table = cost_table(model, (1, 3, 32, 32), level="blocks")
    assert model.training and model.layer1[0].bn1.training
    text = str(table)
    assert "layer3.2" in text and "269,722" in text and "100.0%" in text
    html = table._repr_html_()
    assert html.startswith("<table>") and html.count("<tr>") == len(table) + 2  # header + total
    with pytest.raises(KeyError, match="no row"):
        table.row("layer9")


@pytest.mark.parametrize("size", [(1,), "x", (1, 3, 0, 4), (1, 3, 32.0, 32)])
def test_cost_table_rejects_bad_input_sizes(size):
    with pytest.raises(ValueError, match="input_size"):
        cost_table(resnet20(), size)


def test_a_forgotten_batch_dimension_is_reported_by_the_model():
    with pytest.raises(ValueError, match="batch dimension"):
        cost_table(resnet20(), (3, 32, 32))


def test_vgg16_is_counted_not_typed(meta_model):
    model = meta_model("vgg16")
    assert count_parameters(model) == 138_357_544
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert len(convs) == 13 and len(linears) == 3
    assert count_macs(model, (1, 3, 224, 224)) / 1e9 == pytest.approx(15.47, abs=0.01)


@pytest.mark.slow  # about 3 s of CPU: the MACs of nine ImageNet networks
def test_imagenet_comparison_matches_torchvision_and_the_paper():
    comparison = imagenet_comparison()
    assert [r.network for r in comparison] == list(PUBLISHED_IMAGENET)
    for row in comparison:
        assert row.parameter_difference == 0, row.network
        assert row.macs / 1e9 == pytest.approx(row.published.torchvision_gmacs, abs=0.006), row.network
        # the paper's Table 1 gives one decimal: within 0.1 G with its stride placement
        assert abs(row.paper_gmacs_difference) < 0.1 if row.network != "vgg16" else True, row.network
    r50 = comparison["resnet50"]
    assert r50.paper_layout_macs / 1e9 == pytest.approx(3.858, abs=0.001)
    assert r50.macs > r50.paper_layout_macs  # stride on the 3x3 costs more
    assert comparison["resnet18"].macs == comparison["resnet18"].paper_layout_macs
    # VGG-16 costs more than ResNet-152 and has twice its parameters (paper section 3.3)
    assert comparison["vgg16"].macs > comparison["resnet152"].macs
    assert comparison["vgg16"].parameters > 2 * comparison["resnet152"].parameters
    text = str(comparison)
    assert "138,357,544" in text and "3.858" in text
    assert comparison._repr_html_().count("<tr>") == 1 + len(comparison)


def test_imagenet_comparison_rejects_unknown_networks():
    with pytest.raises(ValueError, match="unknown networks"):
        imagenet_comparison(("resnet18", "resnet200"))
    assert len(imagenet_comparison(("resnet18",))) == 1
