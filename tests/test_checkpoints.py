"""Loading state_dict checkpoints offline: local files, file:// URLs, hashes, bad files."""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import pytest
import torch
from torch import nn

from resnet_edu.core.downloads import DownloadError, file_hash
from resnet_edu.experiments.checkpoints import (
    CheckpointError,
    file_sha256,
    hash_prefix_from_name,
    load_checkpoint,
    save_checkpoint,
)

OFFLINE_URL = "http://127.0.0.1:9/models/tiny-0123abcd.pth"  # the discard port: refused at once


def tiny(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(OrderedDict(conv=nn.Conv2d(1, 4, 3, bias=False), bn=nn.BatchNorm2d(4), fc=nn.Linear(4, 2)))


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture
def saved(tmp_path):
    source = tiny(0)
    source.bn.running_mean.fill_(0.5)  # buffers travel too
    path = save_checkpoint(source, tmp_path / "weights", "tiny")
    return source, path


def test_file_sha256_is_the_sha256_of_the_bytes(tmp_path):
    path = tmp_path / "blob.bin"
    payload = bytes(range(256)) * 5000  # more than one read chunk
    path.write_bytes(payload)
    assert file_sha256(path) == hashlib.sha256(payload).hexdigest() == file_hash(path)


def test_hash_prefix_from_torchvision_names():
    assert hash_prefix_from_name("resnet18-f37072fd.pth") == "f37072fd"
    assert hash_prefix_from_name("https://download.pytorch.org/models/resnet50-0676ba61.pth") == "0676ba61"
    assert hash_prefix_from_name("resnet-v1.5-abcdef12.pth") == "abcdef12"
    assert hash_prefix_from_name("model.pth") is None
    assert hash_prefix_from_name("my-model.pth") is None  # "model" is not hex


def test_save_names_the_file_by_its_hash_and_load_round_trips(saved):
    source, path = saved
    assert path.name == f"tiny-{file_sha256(path)[:8]}.pth"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    target = tiny(1)
    assert not same_weights(source, target)
    returned = load_checkpoint(target, path, check_hash=True)
    assert returned is target
    assert same_weights(source, target)


@pytest.mark.parametrize("how", ["full", "prefix", "upper"])
def test_sha256_given_in_full_or_as_a_prefix(saved, how):
    source, path = saved
    digest = file_sha256(path)
    given = {"full": digest, "prefix": digest[:10], "upper": digest.upper()}[how]
    target = load_checkpoint(tiny(1), str(path), sha256=given)
    assert same_weights(source, target)


def test_hash_mismatch_is_refused_and_leaves_the_model_alone(saved):
    _, path = saved
    target = tiny(1)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    wrong = "0" * 64 if not file_sha256(path).startswith("0") else "1" * 64
    with pytest.raises(CheckpointError, match="does not start with"):
        load_checkpoint(target, path, sha256=wrong)
    assert all(torch.equal(before[k], v) for k, v in target.state_dict().items())


def test_name_hash_mismatch_is_refused(saved):
    _, path = saved
    renamed = path.with_name("tiny-deadbeef.pth")
    path.rename(renamed)
    if file_sha256(renamed).startswith("deadbeef"):  # pragma: no cover - 1 in 4 billion
        pytest.fail("astronomically unlikely hash collision; change the name")
    with pytest.raises(CheckpointError, match="does not start with deadbeef"):
        load_checkpoint(tiny(1), renamed, check_hash=True)
    load_checkpoint(tiny(1), renamed)  # without the check it loads


def test_check_hash_needs_a_hash_in_the_name(saved, tmp_path):
    _, path = saved
    plain = tmp_path / "model.pth"
    plain.write_bytes(path.read_bytes())
    with pytest.raises(CheckpointError, match="carries no hash"):
        load_checkpoint(tiny(1), plain, check_hash=True)


@pytest.mark.parametrize("bad", ["xyz", "abc", 123])
def test_malformed_sha256_is_a_value_error(saved, bad):
    with pytest.raises(ValueError, match="sha256 must be 6 to 64 hex digits"):
        load_checkpoint(tiny(1), saved[1], sha256=bad)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint file at"):
        load_checkpoint(tiny(0), tmp_path / "absent.pth")


def test_file_url_is_downloaded_once_into_the_cache(saved, tmp_path):
    source, path = saved
    cache = tmp_path / "cache"
    target = load_checkpoint(tiny(1), path.as_uri(), model_dir=cache, check_hash=True)
    assert same_weights(source, target)
    assert [p.name for p in cache.iterdir()] == [path.name]
    # the second time the cached copy is used, even with the source gone
    path.unlink()
    assert same_weights(source, load_checkpoint(tiny(2), path.as_uri(), model_dir=cache))


def test_download_with_a_wrong_hash_is_not_kept(saved, tmp_path):
    _, path = saved
    cache = tmp_path / "cache"
    with pytest.raises(CheckpointError, match="does not start with"):
        load_checkpoint(tiny(1), path.as_uri(), model_dir=cache, sha256="abcdef" if not file_sha256(path).startswith("abcdef") else "123456")
    assert list(cache.iterdir()) == []


def test_offline_url_fails_clearly_and_leaves_nothing(tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(CheckpointError, match="could not download") as info:
        load_checkpoint(tiny(0), OFFLINE_URL, model_dir=cache)
    assert isinstance(info.value.__cause__, DownloadError)  # the one download helper, CIFAR-10's too
    assert list(cache.iterdir()) == []


class NotATensor:
    pass


def test_pickled_objects_are_refused_by_weights_only(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"conv.weight": NotATensor()}, path)
    with pytest.raises(CheckpointError, match="weights-only"):
        load_checkpoint(tiny(0), path)
    whole = tmp_path / "whole-model.pth"
    torch.save(tiny(0), whole)  # a pickled module, not a state_dict
    with pytest.raises(CheckpointError, match="weights-only"):
        load_checkpoint(tiny(0), whole)


def test_corrupt_file(saved, tmp_path):
    _, path = saved
    broken = tmp_path / "broken.pth"
    broken.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="could not read"):
        load_checkpoint(tiny(0), broken)


