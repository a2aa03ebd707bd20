"""Lesion study: delete one block of a trained network and measure the test error.

Veit, Wilber & Belongie 2016, "Residual Networks Behave Like Ensembles of Relatively
Shallow Networks" (arXiv:1605.06431), section 4: a residual network of n blocks
unrolls into 2^n paths, so deleting one block removes only half of the paths and
the others still carry the signal; deleting a layer of a plain (VGG) network cuts
its only path, and it drops to chance. Here a deleted block is replaced by its
shortcut alone: the identity, or, where the block changes the shape, the shortcut's
zero-padding (option A) or projection (options B, C). A plain block has no shortcut,
so only the blocks that keep the shape (stride 1, same width) can be deleted, and
they become the identity. Taught in chapter 7.
"""

from __future__ import annotations

import dataclasses
import statistics
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import torch
from torch import nn

from resnet_edu.core.tabular import Table
from resnet_edu.core.threads import small_network_threads, torch_threads
from resnet_edu.experiments.data import digits_loaders
from resnet_edu.experiments.degradation import train_depths
from resnet_edu.experiments.recipe import DIGITS_RECIPE, Recipe
from resnet_edu.experiments.training import evaluate


@dataclass(frozen=True)
class LesionRecord:
    """The test error of a network with one block deleted (or none).

    Attributes:
        network: the network's name (e.g. ``"resnet-20"``).
        block: the deleted block's path (``"layer2.1"``), or ``None`` for the intact network.
        replaced_by: ``"identity"``, the shortcut's class name (``"ZeroPadShortcut"``,
            ``"Sequential"`` for a projection), or ``"intact"``.
        test_error: error on the loader, a fraction in 0..1.
    """

    network: str
    block: str | None
    replaced_by: str
    test_error: float


class ShortcutOnly(nn.Module):
    """What is left of a residual block once its residual branch is deleted: ``shortcut(x)``.

    Args:
        shortcut: the block's ``downsample`` module, or ``None`` for the identity.
    """

    def __init__(self, shortcut: nn.Module | None) -> None:
        super().__init__()
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.shortcut is None else self.shortcut(x)  # (N, C_out, H/s, W/s)


def _keeps_shape(block: nn.Module) -> bool:
    # Every convolution of the residual branch at stride 1 (a Bottleneck's stride is on
    # conv2, the paper's variant puts it on conv1) and as many channels out as in.
    convs = [m for name, m in block.named_modules() if isinstance(m, nn.Conv2d) and "downsample" not in name]
    if not convs:
        return False
    strides_one = all(conv.stride == (1, 1) for conv in convs)
    return strides_one and convs[0].in_channels == getattr(block, "out_channels", -1)


