"""Tests for resnet_edu.experiments.lesion: deleting blocks without training (the trained study is in test_experiments)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from resnet_edu import plain20, resnet18, resnet20
from resnet_edu.experiments.lesion import (
    LesionRecord,
    ShortcutOnly,
    deletable_blocks,
    format_lesion,
    lesion_study,
    replaced,
)
from resnet_edu.core.threads import torch_threads
from resnet_edu.models.shortcuts import ZeroPadShortcut


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    with torch_threads(1):
        yield


def test_which_blocks_can_be_deleted():
    res = dict(deletable_blocks(resnet20()))
    assert list(res) == [f"layer{s}.{i}" for s in (1, 2, 3) for i in range(3)]
    assert isinstance(res["layer2.0"].shortcut, ZeroPadShortcut) and res["layer2.1"].shortcut is None
    plain = dict(deletable_blocks(plain20()))
    assert list(plain) == ["layer1.0", "layer1.1", "layer1.2", "layer2.1", "layer2.2", "layer3.1", "layer3.2"]
    assert all(isinstance(m, nn.Identity) for m in plain.values())
    same = [p for p, _ in deletable_blocks(resnet20(), same_shape_only=True)]
    assert same == list(plain)
    projection = dict(deletable_blocks(resnet18()))["layer3.0"]
    assert isinstance(projection.shortcut, nn.Sequential)  # option B: 1x1 conv + BN


def test_a_deleted_residual_block_computes_its_shortcut_only():
    torch.manual_seed(0)
    model = resnet20(in_channels=1).eval()
    x = torch.randn(4, 1, 8, 8)
    block = model.layer2[0]
    replacement = dict(deletable_blocks(model))["layer2.0"]
    features = model.layer1(model.relu(model.bn1(model.conv1(x))))
    assert torch.equal(replacement(features), block.downsample(features))  # zero-padded, subsampled x
    with replaced(model, "layer2.0", replacement):
        assert model.layer2[0] is replacement
        assert model(x).shape == (4, 10)
    assert model.layer2[0] is block


def test_replaced_restores_even_after_an_error():
    model = resnet20()
    original = model.layer1[1]
    with pytest.raises(RuntimeError):
        with replaced(model, "layer1.1", nn.Identity()):
            raise RuntimeError("boom")
    assert model.layer1[1] is original
    with replaced(model, "fc", nn.Linear(64, 3)):
        assert model.fc.out_features == 3
    assert model.fc.out_features == 10


def test_lesion_study_records_and_leaves_the_model_alone():
    torch.manual_seed(0)
    model = plain20(in_channels=1)
    model.train()
    state = copy.deepcopy(model.state_dict())
    loader = DataLoader(TensorDataset(torch.randn(32, 1, 8, 8), torch.randint(0, 10, (32,))), batch_size=16)
    records = lesion_study(model, loader, "plain-20")
    assert records[0] == LesionRecord("plain-20", None, "intact", records[0].test_error)
    assert [r.block for r in records[1:]] == [p for p, _ in deletable_blocks(model)]
    assert all(r.replaced_by == "identity" and 0 <= r.test_error <= 1 for r in records[1:])
    assert model.training
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    text = format_lesion(records)
    assert "none (intact)" in text and "layer3.2" in text and "plain-20" in text.splitlines()[0]


def test_lesion_study_needs_blocks():
    loader = [(torch.randn(2, 4), torch.tensor([0, 1]))]
    with pytest.raises(ValueError, match="no block to delete"):
        lesion_study(nn.Linear(4, 2), loader)
    with pytest.raises(TypeError, match="nn.Module"):
        deletable_blocks("resnet")
    assert ShortcutOnly(None)(torch.ones(1)).item() == 1.0
