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

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader

from resnet_edu.core.arguments import check_choice
from resnet_edu.core.tabular import Table
from resnet_edu.core.threads import small_network_threads, torch_threads
from resnet_edu.experiments.data import digits_loaders
from resnet_edu.experiments.recipe import DIGITS_RECIPE, Recipe
from resnet_edu.experiments.training import EpochRecord, evaluate, train
from resnet_edu.models.networks import CIFAR_WIDTHS, KINDS, cifar_blocks_per_stage, cifar_network


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


class DepthRuns(list):
    """The :class:`DepthRun` of every network trained, in order; prints as a table of final errors."""

    def table(self) -> Table:
        """Final errors as percentages with 3 significant digits, one row per network."""
        headers = ["network", "train error (end)", "train error (last epoch)", "test error"]
        rows = [
            [r.name, f"{100 * r.train_error:.3g}%", f"{100 * r.history[-1].train_error:.3g}%",
             f"{100 * r.test_error:.3g}%"]
            for r in self
        ]
        return Table(headers, rows)

    def __str__(self) -> str:
        return str(self.table())

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()


def train_depths(
    kinds: Sequence[str] = ("plain",),
    depths: Sequence[int] = (8, 20, 56),
    *,
    recipe: Recipe = DIGITS_RECIPE,
    widths: Sequence[int] = CIFAR_WIDTHS,
    seed: int = 0,
    num_threads: int | None = None,
    progress: bool = False,
) -> DepthRuns:
    """Train one network per (kind, depth) on the digits with the same recipe; return the runs.

    Each network is ``cifar_network(depth, kind, in_channels=1, widths=widths)`` built
    after ``torch.manual_seed(seed)``, trained on fresh loaders of the same seeded split
    and order with ``recipe`` (the book's :data:`~resnet_edu.experiments.recipe.DIGITS_RECIPE`
    by default: the paper's SGD of section 4.2 shrunk to 10 epochs of 23 steps). The
    four networks of :func:`degradation_experiment` take about 50 s of CPU time.

    Args:
        kinds: any of :data:`~resnet_edu.models.networks.KINDS` (``"plain"``, ``"residual"``).
        depths: 6n + 2 depths.
        recipe: how to train (its ``batch_size`` sizes the loaders).
        widths: the stages' channels.
        seed: seed of the split, the shuffling and the weights.
        num_threads: PyTorch CPU threads while training, restored afterwards. ``None``
            lets the package choose: one thread, which for these tiny tensors is as fast
            as several and does not slow down when other programs share the cores.
        progress: show a progress bar per network.
    """
    for kind in kinds:
        check_choice("kind", kind, KINDS)
    for depth in depths:
        cifar_blocks_per_stage(depth)
    runs = DepthRuns()
    with torch_threads(small_network_threads(num_threads)):
        for kind in kinds:
            for depth in depths:
                torch.manual_seed(seed)
                model = cifar_network(depth, kind, in_channels=1, widths=tuple(widths))
                train_loader, test_loader = digits_loaders(recipe.batch_size, seed)
                start = time.perf_counter()
                history = train(model, train_loader, test_loader, recipe, device="cpu", seed=seed, progress=progress)
                seconds = time.perf_counter() - start
                _, train_error = evaluate(model, _unshuffled(train_loader))
                runs.append(DepthRun(kind, depth, history, train_error, seconds, model.eval()))
    return runs


def _unshuffled(loader: DataLoader) -> DataLoader:
    return DataLoader(loader.dataset, batch_size=256, shuffle=False)


def degradation_experiment(seed: int = 0, **kwargs) -> DepthRuns:  # type: ignore[no-untyped-def]
    """The paper's Figure 6 in miniature: plain-20, plain-56, ResNet-20, ResNet-56 on the digits.

    Args:
        seed: seed of the split, the shuffling and the weights.
        **kwargs: any option of :func:`train_depths` (epochs, batch_size, lr, ...).
    """
    return train_depths(KINDS, (20, 56), seed=seed, **kwargs)


def degradation_spread_config(
    recipe: Recipe = DIGITS_RECIPE,
    networks: Sequence[str] = ("plain-20", "plain-56", "resnet-20", "resnet-56"),
    widths: Sequence[int] = CIFAR_WIDTHS,
) -> dict[str, Any]:
    """The configuration a stored spread of :func:`train_depths` runs was measured with.

    Chapter 6 passes it to :func:`~resnet_edu.experiments.spread.load_spread`, so a spread
    measured with another recipe, other networks or other widths is refused instead of printed.

    Args:
        recipe: the recipe every network was trained with.
        networks: the names of the networks trained (``DepthRun.name``).
        widths: the stages' channels.
    """
    return {"experiment": "train_depths on the digits", "networks": list(networks),
            "recipe": dataclasses.asdict(recipe), "widths": list(widths)}