def deletable_blocks(model: nn.Module, same_shape_only: bool = False) -> list[tuple[str, nn.Module]]:
    """The blocks a lesion study can delete, with what replaces each, as ``(path, replacement)``.

    Residual blocks (``has_shortcut``) are replaced by :class:`ShortcutOnly`; plain
    blocks only where they keep the shape, by ``nn.Identity``.

    Args:
        model: a network whose blocks expose ``has_shortcut`` (the package's blocks).
        same_shape_only: also skip residual blocks that change the shape (stride 2),
            to compare a residual net and its plain twin on the same blocks.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    found = []
    for path, module in model.named_modules():
        if not hasattr(module, "has_shortcut"):
            continue
        if module.has_shortcut and not (same_shape_only and not _keeps_shape(module)):
            found.append((path, ShortcutOnly(getattr(module, "downsample", None))))
        elif not module.has_shortcut and _keeps_shape(module):
            found.append((path, nn.Identity()))
    return found


@contextmanager
def replaced(model: nn.Module, path: str, replacement: nn.Module) -> Iterator[nn.Module]:
    """Inside the ``with`` block, the submodule at ``path`` is ``replacement``; then it is put back.

    Args:
        model: the network (changed in place, restored on exit).
        path: a submodule's dotted path, e.g. ``"layer2.1"``.
        replacement: the module to use instead.
    """
    parent_path, _, name = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    original = getattr(parent, name)
    setattr(parent, name, replacement)
    try:
        yield model
    finally:
        setattr(parent, name, original)


class LesionStudy(list):
    """The :class:`LesionRecord` of one or more networks; prints one row per deleted block,
    one column per network, test errors in %."""

    def table(self) -> Table:
        """The records as a :class:`~resnet_edu.core.tabular.Table`."""
        networks = list(dict.fromkeys(r.network for r in self))
        blocks = list(dict.fromkeys(r.block for r in self))
        error = {(r.network, r.block): r.test_error for r in self}
        rows = [
            ["none (intact)" if b is None else b]
            + [f"{100 * error[(n, b)]:.1f}%" if (n, b) in error else "-" for n in networks]
            for b in blocks
        ]
        return Table(["deleted block"] + networks, rows, "test error with one block deleted")

    def __str__(self) -> str:
        return str(self.table())

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()


def lesion_study(
    model: nn.Module, loader: Iterable, name: str = "network", same_shape_only: bool = False
) -> LesionStudy:
    """Delete each deletable block in turn and measure the error; the first record is the intact net.

    The model is evaluated in eval mode and left exactly as it was.

    Args:
        model: a trained network built from the package's blocks.
        loader: batches of ``(images, labels)``, usually the test set.
        name: the network's name in the records.
        same_shape_only: see :func:`deletable_blocks`.

    Raises:
        ValueError: if the model has no deletable block.
    """
    blocks = deletable_blocks(model, same_shape_only)
    if not blocks:
        raise ValueError(
            "found no block to delete: the model needs blocks with a `has_shortcut` attribute "
            "(PlainBlock, BasicBlock, Bottleneck, PreActBlock)"
        )
    records = LesionStudy([LesionRecord(name, None, "intact", evaluate(model, loader)[1])])
    for path, replacement in blocks:
        with replaced(model, path, replacement):
            error = evaluate(model, loader)[1]
        what = "identity" if isinstance(replacement, nn.Identity) or replacement.shortcut is None else type(
            replacement.shortcut
        ).__name__
        records.append(LesionRecord(name, path, what, error))
    return records


def lesion_experiment(
    seed: int = 0, *, recipe: Recipe = DIGITS_RECIPE, same_shape_only: bool = False, num_threads: int | None = None
) -> LesionStudy:
    """Train ResNet-20 and plain-20 on the digits, then delete each block in turn (Veit et al. 2016).

    Returns the records of :func:`lesion_study` for both networks (ResNet-20 first),
    evaluated on the digits' test set. Taught in chapter 7.

    Args:
        seed: seed of the split, the shuffling and the weights.
        recipe: how each network is trained (:data:`~resnet_edu.experiments.recipe.DIGITS_RECIPE`).
        same_shape_only: delete only the blocks that keep the shape in both networks.
        num_threads: PyTorch CPU threads (restored afterwards); ``None``: the package's choice
            for tiny networks (see :func:`~resnet_edu.experiments.degradation.train_depths`).
    """
    runs = train_depths(("residual", "plain"), (20,), recipe=recipe, seed=seed, num_threads=num_threads)
    _, test_loader = digits_loaders(256, seed)
    records = LesionStudy()
    with torch_threads(small_network_threads(num_threads)):
        for run in runs:
            records += lesion_study(run.model, test_loader, run.name, same_shape_only)
    return records


def lesion_summary(records: Iterable[LesionRecord]) -> dict[str, float]:
    """The few numbers a lesion study is read by, per network: what the spreads store.

    For each network ``name`` in the records: ``"<name> intact"`` (the intact network's test
    error), and over its one-block deletions ``"<name> one block deleted: median"``, ``"...:
    best"`` and ``"...: worst"``; all fractions in 0..1. Chapter 7 prints its single run with
    these, beside their spread across seeds and machines
    (:func:`~resnet_edu.experiments.spread.load_spread`).

    Raises:
        ValueError: if a network has no intact record or no deletion.
    """
    records = list(records)
    summary: dict[str, float] = {}
    for network in dict.fromkeys(r.network for r in records):
        intact = [r.test_error for r in records if r.network == network and r.block is None]
        deleted = sorted(r.test_error for r in records if r.network == network and r.block is not None)
        if len(intact) != 1 or not deleted:
            raise ValueError(f"{network}: a lesion study needs one intact record and at least one deletion")
        summary[f"{network} intact"] = intact[0]
        summary[f"{network} one block deleted: median"] = statistics.median(deleted)
        summary[f"{network} one block deleted: best"] = deleted[0]
        summary[f"{network} one block deleted: worst"] = deleted[-1]
    return summary


def lesion_spread_config(recipe: Recipe = DIGITS_RECIPE, same_shape_only: bool = False) -> dict[str, Any]:
    """The configuration a stored spread of :func:`lesion_experiment` was measured with.

    Chapter 7 passes it to :func:`~resnet_edu.experiments.spread.load_spread`, so a spread measured
    with another recipe is refused instead of printed.
    """
    return {
        "experiment": "lesion_experiment",
        "networks": ["resnet-20", "plain-20"],
        "data": "digits",
        "recipe": dataclasses.asdict(recipe),
        "same_shape_only": same_shape_only,
    }
