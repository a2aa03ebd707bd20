"""Downloading a file safely: a temporary file, a hash check, then an atomic rename.

CIFAR-10 (:mod:`resnet_edu.experiments.data`) and checkpoints
(:mod:`resnet_edu.experiments.checkpoints`) both fetch files this way, so a failed or
corrupt download never leaves a file that looks complete.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

__all__ = ["DownloadError", "file_hash", "temporary_file", "download"]


class DownloadError(RuntimeError):
    """The network or the disk failed during a download; the message names the URL and the cause."""


def file_hash(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """The hex digest of a file (``"sha256"``, ``"md5"``, ...), read in 1 MiB chunks.

    Args:
        path: the file.
        algorithm: any name ``hashlib.new`` accepts.
    """
    digest = hashlib.new(algorithm)
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def temporary_file(directory: Path, prefix: str) -> Iterator[Path]:
    """A fresh temporary file in ``directory`` (created if missing), deleted on exit unless renamed.

    Args:
        directory: where to create it (the final file's folder, so ``os.replace`` is atomic).
        prefix: the start of its name, e.g. ``".download-"``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=".part")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def download(url: str, destination: Path, verify: Callable[[Path], None] | None = None, timeout: float = 30) -> Path:
    """Fetch ``url`` to ``destination``: into a temporary file, ``verify`` it, then rename it.

    Args:
        url: an ``http(s)://`` or ``file://`` URL.
        destination: the final path; its folder is created if missing.
        verify: called on the temporary file before the rename; it raises to refuse the
            file (a wrong hash), and its exception propagates unchanged.
        timeout: seconds to wait for the server.

    Raises:
        DownloadError: when the network or the disk fails.
    """
    with temporary_file(destination.parent, ".download-") as tmp:
        try:
            with open(tmp, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                shutil.copyfileobj(response, out)
        except (urllib.error.URLError, OSError, ValueError) as err:
            raise DownloadError(f"could not download {url} ({err})") from err
        if verify is not None:
            verify(tmp)
        os.replace(tmp, destination)
    return destination
