"""Drawing functions for the analysis results: each takes the data, returns the Figure.

The figures are made with ``plt.subplots`` (so a notebook cell that ends with
``plt.show()`` displays them) and are never shown here. Nothing random, no
timestamps: the same data gives the same figure. Taught in chapters 5, 6 and 7.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from resnet_edu.experiments.gradient_sweep import GradientRun
from resnet_edu.measuring.gradients import GradientNorms

_DEPTH_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


def plot_gradient_norms(result: GradientNorms, title: str = "Gradient norms after one backward pass") -> Figure:
    """Two panels: the backward signal ``||dL/dx||`` per block, and ``||dL/dW||`` per layer.

    Where the result has an identity reference (the package's networks), the left panel
    also draws it, dotted: the identity twin's profile scaled to meet the network's line at
    the last block, so the gap at block 0 is the first-to-last ratio.

    Args:
        result: what :func:`~resnet_edu.measuring.gradients.gradient_norms` returned.
        title: the figure's title.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot([s.index for s in result.signals], [s.norm for s in result.signals], marker="o", label="||dL/dx||")
    if result.reference_profile is not None:
        last = result.signals[-1].norm
        left.plot([s.index for s in result.signals], [ref * last for ref in result.reference_profile],
                  color="0.4", linestyle=":", label="identity twin (scaled to meet at the last block)")
    left.set(xlabel="block index (0 = stem output)", ylabel="gradient norm", title="backward signal")
    right.plot([w.index for w in result.weights], [w.norm for w in result.weights], marker=".", label="||dL/dW||")
    right.set(xlabel="layer index (conv/linear, input to output)", ylabel="gradient norm", title="weight gradients")
    for ax in (left, right):
        ax.set_yscale("log", nonpositive="mask")
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_gradient_sweep(runs: Sequence[GradientRun], relative: bool = True, quantity: str = "signal") -> Figure:
    """One panel per (BN, init): gradient norm against block (or layer) index, one line per network.

    Colour is depth, a dashed line a plain net, a solid line a residual one. Norms
    of exactly 0 (the gradient underflowed float32) cannot sit on a log axis and are
    left out.

    Args:
        runs: the records of :func:`~resnet_edu.experiments.gradient_sweep.gradient_sweep`.
        relative: draw each run's ``profile``: its norms divided by its last value and by
            the identity twin's, so every line ends at 1 and its first point is the
            first-to-last ratio; the identity twin is the black dotted line at exactly 1.
        quantity: ``"signal"`` (``||dL/dx||`` per block) or ``"weights"`` (``||dL/dW||``
            per conv/linear layer).
    """
    if quantity not in ("signal", "weights"):
        raise ValueError(f"quantity must be 'signal' or 'weights', got {quantity!r}")
    panels = sorted({(r.batch_norm, r.init) for r in runs})
    depths = sorted({r.depth for r in runs})
    columns = min(2, len(panels))
    rows = (len(panels) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(5.5 * columns, 4 * rows), squeeze=False, sharex=True)
    for ax, (batch_norm, init) in zip(axes.flat, panels):
        for r in runs:
            if (r.batch_norm, r.init) != (batch_norm, init):
                continue
            norms = list(r.signal_norms if quantity == "signal" else r.weight_norms)
            last = norms[-1]
            if relative and quantity == "signal":
                norms = list(r.profile)
            elif relative:
                norms = [n / last if last > 0 else float("nan") for n in norms]
            ax.plot(
                range(len(norms)), norms, color=_DEPTH_COLOURS[depths.index(r.depth) % len(_DEPTH_COLOURS)],
                linestyle="--" if r.kind == "plain" else "-", label=f"{r.kind}-{r.depth}",
            )
        if relative and quantity == "signal":
            ax.axhline(1.0, color="black", linestyle=":", linewidth=1.2, label="identity twin")
        ax.set_yscale("log", nonpositive="mask")
        symbol = "||dL/dx||" if quantity == "signal" else "||dL/dW||"
        ylabel = f"{symbol} / last" if relative else symbol
        if relative and quantity == "signal":
            ylabel = "||dL/dx|| / last, / identity twin's"
        xlabel = "block index (0 = stem output)" if quantity == "signal" else "layer index (0 = stem conv)"
        ax.set(xlabel=xlabel, ylabel=ylabel,
               title=f"{'with' if batch_norm else 'without'} BN, {'He' if init == 'he' else 'default'} init")
        ax.legend(fontsize="x-small", ncol=2)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    what = "Backward signal" if quantity == "signal" else "Weight gradients"
    fig.suptitle(f"{what} at initialisation (plain dashed, residual solid)")
    fig.tight_layout()
    return fig


def plot_histories(histories: Mapping[str, Sequence], title: str = "Training error on the digits") -> Figure:
    """Training error (thin, dashed) and test error (bold) against epoch, one colour per network.

    The style of the paper's Figure 6 (He et al. 2015, section 4.2): "dashed lines
    denote training error, and bold lines denote testing error".

    Args:
        histories: network name -> the list of ``EpochRecord`` that ``train`` returned.
        title: the figure's title.
    """
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (name, history) in enumerate(histories.items()):
        colour = _DEPTH_COLOURS[i % len(_DEPTH_COLOURS)]
        epochs = [r.epoch for r in history]
        ax.plot(epochs, [100 * r.train_error for r in history], color=colour, linewidth=1, linestyle="--",
                label=f"{name} train")
        ax.plot(epochs, [100 * r.test_error for r in history], color=colour, linewidth=2.5, label=f"{name} test")
    ax.set(xlabel="epoch", ylabel="error (%)", title=title)
    ax.legend(fontsize="small", ncol=2)
    fig.tight_layout()
    return fig


def plot_lesion(records: Sequence, title: str = "Deleting one block at a time") -> Figure:
    """Test error after deleting each block, one line per network, its intact error dotted.

    Args:
        records: the :class:`~resnet_edu.experiments.lesion.LesionRecord` list of a lesion study
            (several networks may be mixed; they are told apart by ``network``).
        title: the figure's title.
    """
    fig, ax = plt.subplots(figsize=(7, 4))
    networks = list(dict.fromkeys(r.network for r in records))
    blocks = list(dict.fromkeys(r.block for r in records if r.block is not None))
    for i, network in enumerate(networks):
        colour = _DEPTH_COLOURS[i % len(_DEPTH_COLOURS)]
        mine = [r for r in records if r.network == network]
        intact = [r for r in mine if r.block is None]
        deleted = [r for r in mine if r.block is not None]
        ax.plot([blocks.index(r.block) for r in deleted], [100 * r.test_error for r in deleted],
                marker="o", color=colour, label=f"{network}: one block deleted")
        if intact:
            ax.axhline(100 * intact[0].test_error, color=colour, linestyle=":", label=f"{network}: intact")
    ax.set_xticks(range(len(blocks)), blocks, rotation=45, ha="right", fontsize="small")
    ax.set(xlabel="deleted block", ylabel="test error (%)", title=title)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


_KIND_COLOURS = {"plain": "tab:orange", "residual": "tab:blue"}


def plot_sweep_run(run: GradientRun, twin: GradientRun | None = None,
                   ylim: tuple[float, float] = (1e-30, 1e10)) -> Figure:
    """One sweep record's backward-signal profile; the other kind thin and grey; the identity twin at 1.

    The frames of chapter 5's explorer: the run's ``profile`` (``||dL/dx_l|| / ||dL/dx_L||``
    divided by the identity twin's) block by block, on a log scale, with the identity
    twin as a dotted line at exactly 1.

    Args:
        run: a :class:`~resnet_edu.experiments.gradient_sweep.GradientRun`.
        twin: the same setting with the other kind (plain or residual), drawn for comparison.
        ylim: the y-axis limits.
    """
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.axhline(1.0, color="black", linewidth=1, linestyle=":", label="identity twin (1)")
    styles = [(twin, {"color": "0.6", "linewidth": 1}),
              (run, {"color": _KIND_COLOURS[run.kind], "linewidth": 2.5})]
    for record, style in styles:
        if record is None:
            continue
        relative = record.profile
        label = f"{record.kind}-{record.depth} (ratio {record.ratio:.1e})"
        ax.plot(range(len(relative)), relative, label=label, **style)
    ax.set_yscale("log", nonpositive="mask")
    ax.set_ylim(*ylim)
    ax.set_xlim(0, max(55, len(run.signal_norms) - 1))
    bn = "on" if run.batch_norm else "off"
    init = "He" if run.init == "he" else "default"
    ax.set(xlabel="block l (0 = stem output, right = last block)",
           ylabel="||dL/dx_l|| / ||dL/dx_L||, / twin's",
           title=f"{run.kind}-{run.depth}, BN {bn}, {init} init; loss at init {run.loss:.2g}")
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig
