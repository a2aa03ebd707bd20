"""Digits and CIFAR-10 loading, offline: CIFAR-10 runs against a tiny archive written here."""

from __future__ import annotations

import hashlib
import inspect
import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from resnet_edu.core.downloads import DownloadError, download, file_hash, temporary_file
from resnet_edu.experiments import data
from resnet_edu.experiments.data import (
    CIFAR10,
    CIFAR10_MD5,
    DatasetUnavailableError,
    cifar10_loaders,
    digits_batch,
    digits_loaders,
    download_cifar10,
    load_cifar10,
    load_digits_tensors,
    random_crop_flip,
)

OFFLINE_URL = "http://127.0.0.1:9/cifar-10-python.tar.gz"  # the discard port: refused at once

# ------------------------------------------------------------------------- digits


def test_digits_shapes_dtypes_and_sizes():
    x_train, y_train, x_test, y_test = load_digits_tensors()
    assert x_train.dtype == x_test.dtype == torch.float32
    assert y_train.dtype == y_test.dtype == torch.int64
    assert x_train.shape[1:] == x_test.shape[1:] == (1, 8, 8)
    assert len(x_train) == len(y_train) and len(x_test) == len(y_test)
    assert len(x_train) + len(x_test) == 1797
    assert len(x_test) == pytest.approx(0.2 * 1797, abs=1)
    assert set(y_train.tolist()) == set(y_test.tolist()) == set(range(data.DIGITS_CLASSES))


def test_digits_split_is_a_stratified_partition_standardised_with_train_statistics():
    from sklearn.datasets import load_digits

    raw = load_digits()
    images = torch.from_numpy(raw.images.astype(np.float32)).unsqueeze(1)
    x_train, y_train, x_test, y_test = load_digits_tensors(seed=3, test_fraction=0.25)

    # standardised with the TRAIN statistics: train is mean 0 / std 1, test only roughly
    assert x_train.mean().item() == pytest.approx(0.0, abs=1e-5)
    assert x_train.std(unbiased=False).item() == pytest.approx(1.0, abs=1e-5)
    assert x_test.mean().item() != pytest.approx(0.0, abs=1e-5)

    # undo the standardisation (pixels are integers 0..16, both ends occur in training):
    # every raw image appears exactly once, with its own label
    scale = 16.0 / (x_train.max() - x_train.min())
    pixels = (torch.cat([x_train, x_test]) - x_train.min()) * scale  # back to 0..16
    assert torch.allclose(pixels, pixels.round(), atol=1e-3)
    labels = torch.cat([y_train, y_test])
    as_rows = lambda xs, ys: sorted(  # noqa: E731
        tuple(x.flatten().round().int().tolist()) + (int(y),) for x, y in zip(xs, ys)
    )
    assert as_rows(pixels, labels) == as_rows(images, torch.from_numpy(raw.target))

    # stratified: every class keeps its share in the test set (within one image)
    counts = np.bincount(raw.target, minlength=10)
    test_counts = np.bincount(y_test.numpy(), minlength=10)
    assert np.all(np.abs(test_counts - 0.25 * counts) <= 1)


def test_digits_split_is_fixed_by_the_seed():
    a = load_digits_tensors(seed=0)
    b = load_digits_tensors(seed=0)
    c = load_digits_tensors(seed=1)
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert not torch.equal(a[1], c[1])


