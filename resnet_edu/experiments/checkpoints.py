"""Load torchvision-style checkpoints (a state_dict file) safely, with hash checks.

Our models keep torchvision's parameter names, so the ImageNet weights published
with torchvision load into them with ``strict=True``. A checkpoint is read with
``torch.load(..., weights_only=True)``, which refuses arbitrary pickled code, and its
sha256 can be checked: in full, or by the prefix that torchvision puts in its file
names (``resnet18-f37072fd.pth`` starts with ``f37072fd``).

Taught in chapter 4 (loading torchvision's weights with strict names). A training state
(model, optimizer, epoch, history: what a run needs to continue) is saved and read the
same way, atomically and weights-only (:func:`save_training_state`, chapter 9).
"""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from resnet_edu.core.downloads import DownloadError, download, file_hash, temporary_file

__all__ = [
    "CheckpointError",
    "file_sha256",
    "hash_prefix_from_name",
    "save_checkpoint",
    "load_checkpoint",
    "save_training_state",
    "load_training_state",
]

# torch.hub's convention: the hex digits between the last "-" and the first "." of the name
_NAME_HASH = re.compile(r"-([a-f0-9]{6,64})\.")
_HEX = re.compile(r"[0-9a-f]{6,64}")


class CheckpointError(RuntimeError):
    """A checkpoint could not be found, downloaded, verified or loaded; the message says why."""


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 of a file as 64 lowercase hex digits.

    Args:
        path: the file.
    """
    return file_hash(path, "sha256")


def hash_prefix_from_name(name: str | os.PathLike) -> str | None:
    """The sha256 prefix a torchvision file name carries (``resnet18-f37072fd.pth`` -> ``f37072fd``).

    Args:
        name: a file name, path or URL.

    Returns:
        The hex digits, or ``None`` if the name carries none.
    """
    match = _NAME_HASH.search(Path(urllib.parse.urlparse(str(name)).path).name)
    return match.group(1) if match else None


def save_checkpoint(model: nn.Module, directory: str | os.PathLike, name: str) -> Path:
    """Save ``model.state_dict()`` as ``directory/name-<first 8 hex digits of sha256>.pth``.

    The same naming scheme as torchvision's published weights, so the file can be
    checked later with ``load_checkpoint(..., check_hash=True)``.

    Args:
        model: the model whose parameters and buffers are saved.
        directory: where to write; created if missing.
        name: the stem, e.g. ``"resnet20-cifar10"``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not name or "/" in name or os.sep in name:
        raise ValueError(f"name must be a plain file stem such as 'resnet20', got {name!r}")
    directory = Path(directory).expanduser()
    with temporary_file(directory, ".save-") as tmp:
        torch.save(model.state_dict(), tmp)
        path = directory / f"{name}-{file_sha256(tmp)[:8]}.pth"
        os.replace(tmp, path)
    return path


def _is_url(text: str) -> bool:
    return urllib.parse.urlparse(text).scheme in ("http", "https", "file")


def _expected_prefixes(name: str, sha256: str | None, check_hash: bool) -> list[str]:
    expected = []
    if sha256 is not None:
        if not isinstance(sha256, str) or not _HEX.fullmatch(sha256.lower()):
            raise ValueError(f"sha256 must be 6 to 64 hex digits, got {sha256!r}")
        expected.append(sha256.lower())
    if check_hash:
        prefix = hash_prefix_from_name(name)
        if prefix is None:
            raise CheckpointError(
                f"check_hash=True, but the name {name!r} carries no hash "
                "(torchvision style: name-<hex digits>.pth)"
            )
        expected.append(prefix)
    return expected


def _verify(path: Path, expected: list[str], shown: str | Path) -> None:
    if not expected:
        return
    actual = file_sha256(path)
    for want in expected:
        if not actual.startswith(want):
            raise CheckpointError(
                f"the sha256 of {shown} is {actual}, which does not start with {want}: "
                "the file is corrupt or not the one expected."
            )


def _download(url: str, model_dir: Path, expected: list[str]) -> Path:
    """Fetch ``url`` into ``model_dir`` (once); a temporary file is checked, then renamed."""
    filename = Path(urllib.parse.urlparse(url).path).name
    if not filename:
        raise CheckpointError(f"the URL {url} does not end in a file name")
    destination = model_dir / filename
    if destination.is_file():
        return destination
    try:
        download(url, destination, lambda tmp: _verify(tmp, expected, shown=url))
    except DownloadError as err:
        raise CheckpointError(
            f"{err}. Check the internet connection, or download the file by hand and pass its path."
        ) from err
    return destination


