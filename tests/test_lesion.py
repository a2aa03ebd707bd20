"""Tests for resnet_edu.experiments.lesion: deleting blocks without training (the trained study is in test_experiments)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from resnet_edu import Bottleneck, ResNet, plain20, resnet18, resnet20, resnet50
from resnet_edu.experiments.lesion import (
    LesionRecord,
    LesionStudy,
    ShortcutOnly,
    deletable_blocks,
    lesion_study,
    replaced,
)
from resnet_edu.models.shortcuts import ZeroPadShortcut

pytestmark = pytest.mark.usefixtures("one_thread")


def block_inputs(model: nn.Module, x: torch.Tensor, paths: list[str]) -> dict[str, torch.Tensor]:
    """The tensor each block at ``paths`` receives when ``model`` runs on ``x``."""
    seen: dict[str, torch.Tensor] = {}
    handles = [
        model.get_submodule(p).register_forward_pre_hook(lambda _m, args, p=p: seen.setdefault(p, args[0]))
        for p in paths
    ]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return seen


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
    assert isinstance(records, LesionStudy)
    text = str(records)
    assert "none (intact)" in text and "layer3.2" in text and "plain-20" in text.splitlines()[0]
    assert str(records.table()) == text and "layer3.2" in records._repr_html_()


def test_lesion_study_prints_one_column_per_network():
    records = LesionStudy([
        LesionRecord("resnet-20", None, "intact", 0.05),
        LesionRecord("resnet-20", "layer1.0", "identity", 0.125),
        LesionRecord("plain-20", None, "intact", 0.0625),
    ])
    lines = str(records).splitlines()
    assert lines[0].split() == ["deleted", "block", "resnet-20", "plain-20"]
    assert lines[2].split() == ["none", "(intact)", "5.0%", "6.2%"]
    assert lines[3].split() == ["layer1.0", "12.5%", "-"]  # plain-20 has no record for it
    assert lines[-1] == "test error with one block deleted"


@pytest.mark.parametrize("stride_in_1x1", [False, True], ids=["torchvision", "paper"])
@pytest.mark.parametrize("widths", [(16, 32), (16, 16)], ids=["widening", "same-width"])
def test_same_shape_only_skips_every_strided_bottleneck(stride_in_1x1, widths):
    """A Bottleneck's stride is on conv2 (torchvision) or conv1 (the paper): both count.

    With widths (16, 16) layer2.0 keeps the channels (64 in, 16 * 4 out) and only its stride
    changes the shape, so a check of conv1's stride alone would let it through.
    """
    torch.manual_seed(0)
    model = ResNet(Bottleneck, [2, 2], widths, stem="cifar", num_classes=10, stride_in_1x1=stride_in_1x1).eval()
    same = dict(deletable_blocks(model, same_shape_only=True))
    assert "layer2.0" not in same
    assert list(same) == ["layer1.1", "layer2.1"]
    every = dict(deletable_blocks(model))
    assert list(every) == ["layer1.0", "layer1.1", "layer2.0", "layer2.1"]
    # the blocks kept by same_shape_only really keep the shape: their replacement is the identity
    x = torch.randn(2, 3, 16, 16)
    inputs = block_inputs(model, x, list(every))
    for path in same:
        assert same[path].shortcut is None
        assert model.get_submodule(path)(inputs[path]).shape == inputs[path].shape


@pytest.mark.parametrize("build", [resnet20, resnet18, resnet50, plain20])
def test_every_replacement_gives_the_block_s_output_shape(build):
    torch.manual_seed(0)
    model = build().eval()
    size = 32 if build in (resnet20, plain20) else 64
    blocks = deletable_blocks(model)
    inputs = block_inputs(model, torch.randn(2, 3, size, size), [p for p, _ in blocks])
    with torch.no_grad():
        for path, replacement in blocks:
            x = inputs[path]
            assert replacement(x).shape == model.get_submodule(path)(x).shape, path


def test_lesion_study_needs_blocks():
    loader = [(torch.randn(2, 4), torch.tensor([0, 1]))]
    with pytest.raises(ValueError, match="no block to delete"):
        lesion_study(nn.Linear(4, 2), loader)
    with pytest.raises(TypeError, match="nn.Module"):
        deletable_blocks("resnet")
    assert ShortcutOnly(None)(torch.ones(1)).item() == 1.0


def test_lesion_summary_reads_each_network_by_its_intact_median_best_and_worst():
    from resnet_edu.experiments.lesion import lesion_spread_config, lesion_summary

    records = [LesionRecord("a", None, "intact", 0.1), LesionRecord("a", "layer1.0", "identity", 0.5),
               LesionRecord("a", "layer1.1", "identity", 0.2), LesionRecord("a", "layer1.2", "identity", 0.3),
               LesionRecord("b", None, "intact", 0.0), LesionRecord("b", "layer1.1", "identity", 0.9)]
    summary = lesion_summary(records)
    assert summary == {
        "a intact": 0.1, "a one block deleted: median": 0.3, "a one block deleted: best": 0.2,
        "a one block deleted: worst": 0.5, "b intact": 0.0, "b one block deleted: median": 0.9,
        "b one block deleted: best": 0.9, "b one block deleted: worst": 0.9,
    }
    with pytest.raises(ValueError, match="one intact record and at least one deletion"):
        lesion_summary(records[:1])
    config = lesion_spread_config()
    assert config["recipe"]["epochs"] == 10 and config["same_shape_only"] is False
    assert lesion_spread_config(same_shape_only=True) != config


def test_a_preact_network_deletes_every_block_layer1_0_included():
    from resnet_edu import PreActBlock

    model = ResNet(PreActBlock, [1, 1, 1], (8, 16, 32), stem="cifar", shortcut="A", num_classes=10).eval()
    blocks = deletable_blocks(model)
    assert [p for p, _ in blocks] == ["layer1.0", "layer2.0", "layer3.0"]  # layer1.0 has no bn1 of its own
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad(), replaced(model, *blocks[0]):
        assert model(x).shape == (2, 10)
