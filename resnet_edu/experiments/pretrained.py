"""Published weights in the package's networks: the CIFAR-10 checkpoints and torchvision's.

- :func:`load_cifar_checkpoint`: a checkpoint of akamaster/pytorch_resnet_cifar10 (the
  most-used CIFAR ResNets with published weights, :data:`PUBLISHED_CIFAR_CHECKPOINTS`) into
  ``cifar_resnet(depth)``. Their files hold ``{"state_dict": ..., "best_prec1": ...}`` saved
  from ``nn.DataParallel`` (every name starts with ``module.``) and call the classifier
  ``linear``; the loader renames both, checks the sha256 the file name carries, and loads
  strictly. Their option A pads zeros on both sides, as ``ZeroPadShortcut`` does by default,
  so the weights compute here what they computed there. They expect images normalised with
  the ImageNet mean and std (:func:`cifar_checkpoint_inputs`), not CIFAR-10's.
- :func:`load_torchvision_weights`: torchvision's ImageNet weights (IMAGENET1K_V1) into
  ``resnet50()`` and the rest of the family: the names are the same, so this is
  :func:`~resnet_edu.experiments.checkpoints.load_checkpoint` with the published file.
- :func:`make_synthetic_cifar_checkpoint` and :func:`synthetic_cifar_images`: a file in the
  published format and a batch in CIFAR-10's, for tests and for working offline.

Taught in chapter 6 (the CIFAR-10 checkpoints) and chapter 4 (torchvision's weights).
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from resnet_edu.core.arguments import check_choice, check_positive_int
from resnet_edu.core.downloads import temporary_file
from resnet_edu.experiments.checkpoints import (
    CheckpointError,
    _download,
    _expected_prefixes,
    _is_url,
    _verify,
    file_sha256,
    hash_prefix_from_name,
    load_checkpoint,
)
from resnet_edu.measuring.published import (
    CIFAR_CHECKPOINT_URL,
    IMAGENET_MEAN,
    IMAGENET_STD,
    PUBLISHED_CIFAR_CHECKPOINTS,
    PUBLISHED_TORCHVISION_WEIGHTS,
    TORCHVISION_WEIGHTS_URL,
)
from resnet_edu.models.networks import TORCHVISION_RESNETS, ResNet, cifar_blocks_per_stage, cifar_resnet

__all__ = [
    "cifar_checkpoint_url",
    "load_cifar_checkpoint",
    "cifar_checkpoint_inputs",
    "make_synthetic_cifar_checkpoint",
    "synthetic_cifar_images",
    "load_torchvision_weights",
]

_FORMAT = "{'state_dict': {'module.conv1.weight': ..., 'module.linear.bias': ...}, 'best_prec1': ...}"
_NAME_DEPTH = re.compile(r"resnet(\d+)")
_BLOCK_KEY = re.compile(r"layer(\d+)\.(\d+)\.")


def cifar_checkpoint_url(depth: int) -> str:
    """The URL of the published CIFAR-10 checkpoint of ResNet-``depth`` (20, 32, 44, 56, 110, 1202).

    Args:
        depth: a depth of :data:`~resnet_edu.measuring.published.PUBLISHED_CIFAR_CHECKPOINTS`.
    """
    if depth not in PUBLISHED_CIFAR_CHECKPOINTS:
        raise ValueError(f"published CIFAR-10 checkpoints exist for depths {sorted(PUBLISHED_CIFAR_CHECKPOINTS)}; "
                         f"got {depth!r}")
    return CIFAR_CHECKPOINT_URL.format(name=PUBLISHED_CIFAR_CHECKPOINTS[depth].file_name)


def load_cifar_checkpoint(
    path_or_url: str | os.PathLike,
    depth: int | None = None,
    *,
    sha256: str | None = None,
    zeros: str = "both",
    model_dir: str | os.PathLike | None = None,
    map_location: str | torch.device = "cpu",
) -> ResNet:
    """Build ``cifar_resnet(depth)`` and fill it with a checkpoint in akamaster's format.

    The file (local, or an ``http(s)://``/``file://`` URL downloaded once into ``model_dir``)
    is checked against the sha256 prefix its name carries (``resnet20-12fca82f.th``) and
    ``sha256`` if given, read with ``torch.load(weights_only=True)``, its names are renamed
    (``module.`` dropped, ``linear`` -> ``fc``), and it is loaded with ``strict=True``.
    The network is returned in eval mode. Taught in chapter 6.

    Args:
        path_or_url: the checkpoint, e.g. ``cifar_checkpoint_url(20)``.
        depth: 6n + 2; None reads it from the checkpoint's blocks (and checks the file
            name's ``resnetNN`` against them).
        sha256: the expected sha256 of the file, in full or as a prefix.
        zeros: where option A's zero channels go in the network built (``"both"``, as the
            checkpoints were trained; ``"end"`` shows what the other placement does).
        model_dir: download cache; None means torch.hub's ``checkpoints`` folder.
        map_location: where to load the tensors.

    Raises:
        CheckpointError: a missing file, a failed download, a hash mismatch, a file not in
            the published format, or one that holds another depth than ``depth``.
    """
    path, name = _fetch(path_or_url, sha256, model_dir)
    state = _read(path, map_location)
    blocks = _blocks_per_stage(state, path)
    found = 6 * blocks + 2
    named = _NAME_DEPTH.search(name)
    checks = ((depth, "asked for", f"pass depth={found}, or the ResNet-{depth} file"),
              (int(named.group(1)) if named else None, f"its name {name!r} says", "the file is misnamed"))
    for wanted, where, advice in checks:
        if wanted is not None and wanted != found:
            raise CheckpointError(
                f"{path} holds a CIFAR ResNet-{found} ({blocks} blocks per stage), not the ResNet-{wanted} "
                f"{where} ({(wanted - 2) / 6:g} blocks per stage): {advice}"
            )
    model = cifar_resnet(found, zeros=zeros)
    own = model.state_dict()
    unexpected = [k for k in state if k not in own]
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    shapes = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
              for k in state if k in own and state[k].shape != own[k].shape]
    if unexpected or missing or shapes:
        details = "; ".join(f"{what} {len(items)}: {', '.join(items[:4])}{' ...' if len(items) > 4 else ''}"
                            for what, items in (("unexpected", unexpected), ("missing", missing),
                                                ("shape mismatch", shapes)) if items)
        raise CheckpointError(
            f"{path} does not fit cifar_resnet({found}) (option A, widths 16/32/64, 10 classes): {details}. "
            f"Expected the published format {_FORMAT}"
        )
    model.load_state_dict(state, strict=True)  # old files without num_batches_tracked get 0 (PyTorch's rule)
    return model.eval()


def _fetch(path_or_url: str | os.PathLike, sha256: str | None, model_dir: str | os.PathLike | None) -> tuple[Path, str]:
    """The local, hash-checked file and its name (downloaded once if ``path_or_url`` is a URL)."""
    source = os.fspath(path_or_url)
    name = Path(urllib.parse.urlparse(source).path).name if _is_url(source) else Path(source).name
    expected = _expected_prefixes(name, sha256, check_hash=hash_prefix_from_name(name) is not None)
    if _is_url(source):
        cache = Path(model_dir).expanduser() if model_dir is not None else Path(torch.hub.get_dir()) / "checkpoints"
        path = _download(source, cache, expected)
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise CheckpointError(f"no checkpoint file at {path}; check the path (or pass a URL)")
    _verify(path, expected, shown=path)
    return path, name


def _read(path: Path, map_location: str | torch.device) -> dict[str, torch.Tensor]:
    """The file's state_dict in our names, after checking the published format."""
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # pickle errors, refused globals, truncated zip files
        raise CheckpointError(
            f"could not read {path} as a weights-only checkpoint ({type(err).__name__}); "
            f"it may be corrupt. Expected the published format {_FORMAT}"
        ) from err
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(f"{path} holds a {type(checkpoint).__name__}, not the published format {_FORMAT}")
    state = checkpoint.get("state_dict")
    if not isinstance(state, Mapping) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(
            f"{path} has no 'state_dict' of tensors (its keys: {sorted(map(str, checkpoint))[:6]}); "
            f"expected the published format {_FORMAT}"
        )
    renamed = {}
    for key, value in state.items():
        key = key.removeprefix("module.")  # saved from nn.DataParallel
        key = "fc." + key.removeprefix("linear.") if key.startswith("linear.") else key  # their classifier
        renamed[key] = value
    return renamed


def _blocks_per_stage(state: Mapping[str, torch.Tensor], path: Path) -> int:
    """n, the blocks in each of the three stages, read off the names (``layer2.4.conv1.weight``)."""
    blocks: dict[int, set[int]] = {}
    for key in state:
        match = _BLOCK_KEY.match(key)
        if match:
            blocks.setdefault(int(match.group(1)), set()).add(int(match.group(2)))
    counts = [len(blocks.get(stage, ())) for stage in (1, 2, 3)]
    if sorted(blocks) != [1, 2, 3] or len(set(counts)) != 1:
        raise CheckpointError(
            f"{path} does not hold a CIFAR ResNet (three stages layer1-3 of n blocks each); its stages "
            f"hold {', '.join(f'layer{s}: {len(b)}' for s, b in sorted(blocks.items())) or 'no blocks'}. "
            f"Expected the published format {_FORMAT}"
        )
    return counts[0]


def cifar_checkpoint_inputs(images: torch.Tensor) -> torch.Tensor:
    """Images as the published CIFAR-10 checkpoints expect them: in [0, 1], then ImageNet-normalised.

    akamaster's ``trainer.py`` normalises with the ImageNet mean and std, not with CIFAR-10's
    own statistics (which :class:`~resnet_edu.experiments.data.CIFAR10` uses). Taught in chapter 6.

    Args:
        images: ``(N, 3, H, W)`` uint8 (0..255, as :func:`~resnet_edu.experiments.data.load_cifar10`
            returns them) or float in [0, 1].
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[1] != 3:
        raise ValueError("images must be a tensor of shape (N, 3, H, W), e.g. load_cifar10(root, train=False)[0]")
    x = images.float() / 255 if images.dtype == torch.uint8 else images.float()  # (N, 3, H, W) in [0, 1]
    mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def make_synthetic_cifar_checkpoint(depth: int, directory: str | os.PathLike, seed: int = 0) -> Path:
    """Save a seeded, untrained ``cifar_resnet(depth)`` in the published checkpoints' format.

    The file is ``directory/resnet<depth>-<first 8 hex digits of its sha256>.th`` and holds
    ``{"state_dict": {"module.conv1.weight": ..., "module.linear.bias": ...}, "best_prec1": 10.0}``,
    without ``num_batches_tracked`` (as files saved before PyTorch 0.4.1), with random BN
    statistics so that eval mode differs from training mode. For tests and offline chapters:
    :func:`load_cifar_checkpoint` reads it as it reads the real ones. The global RNG is left alone.

    Args:
        depth: 6n + 2.
        directory: where to write; created if missing.
        seed: seeds the weights and the BN statistics.
    """
    cifar_blocks_per_stage(depth)  # a clear error for a depth that is not 6n + 2
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = cifar_resnet(depth)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                nn.init.uniform_(m.weight, 0.5, 1.5)
                nn.init.normal_(m.bias, 0.0, 0.1)
                m.running_mean.normal_(0.0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    state = {}
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        key = "linear." + key.removeprefix("fc.") if key.startswith("fc.") else key
        state["module." + key] = value
    directory = Path(directory).expanduser()
    with temporary_file(directory, ".synthetic-") as tmp:
        torch.save({"state_dict": state, "best_prec1": 10.0}, tmp)
        path = directory / f"resnet{depth}-{file_sha256(tmp)[:8]}.th"
        os.replace(tmp, path)
    return path


def synthetic_cifar_images(n: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded batch in CIFAR-10's raw format: uint8 images ``(n, 3, 32, 32)`` and int64 labels.

    The same format as :func:`~resnet_edu.experiments.data.load_cifar10`, so a chapter's code
    runs offline on it (random pixels: the accuracy means nothing).

    Args:
        n: how many images.
        seed: seeds the pixels and the labels.
    """
    check_positive_int("n", n)
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (n,), generator=generator)
    return images, labels


