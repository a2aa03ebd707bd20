"""Tests for resnet_edu.experiments.pretrained: the published CIFAR-10 checkpoints and torchvision's weights.

No network: every checkpoint here is synthetic, in the published format (akamaster/pytorch_resnet_cifar10:
``{"state_dict": {"module.conv1.weight": ...}, "best_prec1": ...}``), and the reference forward below is
transcribed from that repository's ``resnet.py`` (option A: ``F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0,
planes // 4, planes // 4))``), written over the raw file without resnet_edu.
"""

from __future__ import annotations

import re
import shutil

import pytest
import torch
import torch.nn.functional as F

from resnet_edu.experiments.checkpoints import CheckpointError, file_sha256
from resnet_edu.experiments.pretrained import (
    cifar_checkpoint_inputs,
    cifar_checkpoint_url,
    load_cifar_checkpoint,
    load_torchvision_weights,
    make_synthetic_cifar_checkpoint,
    synthetic_cifar_images,
)
from resnet_edu.measuring.published import (
    CIFAR_CHECKPOINT_URL,
    PUBLISHED_CIFAR,
    PUBLISHED_CIFAR_CHECKPOINTS,
    PUBLISHED_TORCHVISION_WEIGHTS,
)
from resnet_edu.models.networks import TORCHVISION_RESNETS