def test_digits_loaders_are_seeded_and_worker_free():
    def first_epoch(seed):
        train_loader, _ = digits_loaders(batch_size=100, seed=seed)
        return torch.cat([y for _, y in train_loader])

    train_loader, test_loader = digits_loaders(batch_size=100)
    assert train_loader.num_workers == 0 and test_loader.num_workers == 0
    x, y = next(iter(train_loader))
    assert x.shape == (100, 1, 8, 8) and y.shape == (100,)
    assert torch.equal(first_epoch(0), first_epoch(0))
    assert not torch.equal(first_epoch(0), first_epoch(1))
    # the test loader keeps its order
    assert torch.equal(torch.cat([y for _, y in test_loader]), load_digits_tensors()[3])
    # the training loader reshuffles every epoch
    assert not torch.equal(
        torch.cat([y for _, y in train_loader]), torch.cat([y for _, y in train_loader])
    )


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"test_fraction": 0.0}, "test_fraction"),
        ({"test_fraction": 1.0}, "test_fraction"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_digits_loaders_validate_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        digits_loaders(**kwargs)


def test_digits_batch_is_a_fixed_sample_of_the_training_digits():
    x_train, y_train, _, _ = load_digits_tensors(seed=2)
    x, y = digits_batch(32, seed=2)
    assert x.shape == (32, 1, 8, 8) and y.shape == (32,) and y.dtype == torch.int64
    again = digits_batch(32, seed=2)
    assert torch.equal(x, again[0]) and torch.equal(y, again[1])
    # each image is a training image, with its label
    matches = [torch.nonzero((x_train == image).flatten(1).all(1)).flatten() for image in x]
    assert all(len(m) >= 1 and (y_train[m] == label).any() for m, label in zip(matches, y))
    assert not torch.equal(digits_batch(32, seed=3)[1], y)  # another seed, another sample
    # the whole training set, shuffled: a permutation, so no image is taken twice
    x_all, y_all = digits_batch(len(x_train), seed=2)
    assert torch.equal(x_all.flatten(1).sum(1).sort().values, x_train.flatten(1).sum(1).sort().values)
    assert torch.equal(y_all.sort().values, y_train.sort().values)


@pytest.mark.parametrize("batch_size", [0, 1438, 2.0, True])
def test_digits_batch_validates(batch_size):
    with pytest.raises(ValueError, match="batch_size must be an int from 1 to 1437"):
        digits_batch(batch_size)


# ------------------------------------------------------------------- core.downloads


def test_download_copies_a_file_url_and_leaves_no_temporary_file(tmp_path):
    source = tmp_path / "server" / "payload.bin"
    source.parent.mkdir()
    source.write_bytes(b"resnet" * 1000)
    seen = []
    destination = tmp_path / "cache" / "nested" / "payload.bin"  # folders created on the way
    assert download(source.as_uri(), destination, verify=lambda tmp: seen.append(tmp.read_bytes())) == destination
    assert destination.read_bytes() == source.read_bytes()
    assert seen == [source.read_bytes()]  # verify saw the whole file, before the rename
    assert os.listdir(destination.parent) == ["payload.bin"]
    assert file_hash(destination) == hashlib.sha256(source.read_bytes()).hexdigest()
    assert file_hash(destination, "md5") == hashlib.md5(source.read_bytes()).hexdigest()


def test_a_refused_download_leaves_nothing_and_keeps_the_verifier_s_error(tmp_path):
    source = tmp_path / "payload.bin"
    source.write_bytes(b"not what you expected")
    destination = tmp_path / "cache" / "payload.bin"

    class WrongHash(Exception):
        pass

    def refuse(tmp):
        raise WrongHash(tmp.name)

    with pytest.raises(WrongHash):  # propagated unchanged, not wrapped in DownloadError
        download(source.as_uri(), destination, verify=refuse)
    assert not destination.exists() and list(destination.parent.iterdir()) == []


def test_a_missing_source_raises_download_error_and_leaves_nothing(tmp_path):
    url = (tmp_path / "absent.bin").as_uri()
    destination = tmp_path / "cache" / "absent.bin"
    with pytest.raises(DownloadError, match="could not download file://.*absent.bin"):
        download(url, destination)
    assert list(destination.parent.iterdir()) == []
    with pytest.raises(DownloadError, match="could not download"):
        download("not a url", tmp_path / "cache" / "x")
    with pytest.raises(DownloadError, match="could not download http://127.0.0.1:9/"):
        download(OFFLINE_URL, tmp_path / "cache" / "x", timeout=5)
    assert list(destination.parent.iterdir()) == []


def test_temporary_file_is_removed_unless_renamed(tmp_path):
    with temporary_file(tmp_path / "new", ".download-") as tmp:
        assert tmp.is_file() and tmp.parent == tmp_path / "new" and tmp.name.startswith(".download-")
    assert not tmp.exists()
    with pytest.raises(RuntimeError):
        with temporary_file(tmp_path, ".x-") as tmp:
            raise RuntimeError("interrupted")
    assert not tmp.exists()
    with temporary_file(tmp_path, ".x-") as tmp:
        os.replace(tmp, tmp_path / "kept")
    assert (tmp_path / "kept").is_file() and list(tmp_path.glob(".x-*")) == []


# ------------------------------------------------------- a tiny CIFAR-10 archive

N_PER_TRAIN_BATCH = 3
N_TEST = 4


def _batch(n: int, start: int) -> tuple[np.ndarray, list[int]]:
    """n images whose R, G and B planes hold distinct, recognisable values."""
    rng = np.random.default_rng(start)
    images = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
    images[:, 0, 0, 0] = 10  # red plane starts with 10
    images[:, 1, 0, 0] = 20  # green plane with 20
    images[:, 2, 0, 0] = 30  # blue plane with 30
    labels = [(start + i) % 10 for i in range(n)]
    return images, labels


def write_tiny_archive(path: Path, skip: str | None = None) -> tuple[str, dict]:
    """Write a CIFAR-10 archive in the official format; return its md5 and its contents."""
    contents = {}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
        for k, name in enumerate(names):
            n = N_TEST if name == "test_batch" else N_PER_TRAIN_BATCH
            images, labels = _batch(n, start=10 * k)
            contents[name] = (images, labels)
            if name == skip:
                continue
            record = {b"batch_label": name.encode(), b"labels": labels,
                      b"data": images.reshape(n, 3072), b"filenames": [b"x.png"] * n}
            _add(tar, f"cifar-10-batches-py/{name}", pickle.dumps(record))
        meta = {b"label_names": [c.encode() for c in data.CIFAR10_CLASSES], b"num_vis": 3072}
        _add(tar, "cifar-10-batches-py/batches.meta", pickle.dumps(meta))
        _add(tar, "cifar-10-batches-py/readme.html", b"<html></html>")
    path.write_bytes(buffer.getvalue())
    return hashlib.md5(path.read_bytes()).hexdigest(), contents


def _add(tar: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    tar.addfile(info, io.BytesIO(payload))


@pytest.fixture
def tiny(tmp_path):
    """A tiny official-format archive served from a file:// URL, and an empty cache."""
    source = tmp_path / "server" / "cifar-10-python.tar.gz"
    source.parent.mkdir()
    md5, contents = write_tiny_archive(source)
    cache = tmp_path / "cache"
    return source.as_uri(), md5, contents, cache, source


def test_every_entry_point_defaults_to_the_one_official_archive():
    for fn in (download_cifar10, load_cifar10, CIFAR10.__init__, cifar10_loaders):
        params = inspect.signature(fn).parameters
        assert params["md5"].default == CIFAR10_MD5, fn
        assert params["url"].default == data.CIFAR10_URL, fn


def test_download_verifies_caches_and_unpacks(tiny):
    url, md5, _, cache, _ = tiny
    folder = download_cifar10(cache, md5=md5, url=url)
    assert folder == cache / "cifar-10-batches-py"
    assert (cache / "cifar-10-python.tar.gz").is_file()
    expected = {f"data_batch_{i}" for i in range(1, 6)} | {"test_batch", "batches.meta", "readme.html"}
    assert {p.name for p in folder.iterdir()} == expected
    # no temporary files left behind
    assert sorted(p.name for p in cache.iterdir()) == ["cifar-10-batches-py", "cifar-10-python.tar.gz"]
    # the cached archive is reused: an unreachable URL does not matter any more
    assert download_cifar10(cache, md5=md5, url=OFFLINE_URL) == folder


def test_load_cifar10_reads_the_official_layout(tiny):
    url, md5, contents, cache, _ = tiny
    x, y = load_cifar10(cache, train=True, download=True, md5=md5, url=url)
    assert x.dtype == torch.uint8 and x.shape == (5 * N_PER_TRAIN_BATCH, 3, 32, 32)
    assert y.dtype == torch.int64 and y.shape == (5 * N_PER_TRAIN_BATCH,)
    expected = np.concatenate([contents[f"data_batch_{i}"][0] for i in range(1, 6)])
    assert torch.equal(x, torch.from_numpy(expected))
    # R, then G, then B planes become channels 0, 1, 2
    assert x[:, :, 0, 0].tolist() == [[10, 20, 30]] * len(x)
    assert y.tolist() == sum((contents[f"data_batch_{i}"][1] for i in range(1, 6)), [])

    x_test, y_test = load_cifar10(cache, train=False, md5=md5, url=OFFLINE_URL)
    assert x_test.shape == (N_TEST, 3, 32, 32)
    assert torch.equal(x_test, torch.from_numpy(contents["test_batch"][0]))
    assert y_test.tolist() == contents["test_batch"][1]


def test_cached_archive_is_unpacked_without_download(tiny):
    _, md5, _, cache, source = tiny
    cache.mkdir()
    (cache / "cifar-10-python.tar.gz").write_bytes(source.read_bytes())
    x, _ = load_cifar10(cache, train=False, download=False, md5=md5, url=OFFLINE_URL)
    assert x.shape == (N_TEST, 3, 32, 32)


def test_missing_data_without_download_says_what_to_do(tmp_path):
    with pytest.raises(DatasetUnavailableError, match="download=True"):
        load_cifar10(tmp_path / "nothing", download=False)


def test_offline_download_fails_clearly_and_leaves_nothing(tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(DatasetUnavailableError, match=r"could not download .*cifar-10-python.tar.gz by hand") as info:
        load_cifar10(cache, download=True, url=OFFLINE_URL)
    assert OFFLINE_URL in str(info.value) and str(cache) in str(info.value)
    assert isinstance(info.value.__cause__, DownloadError)
    assert list(cache.iterdir()) == []


def test_missing_file_url_fails_clearly(tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(DatasetUnavailableError, match="could not download"):
        download_cifar10(cache, url=(tmp_path / "absent.tar.gz").as_uri())
    assert list(cache.iterdir()) == []


def test_corrupt_download_is_rejected_and_not_kept(tiny):
    url, md5, _, cache, source = tiny
    # the tiny archive is not the real one: with the real md5 (the default) it is "corrupt"
    with pytest.raises(DatasetUnavailableError, match="corrupt or incomplete") as info:
        download_cifar10(cache, url=url)
    assert CIFAR10_MD5 in str(info.value)
    assert list(cache.iterdir()) == []
    # a truncated download is caught by the same check
    source.write_bytes(source.read_bytes()[:100])
    with pytest.raises(DatasetUnavailableError, match="corrupt or incomplete"):
        download_cifar10(cache, md5=md5, url=url)
    assert list(cache.iterdir()) == []


def test_corrupt_cached_archive_is_reported(tiny):
    url, md5, _, cache, _ = tiny
    cache.mkdir()
    (cache / "cifar-10-python.tar.gz").write_bytes(b"not an archive")
    with pytest.raises(DatasetUnavailableError, match="cached archive .* is corrupt.*Delete it"):
        load_cifar10(cache, download=True, md5=md5, url=url)


def test_archive_missing_a_batch_is_rejected_without_a_partial_folder(tmp_path):
    source = tmp_path / "cifar-10-python.tar.gz"
    md5, _ = write_tiny_archive(source, skip="data_batch_3")
    cache = tmp_path / "cache"
    with pytest.raises(DatasetUnavailableError, match="data_batch_3"):
        download_cifar10(cache, md5=md5, url=source.as_uri())
    assert not (cache / "cifar-10-batches-py").exists()
    assert not any(p.name.startswith(".") for p in cache.iterdir())


def test_unreadable_batch_is_reported(tiny):
    url, md5, _, cache, _ = tiny
    folder = download_cifar10(cache, md5=md5, url=url)
    (folder / "test_batch").write_bytes(pickle.dumps({b"data": np.zeros((2, 5), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(DatasetUnavailableError, match="N x 3072"):
        load_cifar10(cache, train=False)
    (folder / "test_batch").write_bytes(b"garbage")
    with pytest.raises(DatasetUnavailableError, match="could not read"):
        load_cifar10(cache, train=False)


# ------------------------------------------------------------------ augmentation


def _is_crop_of(out: torch.Tensor, padded: torch.Tensor, size: int) -> tuple[int, int, bool] | None:
    offsets = padded.shape[-1] - size + 1
    for i in range(offsets):
        for j in range(offsets):
            crop = padded[:, i : i + size, j : j + size]
            for flipped in (False, True):
                if torch.equal(out, crop.flip(-1) if flipped else crop):
                    return i, j, flipped
    return None


def test_random_crop_flip_returns_crops_of_the_zero_padded_images():
    torch.manual_seed(0)
    batch = torch.rand(200, 3, 8, 8) + 1.0  # no zeros, so every crop is unambiguous
    out = random_crop_flip(batch, padding=2, generator=torch.Generator().manual_seed(1))
    assert out.shape == batch.shape and out.dtype == batch.dtype
    padded = F.pad(batch, (2, 2, 2, 2))
    found = [_is_crop_of(o, p, 8) for o, p in zip(out, padded)]
    assert all(f is not None for f in found)
    offsets = {(i, j) for i, j, _ in found}
    assert offsets == {(i, j) for i in range(5) for j in range(5)}  # every offset occurs
    flips = sum(flipped for _, _, flipped in found)
    assert 70 < flips < 130  # about half, each image its own coin


def test_random_crop_flip_is_reproducible_and_handles_one_image():
    batch = torch.rand(16, 3, 32, 32)
    a = random_crop_flip(batch, generator=torch.Generator().manual_seed(5))
    b = random_crop_flip(batch, generator=torch.Generator().manual_seed(5))
    c = random_crop_flip(batch, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    one = random_crop_flip(batch[0], generator=torch.Generator().manual_seed(5))
    assert one.shape == (3, 32, 32)
    assert _is_crop_of(one, F.pad(batch[0], (4, 4, 4, 4)), 32) is not None


def test_random_crop_flip_without_padding_only_flips():
    batch = torch.rand(32, 1, 5, 5)
    out = random_crop_flip(batch, padding=0, generator=torch.Generator().manual_seed(0))
    for o, x in zip(out, batch):
        assert torch.equal(o, x) or torch.equal(o, x.flip(-1))


@pytest.mark.parametrize("batch,padding", [(torch.rand(2, 2), 4), (torch.rand(1, 3, 8, 8), -1), ("img", 4)])
def test_random_crop_flip_validates(batch, padding):
    with pytest.raises(ValueError):
        random_crop_flip(batch, padding=padding)


def test_cifar10_dataset_normalises_and_augments(tiny):
    url, md5, contents, cache, _ = tiny
    plain = CIFAR10(cache, train=True, download=True, augment=False, md5=md5, url=url)
    assert len(plain) == 5 * N_PER_TRAIN_BATCH
    image, label = plain[4]
    raw = torch.from_numpy(contents["data_batch_2"][0][1]).float() / 255
    mean = torch.tensor(data.CIFAR10_MEAN).view(3, 1, 1)
    std = torch.tensor(data.CIFAR10_STD).view(3, 1, 1)
    assert image.dtype == torch.float32 and image.shape == (3, 32, 32)
    assert torch.allclose(image, (raw - mean) / std)
    assert label == contents["data_batch_2"][1][1]

    # the test split is not augmented by default, the train split is
    assert CIFAR10(cache, train=False, md5=md5).augment is False
    augmented = CIFAR10(cache, train=True, seed=7, md5=md5)
    again = CIFAR10(cache, train=True, seed=7, md5=md5)
    assert augmented.augment is True
    first = [augmented[i][0] for i in range(len(augmented))]
    assert all(torch.equal(u, again[i][0]) for i, u in enumerate(first))
    assert any(not torch.equal(u, plain[i][0]) for i, u in enumerate(first))
    padded = F.pad(image, (4, 4, 4, 4))
    assert _is_crop_of(first[4], padded, 32) is not None


def test_cifar10_loaders(tiny):
    url, md5, _, cache, _ = tiny
    train_loader, test_loader = cifar10_loaders(cache, batch_size=4, download=True, md5=md5, url=url)
    assert train_loader.num_workers == 0
    x, y = next(iter(train_loader))
    assert x.shape == (4, 3, 32, 32) and y.shape == (4,)
    assert sum(len(y) for _, y in test_loader) == N_TEST
    assert test_loader.dataset.augment is False and train_loader.dataset.augment is True