def load_checkpoint(
    model: nn.Module,
    path_or_url: str | os.PathLike,
    *,
    sha256: str | None = None,
    check_hash: bool = False,
    strict: bool = True,
    map_location: str | torch.device = "cpu",
    model_dir: str | os.PathLike | None = None,
) -> nn.Module:
    """Load a state_dict checkpoint (a file or a URL) into ``model`` and return the model.

    Args:
        model: the model to fill, e.g. ``resnet18()`` for torchvision's resnet18 weights.
        path_or_url: a local file, or an ``http(s)://`` / ``file://`` URL, downloaded
            once into ``model_dir``.
        sha256: the expected sha256 of the file, in full or as a prefix (6+ hex digits).
        check_hash: also check the prefix embedded in the file name, as torch.hub does.
        strict: require the checkpoint's names to match the model's exactly.
        map_location: where to load the tensors (``"cpu"`` works everywhere).
        model_dir: download cache; ``None`` means torch.hub's ``checkpoints`` folder,
            which torchvision shares, so weights it already downloaded are reused.

    Raises:
        CheckpointError: a missing file, a failed download, a hash mismatch, a file
            that is not a plain state_dict, or names and shapes that do not fit the model.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    source = os.fspath(path_or_url)
    is_url = _is_url(source)
    name = Path(urllib.parse.urlparse(source).path).name if is_url else Path(source).name
    expected = _expected_prefixes(name, sha256, check_hash)
    if is_url:
        cache = Path(model_dir).expanduser() if model_dir is not None else Path(torch.hub.get_dir()) / "checkpoints"
        path = _download(source, cache, expected)  # a fresh download is checked before it is kept
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise CheckpointError(f"no checkpoint file at {path}; check the path (or pass a URL)")
    _verify(path, expected, shown=path)

    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # pickle errors, refused globals, truncated zip files
        raise CheckpointError(
            f"could not read {path} as a weights-only checkpoint ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}). It may be corrupt, or hold "
            "pickled objects other than tensors."
        ) from err
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(
            f"{path} does not hold a state_dict (a mapping of names to tensors); "
            "save one with torch.save(model.state_dict(), path)"
        )
    try:
        model.load_state_dict(state, strict=strict)
    except RuntimeError as err:
        raise CheckpointError(_mismatch_message(model, state, path)) from err
    return model


def _mismatch_message(model: nn.Module, state: Mapping[str, torch.Tensor], path: Path) -> str:
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]

    def few(items: list[str]) -> str:
        return ", ".join(items[:5]) + (f" and {len(items) - 5} more" if len(items) > 5 else "")

    parts = [f"{path} does not fit the model"]
    if missing:
        parts.append(f"missing {len(missing)}: {few(missing)}")
    if unexpected:
        parts.append(f"unexpected {len(unexpected)}: {few(unexpected)}")
    if shapes:
        parts.append(f"shape mismatch {len(shapes)}: {few(shapes)}")
    return "; ".join(parts)


def save_training_state(state: Mapping[str, object], path: str | os.PathLike) -> Path:
    """Write a training state (a dict of tensors, numbers, strings, lists) to ``path`` atomically.

    The file is written to a temporary file in the same folder and renamed, so an
    interrupted run never leaves half a checkpoint; the previous state stays until the
    new one is complete. Only plain data is saved, so :func:`load_training_state` can
    read it with ``weights_only=True``.

    Args:
        state: e.g. ``{"model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "epoch": 3}``.
        path: the file; its folder is created if missing.
    """
    if not isinstance(state, Mapping):
        raise TypeError(f"state must be a mapping (a dict), got {type(state).__name__}")
    path = Path(path).expanduser()
    with temporary_file(path.parent, ".state-") as tmp:
        torch.save(dict(state), tmp)
        os.replace(tmp, path)
    return path


def load_training_state(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a training state written by :func:`save_training_state` (``weights_only=True``).

    Args:
        path: the file.
        map_location: where to load the tensors.

    Raises:
        CheckpointError: a missing or unreadable file, or one that holds no dict.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"no training state at {path}; check the path")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # pickle errors, refused globals, truncated zip files
        raise CheckpointError(
            f"could not read {path} as a weights-only training state ({type(err).__name__}); "
            "it may be corrupt"
        ) from err
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} holds a {type(state).__name__}, not a training state (a dict)")
    return state
