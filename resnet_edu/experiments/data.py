"""Data: scikit-learn's handwritten digits (offline) and CIFAR-10 (downloaded when asked).

The digits are the default for everything CI runs: 1,797 real 8x8 images that ship
inside scikit-learn, so no network is needed. CIFAR-10 is what the paper trained its
CIFAR ResNets on (section 4.2); it is downloaded only on request, checked against its
published md5, and augmented as the paper did (pad 4, random 32x32 crop, flip).

Taught in chapter 1 (the digits) and chapter 6 (the digits, and CIFAR-10 for a GPU).
"""

from __future__ import annotations

import os
import pickle
import shutil
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, TensorDataset

from resnet_edu.core.downloads import DownloadError, download, file_hash

__all__ = [
    "DIGITS_CLASSES",
    "load_digits_tensors",
    "digits_loaders",
    "CIFAR10_URL",
    "CIFAR10_MD5",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "CIFAR10_CLASSES",
    "DatasetUnavailableError",
    "download_cifar10",
    "load_cifar10",
    "random_crop_flip",
    "CIFAR10",
    "cifar10_loaders",
]

DIGITS_CLASSES = 10

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
# The per-channel mean and standard deviation of the 50,000 training images, in [0, 1].
# (The often-copied std (0.2023, 0.1994, 0.2010) is a mean of per-image stds, not this.)
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)

_ARCHIVE = "cifar-10-python.tar.gz"
_FOLDER = "cifar-10-batches-py"
_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
_TEST_BATCHES = ("test_batch",)


class DatasetUnavailableError(RuntimeError):
    """A data set could not be found, downloaded or verified; the message says what to do."""


# ---------------------------------------------------------------------------- digits


def _check_seed_and_fraction(seed: int, test_fraction: float) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if not isinstance(test_fraction, (int, float)) or not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be a number strictly between 0 and 1, got {test_fraction!r}")


def _check_batch_size(batch_size: int) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")


def load_digits_tensors(
    seed: int = 0, test_fraction: float = 0.2
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The 1,797 handwritten digits as tensors, split into train and test sets.

    The split is stratified (each digit keeps its share in both sets) and fixed by
    ``seed``. Pixels (0..16) are standardised with the mean and standard deviation
    of the TRAINING images only, so nothing about the test set leaks into training.

    Args:
        seed: seed of the split; the same seed always gives the same split.
        test_fraction: share of the images held out for testing, in (0, 1).

    Returns:
        ``(x_train, y_train, x_test, y_test)``: float32 images ``(N, 1, 8, 8)`` and
        int64 labels ``(N,)`` in 0..9.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    _check_seed_and_fraction(seed, test_fraction)
    digits = load_digits()
    images = digits.images.astype(np.float32)  # (1797, 8, 8), values 0..16
    labels = digits.target.astype(np.int64)  # (1797,)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=test_fraction, random_state=seed, stratify=labels
    )
    mean, std = x_train.mean(), x_train.std()
    x_train = (x_train - mean) / std
    x_test = (x_test - mean) / std
    return (
        torch.from_numpy(x_train).unsqueeze(1),  # (N_train, 1, 8, 8)
        torch.from_numpy(y_train),
        torch.from_numpy(x_test).unsqueeze(1),  # (N_test, 1, 8, 8)
        torch.from_numpy(y_test),
    )


def digits_loaders(
    batch_size: int = 64, seed: int = 0, test_fraction: float = 0.2
) -> tuple[DataLoader, DataLoader]:
    """Train and test loaders over the digits, with no worker processes.

    The training loader shuffles with its own ``torch.Generator`` seeded by ``seed``,
    so the order of batches does not depend on anything else the notebook did.
    Build fresh loaders to repeat a run exactly: each epoch advances the generator.

    Args:
        batch_size: images per batch.
        seed: seed of the split and of the shuffling.
        test_fraction: share of the images held out for testing, in (0, 1).
    """
    _check_batch_size(batch_size)
    x_train, y_train, x_test, y_test = load_digits_tensors(seed, test_fraction)
    generator = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(
        TensorDataset(x_train, y_train), batch_size=batch_size, shuffle=True,
        generator=generator, num_workers=0,
    )
    test_loader = DataLoader(
        TensorDataset(x_test, y_test), batch_size=batch_size, shuffle=False, num_workers=0
    )
    return train_loader, test_loader


# ------------------------------------------------------------------- CIFAR-10 files


def _fetch(url: str, destination: Path, md5: str) -> None:
    """Download ``url`` to ``destination`` through a temporary file that must match ``md5``."""

    def verify(tmp: Path) -> None:
        got = file_hash(tmp, "md5")
        if got != md5:
            raise DatasetUnavailableError(
                f"the file downloaded from {url} is corrupt or incomplete (md5 {got}, expected "
                f"{md5}). Nothing was kept; run the download again."
            )

    try:
        download(url, destination, verify)
    except DownloadError as err:
        raise DatasetUnavailableError(
            f"{err}. Check the internet connection and run again, or download {_ARCHIVE} by hand "
            f"and put it in {destination.parent}."
        ) from err


