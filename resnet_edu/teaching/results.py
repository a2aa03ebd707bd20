"""Figures of trained networks: training curves, predictions and a confusion matrix.

Each function takes what an experiment returned and gives back a matplotlib Figure (made with
``plt.subplots``, never shown here), so a notebook cell ends with ``plt.show()`` or hands the
figure to :func:`~resnet_edu.teaching.widgets.explorer`. The same data gives the same figure.
Taught in chapter 6 (the degradation experiment, the published CIFAR-10 weights).
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from resnet_edu.experiments.degradation import DepthRun

#: One colour per depth in :func:`plot_degradation` (the paper's Figure 6 uses one per depth too).
_DEPTH_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")
_KIND_COLOURS = {"plain": "tab:orange", "residual": "tab:blue"}


def _curves(ax, run: DepthRun, colour: str, width: float, label: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """Training error dashed, test error solid (the paper's Figure 6 style), in percent."""
    epochs = [r.epoch for r in run.history]
    name = label or run.name
    ax.plot(epochs, [100 * r.train_error for r in run.history], color=colour, linewidth=width * 0.6,
            linestyle="--", label=f"{name} train")
    ax.plot(epochs, [100 * r.test_error for r in run.history], color=colour, linewidth=width, label=f"{name} test")


def plot_degradation(runs: Sequence[DepthRun],
                     title: str = "Training on the digits: plain nets against ResNets (cf. Figure 6)") -> Figure:
    """Two panels in the manner of He et al. 2015, Figure 6: plain networks left, ResNets right.

    One colour per depth; training error dashed and test error bold, as in the paper ("dashed
    lines denote training error, and bold lines denote testing error", section 4.2).

    Args:
        runs: what :func:`~resnet_edu.experiments.degradation.train_depths` (or
            ``degradation_experiment``) returned.
        title: the figure's title.
    """
    if not runs:
        raise ValueError("plot_degradation needs at least one run")
    depths = sorted({run.depth for run in runs})
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8), sharey=True)
    for ax, kind, panel in zip(axes, ("plain", "residual"), ("plain networks", "ResNets")):
        for run in runs:
            if run.kind == kind:
                _curves(ax, run, _DEPTH_COLOURS[depths.index(run.depth) % len(_DEPTH_COLOURS)], 2.5)
        ax.set(xlabel="epoch", title=panel, ylim=(0, 100))
        if ax.lines:
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, fontsize="small")
    axes[0].set_ylabel("error (%)")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_depth_run(run: DepthRun, twin: DepthRun | None = None, title: str | None = None) -> Figure:
    """One trained network's curves, bold and coloured by kind; its twin thin and grey.

    The frames of chapter 6's explorer. The axes are the same for every run (0-100 % error,
    epoch 1 to the last), so flipping between frames compares like with like.

    Args:
        run: the network to show.
        twin: another run to draw for comparison (e.g. the same depth with the other kind).
        title: the figure's title; by default the run's name and final errors.
    """
    fig, ax = plt.subplots(figsize=(7, 3.6))
    if twin is not None:
        _curves(ax, twin, "0.6", 1.2)
    _curves(ax, run, _KIND_COLOURS.get(run.kind, "tab:blue"), 2.5)
    last = max(len(run.history), len(twin.history) if twin is not None else 0)
    ax.set(xlabel="epoch", ylabel="error (%)", ylim=(0, 100), xlim=(1, max(2, last)))
    ax.grid(alpha=0.3)
    ax.set_title(title or f"{run.name}, last epoch: training error {run.history[-1].train_error:.1%}, "
                 f"test error {run.test_error:.1%}", fontsize=10)
    ax.legend(loc="upper right", fontsize="small", ncol=2)
    fig.tight_layout()
    return fig


def _check_predictions(predicted: torch.Tensor, labels: torch.Tensor, classes: Sequence[str]) -> None:
    if predicted.shape != labels.shape or predicted.dim() != 1:
        raise ValueError(f"predicted and labels must be (N,) tensors of one shape, got "
                         f"{tuple(predicted.shape)} and {tuple(labels.shape)}")
    if len(labels) and int(max(predicted.max(), labels.max())) >= len(classes):
        raise ValueError(f"a class index is >= the {len(classes)} class names given")


def plot_predictions(images: torch.Tensor, predicted: torch.Tensor, labels: torch.Tensor,
                     classes: Sequence[str], title: str, rows: int = 3, columns: int = 8) -> Figure:
    """The first ``rows * columns`` images, each titled with its prediction and (true class).

    Mistakes are titled in red.

    Args:
        images: ``(N, 3, H, W)`` uint8 (or floats in 0..1) images, as shown to a person.
        predicted: ``(N,)`` predicted classes.
        labels: ``(N,)`` true classes.
        classes: the class names, by index.
        title: the figure's title.
        rows, columns: the grid.
    """
    _check_predictions(predicted, labels, classes)
    if images.dim() != 4 or len(images) != len(labels):
        raise ValueError(f"images must be (N, C, H, W) with N = {len(labels)}, got {tuple(images.shape)}")
    fig, axes = plt.subplots(rows, columns, figsize=(11, 1.8 * rows))
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(images):
            continue
        ax.imshow(images[i].permute(1, 2, 0).numpy())  # (H, W, C)
        right = bool(predicted[i] == labels[i])
        ax.set_title(f"{classes[int(predicted[i])]}\n({classes[int(labels[i])]})", fontsize=8,
                     color="black" if right else "tab:red")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def confusion_matrix(predicted: torch.Tensor, labels: torch.Tensor, classes: int) -> torch.Tensor:
    """``(classes, classes)`` counts: row = true class, column = predicted class.

    Args:
        predicted: ``(N,)`` predicted classes.
        labels: ``(N,)`` true classes.
        classes: the number of classes.
    """
    _check_predictions(predicted, labels, [str(c) for c in range(classes)])
    return torch.bincount(classes * labels + predicted, minlength=classes * classes).reshape(classes, classes)


def plot_confusion(confusion: torch.Tensor, classes: Sequence[str], title: str) -> Figure:
    """A confusion matrix as a heat map with its counts written in the cells.

    Args:
        confusion: ``(K, K)`` counts, row = true class, column = predicted class
            (:func:`confusion_matrix`).
        classes: the ``K`` class names.
        title: the figure's title.
    """
    k = len(classes)
    if tuple(confusion.shape) != (k, k):
        raise ValueError(f"confusion must be ({k}, {k}) for {k} classes, got {tuple(confusion.shape)}")
    fig, ax = plt.subplots(figsize=(7, 6))
    ax.imshow(confusion.numpy(), cmap="Blues")
    top = int(confusion.max())
    for t in range(k):
        for p in range(k):
            count = int(confusion[t, p])
            ax.text(p, t, f"{count}", ha="center", va="center", fontsize=7,
                    color="white" if count > top / 2 else "black")
    ax.set_xticks(range(k), classes, rotation=45, ha="right")
    ax.set_yticks(range(k), classes)
    ax.set(xlabel="predicted class", ylabel="true class", title=title)
    fig.tight_layout()
    return fig