def load_torchvision_weights(
    model_name: str,
    *,
    model_dir: str | os.PathLike | None = None,
    map_location: str | torch.device = "cpu",
) -> ResNet:
    """Build one of torchvision's ResNets and load its published ImageNet weights (IMAGENET1K_V1).

    The file (e.g. ``resnet50-0676ba61.pth``) is downloaded once from
    ``download.pytorch.org/models/`` into ``model_dir`` and checked against the sha256
    prefix in its name, as torchvision does; the names match ours, so it loads with
    ``strict=True``. Inputs: 224x224 crops, ImageNet-normalised (``IMAGENET_MEAN``,
    ``IMAGENET_STD``). The class names are torchvision's
    (``torchvision.models.ResNet50_Weights.IMAGENET1K_V1.meta["categories"]``); the package
    does not ship them. The network is returned in eval mode. Taught in chapter 4.

    Args:
        model_name: a key of :data:`~resnet_edu.models.networks.TORCHVISION_RESNETS`
            (``"resnet18"`` ... ``"wide_resnet101_2"``).
        model_dir: download cache; None means torch.hub's ``checkpoints`` folder, which
            torchvision shares, so files it already downloaded are reused.
        map_location: where to load the tensors.

    Raises:
        CheckpointError: a failed download or a hash mismatch.
    """
    check_choice("model_name", model_name, tuple(PUBLISHED_TORCHVISION_WEIGHTS))
    model = TORCHVISION_RESNETS[model_name]()
    url = TORCHVISION_WEIGHTS_URL + PUBLISHED_TORCHVISION_WEIGHTS[model_name].file_name
    load_checkpoint(model, url, check_hash=True, model_dir=model_dir, map_location=map_location)
    return model.eval()