def _extract(archive: Path, root: Path) -> None:
    """Unpack the batches into ``root/cifar-10-batches-py`` via a temporary folder."""
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=".extract-"))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = [m for m in tar.getmembers() if m.isfile() and m.name.startswith(_FOLDER + "/")]
            # filter="data" refuses links and absolute paths (Python >= 3.10.12 / 3.11.4)
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(tmp, members=members, **safe)
        missing = [n for n in _TRAIN_BATCHES + _TEST_BATCHES if not (tmp / _FOLDER / n).is_file()]
        if missing:
            raise DatasetUnavailableError(
                f"{archive} does not contain {_FOLDER}/{missing[0]}; it is not the CIFAR-10 "
                "python archive. Delete it and download again."
            )
        target = root / _FOLDER
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp / _FOLDER, target)
    except (tarfile.TarError, OSError, EOFError) as err:
        raise DatasetUnavailableError(
            f"could not unpack {archive} ({err}). Delete it and download again."
        ) from err
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def download_cifar10(root: str | os.PathLike, md5: str = CIFAR10_MD5, url: str = CIFAR10_URL) -> Path:
    """Download (once), verify and unpack the official CIFAR-10 python archive.

    The archive (about 163 MB) is cached as ``root/cifar-10-python.tar.gz`` and
    unpacked into ``root/cifar-10-batches-py``. A cached archive is re-checked and
    not downloaded again. The download goes to a temporary file that is renamed only
    after its md5 matches, so a failed or corrupt download leaves nothing behind.

    Args:
        root: folder of the cache; created if missing.
        md5: expected md5 of the archive (the official one by default).
        url: where to download from (the University of Toronto by default).

    Returns:
        The folder ``root/cifar-10-batches-py`` holding the six batch files.

    Raises:
        DatasetUnavailableError: offline, a corrupt download, or a broken archive.
    """
    root = Path(root).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    archive = root / _ARCHIVE
    if archive.is_file() and file_hash(archive, "md5") != md5:
        raise DatasetUnavailableError(
            f"the cached archive {archive} is corrupt (its md5 is not {md5}). "
            "Delete it and run the download again."
        )
    if not archive.is_file():
        _fetch(url, archive, md5)
    _extract(archive, root)
    return root / _FOLDER


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as file:
            batch = pickle.load(file, encoding="bytes")
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except (OSError, pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as err:
        raise DatasetUnavailableError(
            f"could not read the CIFAR-10 batch {path} ({err!r}). Delete {path.parent} "
            "and load again with download=True."
        ) from err
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise DatasetUnavailableError(
            f"{path} holds data of shape {data.shape} and {len(labels)} labels, not "
            "N x 3072 pixels and N labels. Delete the folder and download again."
        )
    return data, labels


def load_cifar10(
    root: str | os.PathLike,
    train: bool = True,
    download: bool = False,
    md5: str = CIFAR10_MD5,
    url: str = CIFAR10_URL,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The CIFAR-10 training (50,000) or test (10,000) images as raw tensors.

    Args:
        root: the cache folder (see :func:`download_cifar10`).
        train: the five training batches if True, the test batch if False.
        download: download the archive if it is not in ``root`` yet. Without it,
            a missing data set raises :class:`DatasetUnavailableError`.
        md5: expected md5 of the archive (for tests; the official one by default).
        url: where to download from.

    Returns:
        ``(x, y)``: uint8 images ``(N, 3, 32, 32)`` in RGB order and int64 labels ``(N,)``.
    """
    root = Path(root).expanduser()
    folder = root / _FOLDER
    names = _TRAIN_BATCHES if train else _TEST_BATCHES
    if not all((folder / n).is_file() for n in names):
        if (root / _ARCHIVE).is_file() or download:
            download_cifar10(root, md5=md5, url=url)
        else:
            raise DatasetUnavailableError(
                f"CIFAR-10 is not in {root}. Call again with download=True (needs the "
                f"internet, about 163 MB), or put {_ARCHIVE} from {url} into {root}."
            )
    parts = [_read_batch(folder / n) for n in names]
    data = np.concatenate([d for d, _ in parts])  # (N, 3072): 1024 R, then 1024 G, then 1024 B
    labels = np.concatenate([y for _, y in parts])
    x = torch.from_numpy(data).reshape(-1, 3, 32, 32)  # (N, 3, 32, 32)
    return x, torch.from_numpy(labels)


# --------------------------------------------------------------------- augmentation


def random_crop_flip(
    batch: torch.Tensor, padding: int = 4, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Pad with zeros, take a random crop of the original size, and flip half of the images.

    The paper's CIFAR-10 augmentation (section 4.2, after Lee et al.): "4 pixels are
    padded on each side, and a 32x32 crop is randomly sampled from the padded image
    or its horizontal flip." Each image gets its own offsets and its own coin.

    Args:
        batch: images ``(N, C, H, W)``, or one image ``(C, H, W)``, on any device.
        padding: pixels of zeros added on every side (the crop moves by up to 2x this).
        generator: a CPU ``torch.Generator`` for reproducible draws (global RNG if None).
    """
    if not isinstance(batch, torch.Tensor) or batch.dim() not in (3, 4):
        raise ValueError("batch must be a tensor of shape (N, C, H, W) or (C, H, W)")
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding must be a non-negative int, got {padding!r}")
    if batch.dim() == 3:
        return random_crop_flip(batch.unsqueeze(0), padding, generator).squeeze(0)
    n, c, h, w = batch.shape
    # Random numbers are drawn on the CPU so a CPU generator works for any device.
    top = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(batch.device)
    left = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(batch.device)
    flip = (torch.rand(n, generator=generator) < 0.5).to(batch.device)

    padded = F.pad(batch, (padding, padding, padding, padding))  # (N, C, H+2p, W+2p)
    rows = top[:, None] + torch.arange(h, device=batch.device)  # (N, H)
    cols = left[:, None] + torch.arange(w, device=batch.device)  # (N, W)
    image = torch.arange(n, device=batch.device)[:, None, None, None]
    channel = torch.arange(c, device=batch.device)[None, :, None, None]
    crops = padded[image, channel, rows[:, None, :, None], cols[:, None, None, :]]  # (N, C, H, W)
    return torch.where(flip[:, None, None, None], crops.flip(-1), crops)


class CIFAR10(Dataset):
    """CIFAR-10 images normalised with the true channel statistics, optionally augmented.

    Each item is ``(image, label)`` with ``image`` a float32 ``(3, 32, 32)`` tensor.
    Images are normalised first and augmented second, so the zero padding of the
    crop is the mean colour (as in fb.resnet.torch, which reproduced the paper).
    With ``num_workers=0`` the augmentation's seeded generator makes every epoch
    reproducible; worker processes would each copy the same generator.

    Args:
        root: the cache folder (see :func:`download_cifar10`).
        train: training (50,000) or test (10,000) images.
        download: download the archive if it is not cached yet.
        augment: random crop and flip (:func:`random_crop_flip`); ``None`` means
            "on for training, off for testing".
        seed: seed of the augmentation's generator.
        md5: expected md5 of the archive.
        url: where to download from.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        train: bool = True,
        download: bool = False,
        augment: bool | None = None,
        seed: int = 0,
        md5: str = CIFAR10_MD5,
        url: str = CIFAR10_URL,
    ) -> None:
        self.images, self.labels = load_cifar10(root, train=train, download=download, md5=md5, url=url)
        self.augment = train if augment is None else bool(augment)
        self.mean = torch.tensor(CIFAR10_MEAN).view(3, 1, 1)
        self.std = torch.tensor(CIFAR10_STD).view(3, 1, 1)
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = self.images[index].float() / 255  # (3, 32, 32) in [0, 1]
        image = (image - self.mean) / self.std  # (3, 32, 32), about zero mean, unit std
        if self.augment:
            image = random_crop_flip(image, padding=4, generator=self.generator)
        return image, int(self.labels[index])


def cifar10_loaders(
    root: str | os.PathLike,
    batch_size: int = 128,
    download: bool = False,
    augment: bool = True,
    seed: int = 0,
    md5: str = CIFAR10_MD5,
    url: str = CIFAR10_URL,
) -> tuple[DataLoader, DataLoader]:
    """Train and test loaders over CIFAR-10 with the paper's recipe (batch 128, crop + flip).

    Args:
        root: the cache folder.
        batch_size: images per batch (128 in the paper).
        download: download the archive if it is not cached yet.
        augment: augment the training images (never the test images).
        seed: seed of the shuffling and of the augmentation.
        md5: expected md5 of the archive.
        url: where to download from.
    """
    _check_batch_size(batch_size)
    train_set = CIFAR10(root, train=True, download=download, augment=augment, seed=seed, md5=md5, url=url)
    test_set = CIFAR10(root, train=False, augment=False, md5=md5, url=url)
    train_loader = DataLoader(
        train_set, batch_size=batch_size, shuffle=True,
        generator=torch.Generator().manual_seed(seed), num_workers=0,
    )
    test_loader = DataLoader(test_set, batch_size=batch_size, shuffle=False, num_workers=0)
    return train_loader, test_loader


def digits_batch(batch_size: int = 256, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed batch of training digits: the first ``batch_size`` of a seeded shuffle.

    Args:
        batch_size: images in the batch (at most the 1,437 training digits).
        seed: seed of the digits' split and of the shuffle.
    """
    x_train, y_train, _, _ = load_digits_tensors(seed)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= len(x_train):
        raise ValueError(f"batch_size must be an int from 1 to {len(x_train)}, got {batch_size!r}")
    order = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(seed))[:batch_size]
    return x_train[order], y_train[order]  # (B, 1, 8, 8), (B,)