def test_not_a_state_dict(tmp_path):
    path = tmp_path / "list.pth"
    torch.save([torch.zeros(2)], path)
    with pytest.raises(CheckpointError, match="does not hold a state_dict"):
        load_checkpoint(tiny(0), path)


def test_names_and_shapes_that_do_not_fit(tmp_path):
    path = tmp_path / "other.pth"
    other = nn.Sequential(OrderedDict(conv=nn.Conv2d(1, 8, 3, bias=False), head=nn.Linear(8, 2)))
    torch.save(other.state_dict(), path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(tiny(0), path)
    message = str(info.value)
    assert "missing 7: bn.weight, bn.bias, bn.running_mean, bn.running_var, bn.num_batches_tracked and 2 more" in message
    assert "unexpected 2: head.weight, head.bias" in message
    assert "conv.weight: checkpoint (8, 1, 3, 3) vs model (4, 1, 3, 3)" in message


def test_strict_false_loads_what_fits(tmp_path):
    path = tmp_path / "partial.pth"
    source = tiny(0)
    torch.save({k: v for k, v in source.state_dict().items() if k.startswith("fc.")}, path)
    target = load_checkpoint(tiny(1), path, strict=False)
    assert torch.equal(target.fc.weight, source.fc.weight)
    assert not torch.equal(target.conv.weight, source.conv.weight)


def test_resnet18_round_trip_with_torchvision_names(tmp_path):
    from resnet_edu import resnet18

    torch.manual_seed(0)
    source = resnet18()
    path = save_checkpoint(source, tmp_path, "resnet18")
    keys = source.state_dict().keys()
    assert {"conv1.weight", "layer2.0.downsample.0.weight", "layer4.1.bn2.running_var", "fc.bias"} <= keys
    torch.manual_seed(1)
    target = load_checkpoint(resnet18(), path, check_hash=True)
    assert same_weights(source, target)


def test_rejects_a_non_module(saved):
    with pytest.raises(TypeError, match="torch.nn.Module"):
        load_checkpoint({"a": 1}, saved[1])
    with pytest.raises(TypeError, match="torch.nn.Module"):
        save_checkpoint("model", saved[1].parent, "x")
    with pytest.raises(ValueError, match="plain file stem"):
        save_checkpoint(tiny(0), saved[1].parent, "a/b")
