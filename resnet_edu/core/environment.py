"""Seeding, device choice and the version line that opens every chapter.

Taught in chapter 0 (setup).
"""

from __future__ import annotations

import platform
import random

import numpy as np
import torch


def seed_everything(seed: int = 0) -> None:
    """Seed Python's, NumPy's and PyTorch's random number generators."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def get_device() -> torch.device:
    """The best available device: CUDA, then Apple's MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def setup_chapter(seed: int = 0, verbose: bool = True) -> torch.device:
    """Seed everything, print the versions in use, and return the device.

    Every chapter's first cell calls this, so that a reader sees at a glance which
    PyTorch ran the numbers below it.
    """
    from resnet_edu.core.version import __version__

    seed_everything(seed)
    device = get_device()
    if verbose:
        python = ".".join(platform.python_version_tuple()[:2])
        print(
            f"resnet_edu {__version__} | torch {torch.__version__} | "
            f"Python {python} | device: {device.type} | seed: {seed}"
        )
    return device
