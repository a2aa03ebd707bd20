"""Tests for resnet_edu.measuring.table1: the paper's Table 1 read off the built networks."""

from __future__ import annotations

import pytest
import torch

import resnet_edu
from resnet_edu.measuring.table1 import table1

NAMES = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")


@pytest.fixture(scope="module")
def table():
    with torch.device("meta"):
        return table1({name: getattr(resnet_edu, name)() for name in NAMES})


def test_table1_reads_the_papers_table_1(table):
    assert table.columns == ["18-layer", "34-layer", "50-layer", "101-layer", "152-layer"]
    assert table.sizes == {"conv1": "112x112", "conv2_x": "56x56", "conv3_x": "28x28", "conv4_x": "14x14",
                           "conv5_x": "7x7", "head": "1x1"}
    assert table.bracket("conv2_x", 0) == "[3x3, 64; 3x3, 64] x 2"
    assert table.bracket("conv3_x", 2) == "[1x1, 128; 3x3, 128; 1x1, 512] x 4"
    assert table.bracket("conv4_x", 4) == "[1x1, 256; 3x3, 256; 1x1, 1024] x 36"
    assert table.bracket("conv5_x", 1) == "[3x3, 512; 3x3, 512] x 3"
    assert [table.bracket("conv4_x", i)[-4:].strip(" x") for i in range(5)] == ["2", "6", "6", "23", "36"]
    assert table.bracket("conv1", 3) == "7x7, 64, stride 2"
    assert table.bracket("head", 0) == "average pool, 1000-d fc"
    assert table.pool == "3x3 max pool, stride 2"


def test_table1_renders_as_text_and_html(table):
    text = str(table)
    assert repr(table) == text
    assert len(text.splitlines()) == 2 + 6 + 2
    assert "[1x1, 128; 3x3, 128; 1x1, 512] x 4" in text.splitlines()[4]
    html = table._repr_html_()
    assert html.count("<tr>") == 1 + 6
    assert "3x3 max pool, stride 2<br>" in html and "&times; 36" in html


def test_table1_other_sizes_and_errors():
    with torch.device("meta"):
        small = table1([resnet_edu.resnet18(num_classes=10)], input_size=64)
        assert small.sizes["conv5_x"] == "2x2" and small.bracket("head", 0) == "average pool, 10-d fc"
        with pytest.raises(TypeError, match="ImageNet ResNets"):
            table1([resnet_edu.resnet20()])
    with pytest.raises(ValueError, match="at least one"):
        table1([])
    with pytest.raises(KeyError, match="no row"):
        small.bracket("conv6_x", 0)


def test_table1_puts_the_max_pool_in_conv2_x_as_the_paper_does(table):
    # He et al. 2015, Table 1: conv1 is the 7x7 convolution alone; the 3x3 max pool is conv2_x's first line.
    assert "pool" not in table.bracket("conv1", 0)
    assert str(table).splitlines()[-1] == "conv2_x starts with a 3x3 max pool, stride 2"
    rows = table._repr_html_().split("<tr>")[1:]
    conv1, conv2 = rows[1], rows[2]
    assert conv1.startswith("<td>conv1</td>") and "max pool" not in conv1
    assert conv2.startswith("<td>conv2_x</td>") and conv2.count("3x3 max pool, stride 2<br>") == len(table.columns)