def akamaster_forward(checkpoint: dict, x: torch.Tensor) -> torch.Tensor:
    """akamaster's ResNet.forward (eval mode) over the raw checkpoint, both-sides option A."""
    sd = {k.removeprefix("module."): v for k, v in checkpoint["state_dict"].items()}

    def bn(p, t):
        return F.batch_norm(t, sd[f"{p}.running_mean"], sd[f"{p}.running_var"], sd[f"{p}.weight"], sd[f"{p}.bias"],
                            training=False, eps=1e-5)

    def conv(p, t, stride=1):
        return F.conv2d(t, sd[f"{p}.weight"], stride=stride, padding=1)

    n = len({k.split(".")[1] for k in sd if k.startswith("layer1.")})
    out, in_planes = F.relu(bn("bn1", conv("conv1", x))), 16
    for stage, planes in enumerate((16, 32, 64), start=1):
        for j in range(n):
            p, stride = f"layer{stage}.{j}", (2 if stage > 1 and j == 0 else 1)
            branch = F.relu(bn(f"{p}.bn1", conv(f"{p}.conv1", out, stride)))
            branch = bn(f"{p}.bn2", conv(f"{p}.conv2", branch))
            shortcut = out
            if stride != 1 or in_planes != planes:
                shortcut = F.pad(out[:, :, ::2, ::2], (0, 0, 0, 0, planes // 4, planes // 4), "constant", 0)
            out, in_planes = F.relu(branch + shortcut), planes
    out = F.avg_pool2d(out, out.size()[3]).view(out.size(0), -1)
    return F.linear(out, sd["linear.weight"], sd["linear.bias"])


@pytest.fixture(scope="module")
def resnet20_file(tmp_path_factory):
    return make_synthetic_cifar_checkpoint(20, tmp_path_factory.mktemp("checkpoints"), seed=1)


@pytest.fixture
def images():
    x, _ = synthetic_cifar_images(4, seed=2)
    return cifar_checkpoint_inputs(x)


# ----- the published constants ----------------------------------------------------------------


def test_published_checkpoints_cover_table_6_and_name_their_hash():
    assert set(PUBLISHED_CIFAR_CHECKPOINTS) == set(PUBLISHED_CIFAR)  # the paper's depths, 20 to 1202
    for depth, published in PUBLISHED_CIFAR_CHECKPOINTS.items():
        assert re.fullmatch(rf"resnet{depth}-[0-9a-f]{{8}}\.th", published.file_name)
        assert 6 < published.test_error < 9
        assert cifar_checkpoint_url(depth) == CIFAR_CHECKPOINT_URL.format(name=published.file_name)
    assert cifar_checkpoint_url(20).startswith("https://github.com/akamaster/pytorch_resnet_cifar10/raw/master/")
    with pytest.raises(ValueError, match="20, 32, 44, 56, 110, 1202"):
        cifar_checkpoint_url(8)


def test_torchvision_weights_cover_the_family():
    assert set(PUBLISHED_TORCHVISION_WEIGHTS) == set(TORCHVISION_RESNETS)
    for name, published in PUBLISHED_TORCHVISION_WEIGHTS.items():
        assert re.fullmatch(rf"{name}-[0-9a-f]{{8}}\.pth", published.file_name)


# ----- the synthetic file is in the published format ------------------------------------------


def test_synthetic_checkpoint_is_in_the_published_format(resnet20_file):
    assert re.fullmatch(r"resnet20-[0-9a-f]{8}\.th", resnet20_file.name)
    assert file_sha256(resnet20_file).startswith(resnet20_file.stem.split("-")[1])
    checkpoint = torch.load(resnet20_file, weights_only=True)  # a plain dict with a float reads weights-only
    assert set(checkpoint) == {"state_dict", "best_prec1"} and isinstance(checkpoint["best_prec1"], float)
    keys = list(checkpoint["state_dict"])
    assert all(k.startswith("module.") for k in keys)
    assert "module.linear.weight" in keys and not any(".fc." in k or "num_batches" in k for k in keys)
    assert not any("downsample" in k or "shortcut" in k for k in keys)  # option A: no parameters


def test_synthetic_images_have_cifars_raw_format():
    x, y = synthetic_cifar_images(10, seed=0)
    assert x.dtype == torch.uint8 and x.shape == (10, 3, 32, 32) and y.dtype == torch.int64 and y.shape == (10,)
    assert torch.equal(synthetic_cifar_images(10, seed=0)[0], x) and not torch.equal(synthetic_cifar_images(10, 1)[0], x)
    assert 0 <= int(y.min()) and int(y.max()) < 10


def test_inputs_are_imagenet_normalised():
    x = torch.full((1, 3, 2, 2), 255, dtype=torch.uint8)
    expected = (1 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225])  # FACTS.md
    torch.testing.assert_close(cifar_checkpoint_inputs(x)[0, :, 0, 0], expected)
    torch.testing.assert_close(cifar_checkpoint_inputs(x.float() / 255), cifar_checkpoint_inputs(x))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        cifar_checkpoint_inputs(torch.zeros(3, 32, 32))


# ----- loading: the function the checkpoint computed ------------------------------------------


def test_loaded_network_computes_what_the_published_code_computes(resnet20_file, images):
    model = load_cifar_checkpoint(resnet20_file)
    assert not model.training
    checkpoint = torch.load(resnet20_file, weights_only=True)
    with torch.no_grad():
        torch.testing.assert_close(model(images), akamaster_forward(checkpoint, images), rtol=1e-4, atol=1e-4)
        # the zeros at the end are another function: same weights, different outputs
        end = load_cifar_checkpoint(resnet20_file, zeros="end")
        assert not torch.allclose(end(images), model(images), atol=1e-3)


def test_depth_is_read_from_the_blocks(tmp_path, images):
    path = make_synthetic_cifar_checkpoint(32, tmp_path)
    model = load_cifar_checkpoint(path)
    assert model.blocks_per_stage == (5, 5, 5)
    with torch.no_grad():
        reference = akamaster_forward(torch.load(path, weights_only=True), images)
        torch.testing.assert_close(model(images), reference, rtol=1e-4, atol=1e-4)


def test_a_url_is_downloaded_once_and_checked(resnet20_file, tmp_path):
    cache = tmp_path / "cache"
    model = load_cifar_checkpoint(resnet20_file.as_uri(), 20, model_dir=cache)
    assert (cache / resnet20_file.name).is_file() and model.num_classes == 10


def test_files_with_num_batches_tracked_load_too(resnet20_file, tmp_path):
    checkpoint = torch.load(resnet20_file, weights_only=True)
    checkpoint["state_dict"]["module.bn1.num_batches_tracked"] = torch.tensor(7)
    path = tmp_path / "resnet20.th"
    torch.save(checkpoint, path)
    assert int(load_cifar_checkpoint(path).bn1.num_batches_tracked) == 7


# ----- one clear error for each wrong file ----------------------------------------------------


def test_a_wrong_hash_is_refused(resnet20_file, tmp_path):
    wrong = "0" * 8 if not resnet20_file.stem.endswith("00000000") else "1" * 8
    renamed = tmp_path / f"resnet20-{wrong}.th"
    shutil.copy(resnet20_file, renamed)
    with pytest.raises(CheckpointError, match=f"does not start with {wrong}"):
        load_cifar_checkpoint(renamed)
    with pytest.raises(CheckpointError, match="does not start with abcdef"):
        load_cifar_checkpoint(resnet20_file, sha256="abcdef")


def test_a_wrong_depth_is_refused(resnet20_file, tmp_path):
    with pytest.raises(CheckpointError, match=r"holds a CIFAR ResNet-20 \(3 blocks per stage\), not the ResNet-32 asked"):
        load_cifar_checkpoint(resnet20_file, 32)
    misnamed = tmp_path / "resnet20-renamed.th"
    shutil.copy(make_synthetic_cifar_checkpoint(32, tmp_path), misnamed)
    with pytest.raises(CheckpointError, match="holds a CIFAR ResNet-32.*misnamed"):
        load_cifar_checkpoint(misnamed)


@pytest.mark.parametrize(
    "content, phrase",
    [
        ([1, 2, 3], "holds a list, not the published format"),
        ({"model": {}, "best_prec1": 90.0}, "has no 'state_dict'"),
        ({"state_dict": {"module.conv1.weight": 3}}, "has no 'state_dict' of tensors"),
    ],
)
def test_a_file_in_another_format_is_refused(tmp_path, content, phrase):
    path = tmp_path / "resnet20.th"
    torch.save(content, path)
    with pytest.raises(CheckpointError, match=phrase) as err:
        load_cifar_checkpoint(path)
    assert "'best_prec1'" in str(err.value)  # says what was expected


def test_unexpected_names_and_other_layouts_are_refused(resnet20_file, tmp_path):
    checkpoint = torch.load(resnet20_file, weights_only=True)
    checkpoint["state_dict"]["module.layer2.0.shortcut.0.weight"] = torch.zeros(32, 16, 1, 1)  # option B
    torch.save(checkpoint, tmp_path / "b.th")
    with pytest.raises(CheckpointError, match=r"unexpected 1: layer2\.0\.shortcut\.0\.weight.*published format"):
        load_cifar_checkpoint(tmp_path / "b.th")
    torch.save({"state_dict": {f"layer{k}.0.conv1.weight": torch.zeros(1) for k in (1, 2, 3, 4)}}, tmp_path / "i.th")
    with pytest.raises(CheckpointError, match=r"not hold a CIFAR ResNet.*layer4: 1"):
        load_cifar_checkpoint(tmp_path / "i.th")


def test_a_missing_or_corrupt_file_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint file"):
        load_cifar_checkpoint(tmp_path / "resnet20.th")
    (tmp_path / "bad.th").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="could not read"):
        load_cifar_checkpoint(tmp_path / "bad.th")


# ----- torchvision's weights ------------------------------------------------------------------


def test_torchvision_weights_are_hash_checked_before_loading(tmp_path):
    name = PUBLISHED_TORCHVISION_WEIGHTS["resnet18"].file_name
    (tmp_path / name).write_bytes(b"a file that is not torchvision's")  # in the cache: nothing is downloaded
    with pytest.raises(CheckpointError, match=f"does not start with {name.split('-')[1][:8]}"):
        load_torchvision_weights("resnet18", model_dir=tmp_path)
    with pytest.raises(ValueError, match="model_name must be one of"):
        load_torchvision_weights("resnet19", model_dir=tmp_path)
