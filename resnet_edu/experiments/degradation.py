"""The degradation experiment: plain and residual nets of growing depth trained on the digits.

He et al. 2015, Figure 1 and Figure 6 (left, middle): a 56-layer plain net ends with
HIGHER training error than a 20-layer one (degradation, not overfitting), and the
residual net of the same depth does not. :func:`train_depths` trains any set of
CIFAR-family networks (6n + 2 layers, option A shortcuts, so a plain net and its
residual twin have the same weights) on scikit-learn's 8x8 digits on the CPU and
returns their histories; :func:`degradation_experiment` is the paper's four.
Taught in chapter 1 (plain nets of growing depth) and chapter 6 (Figure 6 in miniature).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader

from resnet_edu.core.tabular import text_table
from resnet_edu.core.threads import torch_threads
from resnet_edu.models.blocks import BasicBlock, PlainBlock
from resnet_edu.experiments.data import digits_loaders
from resnet_edu.experiments.lesion import LesionRecord, lesion_study
from resnet_edu.models.networks import CIFAR_WIDTHS, ResNet, cifar_blocks_per_stage
from resnet_edu.experiments.training import EpochRecord, evaluate, train

KINDS: tuple[str, ...] = ("plain", "residual")


@dataclass
class DepthRun:
    """One trained network and what training measured.

    Attributes:
        kind: ``"plain"`` or ``"residual"``.
        depth: weighted layers (6n + 2).
        history: one :class:`~resnet_edu.experiments.training.EpochRecord` per epoch.
        train_error: error on the whole training set after training, in eval mode.
        seconds: wall-clock time of the training (for the record, not for tests).
        model: the trained network (eval mode, on the CPU).
    """

    kind: str
    depth: int
    history: list[EpochRecord]
    train_error: float
    seconds: float
    model: nn.Module

    @property
    def name(self) -> str:
        """``"plain-20"``, ``"resnet-56"``, ..."""
        return f"{'plain' if self.kind == 'plain' else 'resnet'}-{self.depth}"

    @property
    def test_error(self) -> float:
        """Test error after the last epoch."""
        return self.history[-1].test_error


def digits_network(depth: int, kind: str, widths: Sequence[int] = CIFAR_WIDTHS) -> ResNet:
    """A CIFAR-family network (section 4.2) for 1-channel 8x8 digits, 10 classes.

    ``cifar_plain``/``cifar_resnet`` with a choice of widths: 3x3 stem conv, three
    stages of n blocks each, option A shortcuts, average pool, fc.

    Args:
        depth: 6n + 2 (8, 14, 20, 32, 44, 56, 110, ...).
        kind: ``"plain"`` (PlainBlock) or ``"residual"`` (BasicBlock).
        widths: the three stages' channels (the paper's 16/32/64 by default).
    """
    n = cifar_blocks_per_stage(depth)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    block = PlainBlock if kind == "plain" else BasicBlock
    return ResNet(block, [n, n, n], tuple(widths), stem="cifar", shortcut="A", in_channels=1, num_classes=10)


def train_depths(
    kinds: Sequence[str] = ("plain",),
    depths: Sequence[int] = (8, 20, 56),
    *,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 0.05,
    warmup_epochs: int = 1,
    milestones: Sequence[int] = (7,),
    weight_decay: float = 1e-4,
    widths: Sequence[int] = CIFAR_WIDTHS,
    seed: int = 0,
    num_threads: int | None = 1,
    progress: bool = False,
) -> list[DepthRun]:
    """Train one network per (kind, depth) on the digits with the same recipe; return the runs.

    Each network is built after ``torch.manual_seed(seed)`` and trained on fresh
    loaders of the same seeded split and order, with the paper's SGD (momentum 0.9,
    weight decay 1e-4, section 4.2) shrunk to the digits: 10 epochs of 23 steps, the
    rate divided by 10 after epoch 7, and one warm-up epoch at lr/10 (the paper's
    ResNet-110 recipe). Deviations, measured on seeds 0-4: lr 0.05, not 0.1 (at 0.1
    ResNet-56 ends at 0.4-4 % training error instead of 0-0.14 %). The warm-up matters
    at lr 0.1 (without it ResNet-56 ended at 7-70 %), much less at 0.05 (0-1.6 %). The
    widths are the paper's 16/32/64. The four networks of
    :func:`degradation_experiment` take about 50 s of CPU time on one thread.

    Args:
        kinds: any of ``"plain"``, ``"residual"``.
        depths: 6n + 2 depths.
        epochs: passes over the 1,437 training digits.
        batch_size: images per step.
        lr: the learning rate after warm-up.
        warmup_epochs: epochs at ``lr / 10`` first.
        milestones: epochs at which the rate is divided by 10.
        weight_decay: L2 penalty (1e-4 in the paper).
        widths: the stages' channels.
        seed: seed of the split, the shuffling and the weights.
        num_threads: PyTorch CPU threads while training (restored afterwards); ``None``
            keeps the current number. One is as fast for these tiny tensors.
        progress: show a progress bar per network.
    """
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"kinds must be drawn from {KINDS}, got {kind!r}")
    for depth in depths:
        cifar_blocks_per_stage(depth)
    runs = []
    with torch_threads(num_threads):
        for kind in kinds:
            for depth in depths:
                torch.manual_seed(seed)
                model = digits_network(depth, kind, widths)
                train_loader, test_loader = digits_loaders(batch_size, seed)
                start = time.perf_counter()
                history = train(
                    model, train_loader, test_loader, epochs=epochs, lr=lr, weight_decay=weight_decay,
                    warmup_epochs=warmup_epochs, milestones=tuple(milestones), device="cpu", seed=seed,
                    progress=progress,
                )
                seconds = time.perf_counter() - start
                _, train_error = evaluate(model, _unshuffled(train_loader))
                runs.append(DepthRun(kind, depth, history, train_error, seconds, model.eval()))
    return runs


def _unshuffled(loader: DataLoader) -> DataLoader:
    return DataLoader(loader.dataset, batch_size=256, shuffle=False)


def degradation_experiment(seed: int = 0, **kwargs) -> list[DepthRun]:  # type: ignore[no-untyped-def]
    """The paper's Figure 6 in miniature: plain-20, plain-56, ResNet-20, ResNet-56 on the digits.

    Args:
        seed: seed of the split, the shuffling and the weights.
        **kwargs: any option of :func:`train_depths` (epochs, batch_size, lr, ...).
    """
    return train_depths(KINDS, (20, 56), seed=seed, **kwargs)


def format_runs(runs: Sequence[DepthRun]) -> str:
    """A table of final errors, as percentages with 3 significant digits.

    Args:
        runs: what :func:`train_depths` returned.
    """
    headers = ["network", "train error (end)", "train error (last epoch)", "test error"]
    cells = [
        [r.name, f"{100 * r.train_error:.3g}%", f"{100 * r.history[-1].train_error:.3g}%", f"{100 * r.test_error:.3g}%"]
        for r in runs
    ]
    return text_table(headers, cells)


def lesion_experiment(  # type: ignore[no-untyped-def]
    seed: int = 0, epochs: int = 10, same_shape_only: bool = False, **kwargs
) -> list[LesionRecord]:
    """Train ResNet-20 and plain-20 on the digits, then delete each block in turn (Veit et al. 2016).

    Returns the records of :func:`~resnet_edu.experiments.lesion.lesion_study` for both networks
    (ResNet-20 first), evaluated on the digits' test set. Taught in chapter 7.

    Args:
        seed: seed of the split, the shuffling and the weights.
        epochs: training epochs of each network.
        same_shape_only: delete only the blocks that keep the shape in both networks.
        **kwargs: any other option of :func:`train_depths` (batch_size, lr, widths, ...).
    """
    runs = train_depths(("residual", "plain"), (20,), epochs=epochs, seed=seed, **kwargs)
    _, test_loader = digits_loaders(256, seed)
    records = []
    with torch_threads(kwargs.get("num_threads", 1)):
        for run in runs:
            records += lesion_study(run.model, test_loader, run.name, same_shape_only)
    return records
