"""The conceptual figures: nested function classes, and a ResNet as an ensemble of paths.

- :func:`draw_function_classes`: why layers that can represent the identity can only
  help (Zhang et al., Dive into Deep Learning, section 8.6.1, Figure 8.6.1): in nested
  classes F1 ⊂ F2 ⊂ ... the best approximation of f* can only get closer; in non-nested
  ones a bigger class can move away. The distances are computed, not drawn by hand.
- :func:`draw_unrolled`: n residual blocks unroll into 2^n paths (Veit et al. 2016,
  "Residual Networks Behave Like Ensembles of Relatively Shallow Networks", Figure 1).
- :func:`draw_path_lengths`: how many of those paths pass through k blocks, C(n, k),
  computed with ``math.comb`` (Veit et al. 2016, Figure 6(a)).

Taught in chapters 2 and 7.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse, FancyArrowPatch
from torch import nn

from resnet_edu.teaching.diagrams import ACCENT, BACKGROUND, BORDER, TEXT, arrow, box, new_figure

# Circles (centre x, centre y, radius) in the plane of functions; f* sits at _TARGET.
# Nested: each centre moves less than the radius grows, so each circle holds the last.
_NESTED = [(1.15 + 0.25 * i, 1.3 + 0.08 * i, 0.35 + 0.28 * i) for i in range(4)]
_NOT_NESTED = [(2.45, 1.7, 0.4), (1.5, 2.35, 0.55), (1.0, 1.2, 0.75), (2.1, 0.85, 0.85)]
_TARGET = (3.25, 2.45)
_CLASS_COLOURS = ("#1f5f99", "#2e7d32", "#9a5b00", "#6a3d9a")  # each 5:1 or more on white


def closest_points(circles: list[tuple[float, float, float]], target: tuple[float, float]) -> list[tuple[float, float, float]]:
    """For each class (a disc), the point nearest ``target`` and its distance (0 inside)."""
    result = []
    for cx, cy, r in circles:
        dx, dy = target[0] - cx, target[1] - cy
        gap = math.hypot(dx, dy)
        if gap <= r:
            result.append((target[0], target[1], 0.0))
        else:
            result.append((cx + r * dx / gap, cy + r * dy / gap, gap - r))
    return result


def draw_function_classes() -> Figure:
    """Non-nested (left) and nested (right) function classes, with f* outside all of them.

    Each class Fi is a disc; the dot on its edge is its best approximation of f*, joined
    to f* by a dashed line labelled with the distance. On the left, a bigger class can
    land further from f*; on the right, where each class holds the last (a new block
    that can be the identity keeps every function the smaller network had), the
    distance can only shrink. D2L section 8.6.1. Taught in chapter 2.
    """
    figure = Figure(figsize=(6.5, 4.1), facecolor=BACKGROUND, edgecolor=BORDER, linewidth=1.5)
    for k, (title, circles) in enumerate((("not nested:\nbigger can be worse", _NOT_NESTED),
                                          ("nested, F1 ⊂ F2 ⊂ F3 ⊂ F4:\nbigger is never worse", _NESTED))):
        ax = figure.add_axes((0.01 + 0.5 * k, 0.25, 0.48, 0.6))
        _draw_classes(ax, circles)
        ax.set_title(title, fontsize=10, color=TEXT)
        distances = [d for _, _, d in closest_points(circles, _TARGET)]
        for i, d in enumerate(distances):
            figure.text(0.06 + 0.5 * k + 0.22 * (i % 2), 0.2 - 0.075 * (i // 2), f"F{i + 1}: distance {d:.2f}",
                        ha="left", va="top", fontsize=8.5, color=_CLASS_COLOURS[i % len(_CLASS_COLOURS)])
    return figure


def _draw_classes(ax: Axes, circles: list[tuple[float, float, float]]) -> None:
    ax.set(xlim=(0.1, 3.7), ylim=(-0.05, 3.1), aspect="equal")
    ax.set_axis_off()
    for i, ((cx, cy, r), (px, py, d)) in enumerate(zip(circles, closest_points(circles, _TARGET))):
        colour = _CLASS_COLOURS[i % len(_CLASS_COLOURS)]
        ax.add_patch(Ellipse((cx, cy), 2 * r, 2 * r, fill=False, edgecolor=colour, linewidth=1.6))
        ax.text(cx, cy - r + 0.06, f"F{i + 1}", ha="center", va="bottom", fontsize=9, color=colour)
        ax.plot([px, _TARGET[0]], [py, _TARGET[1]], color=colour, linewidth=0.9, linestyle="--")
        ax.plot([px], [py], marker="o", markersize=4, color=colour)
    ax.plot([_TARGET[0]], [_TARGET[1]], marker="*", markersize=13, color=ACCENT)
    ax.text(_TARGET[0] + 0.1, _TARGET[1] + 0.05, "f*", fontsize=12, color=ACCENT, ha="left", va="bottom")


# --- the unrolled view: 2^n paths ------------------------------------------------------------


def draw_unrolled(num_blocks: int = 3) -> Figure:
    """A stack of residual blocks (top) and the 2^n paths it unrolls into (below).

    ``x_{i+1} = x_i + f_i(x_i)``: each block is either passed through or skipped, so
    ``num_blocks`` blocks give 2^n paths from input to output, one row each below,
    sorted by how many blocks they pass through. Veit et al. 2016, Figure 1. Taught in chapter 7.

    Args:
        num_blocks: blocks in the stack (2 to 5 draw legibly).
    """
    if not isinstance(num_blocks, int) or not 1 <= num_blocks <= 6:
        raise ValueError(f"num_blocks must be an int from 1 to 6 (2^n rows are drawn), got {num_blocks!r}")
    paths = sorted(itertools.product((0, 1), repeat=num_blocks), key=lambda p: (sum(p), p[::-1]))
    height = 2.2 + 0.34 * len(paths)
    pitch = _pitch(num_blocks)
    figure, ax = new_figure(max(1.6 + pitch * num_blocks, 4.6), height)
    _draw_stack(ax, num_blocks, height - 0.85)
    ax.text(0.2, height - 1.55, f"unrolled: 2^{num_blocks} = {len(paths)} paths", ha="left", va="top",
            fontsize=10, fontweight="bold", color=TEXT)
    ax.text(0.3, height - 1.85, "length", ha="center", va="center", fontsize=8, color=TEXT)
    for row, path in enumerate(paths):
        _draw_path(ax, path, height - 2.15 - 0.34 * row, gid=f"path:{''.join(map(str, path))}")
    return figure


def _pitch(n: int) -> float:
    """Inches from one block to the next: narrower for long stacks, so the figure fits the column."""
    return min(1.3, 4.9 / n)


def _draw_stack(ax: Axes, n: int, y: float) -> None:
    """in → f1 → (+) → f2 → (+) ... → out, with a skip arc over each block."""
    ax.text(0.2, y + 0.6, f"{n} residual blocks, each " + r"$x_{i+1} = x_i + f_{i+1}(x_i)$", ha="left", va="center",
            fontsize=10, fontweight="bold", color=TEXT)
    ax.text(0.45, y, "in", ha="center", va="center", fontsize=9, color=TEXT)
    pitch = _pitch(n)
    half = min(0.3, 0.23 * pitch)  # half a block box
    for i in range(n):
        x = 1.3 + pitch * i
        arrow(ax, (0.65 if i == 0 else x - pitch / 2 + 0.1, y), (x - half, y))
        box(ax, x, y, 2 * half, 0.3, f"f{i + 1}", "conv", gid=f"stack:f{i + 1}")
        ax.add_patch(FancyArrowPatch((x - pitch / 2 + 0.1, y + 0.02), (x + pitch / 2 - 0.1, y + 0.02),
                                     connectionstyle="arc3,rad=-0.5", arrowstyle="-|>", mutation_scale=7, color=TEXT,
                                     linewidth=0.9))
        arrow(ax, (x + half, y), (x + pitch / 2 - 0.1, y))
        ax.text(x + pitch / 2, y, "+", ha="center", va="center", fontsize=11, color=TEXT)
    ax.text(1.3 + pitch * (n - 1) + pitch / 2 + 0.15, y, "out", ha="left", va="center", fontsize=9, color=TEXT)


def _draw_path(ax: Axes, path: tuple[int, ...], y: float, gid: str) -> None:
    """One path: a line from in to out, a box for each block it passes through."""
    pitch = _pitch(len(path))
    right = 1.3 + pitch * (len(path) - 1) + 0.7
    ax.plot([0.6, right], [y, y], color=TEXT, linewidth=0.8, gid=gid)
    ax.text(0.3, y, f"{sum(path)}", ha="center", va="center", fontsize=8.5, color=TEXT)
    for i, used in enumerate(path):
        x = 1.3 + pitch * i
        if used:
            box(ax, x, y, 2 * min(0.3, 0.23 * pitch), 0.22, f"f{i + 1}", "conv", size=8)
        else:
            ax.plot([x], [y], marker="o", markersize=2.5, color=BORDER)


# --- path lengths -------------------------------------------------------------------------------


def path_length_counts(num_blocks: int) -> list[int]:
    """How many of the 2^n paths pass through exactly k blocks, for k = 0..n: C(n, k)."""
    return [math.comb(num_blocks, k) for k in range(num_blocks + 1)]


def path_length_interval(num_blocks: int, share: float = 0.95) -> tuple[int, int]:
    """The narrowest range of lengths around n/2 that holds at least ``share`` of the paths."""
    counts, total = path_length_counts(num_blocks), 2**num_blocks
    low, high = num_blocks // 2, (num_blocks + 1) // 2
    while sum(counts[low:high + 1]) < share * total:
        low, high = max(low - 1, 0), min(high + 1, num_blocks)
    return low, high


def residual_block_count(model: nn.Module) -> int:
    """The blocks of ``model`` with a shortcut (54 for ``resnet110()``)."""
    blocks = model.named_blocks() if hasattr(model, "named_blocks") else []
    return sum(bool(getattr(block, "has_shortcut", False)) for _, block in blocks)


def draw_path_lengths(blocks: int | nn.Module = 54, share: float = 0.95) -> Figure:
    """The distribution of path lengths in a network of ``n`` residual blocks: C(n, k) / 2^n.

    The shaded bars are the narrowest range around n/2 holding ``share`` of the paths:
    for ResNet-110's 54 blocks, almost all paths are far shorter than the network is
    deep. Veit et al. 2016, Figure 6(a). Taught in chapter 7.

    Args:
        blocks: the number of residual blocks, or a network (its blocks with a shortcut
            are counted: ``resnet110()`` gives 54).
        share: the share of paths the shaded range holds.
    """
    n = blocks if isinstance(blocks, int) else residual_block_count(blocks)
    if n < 1:
        raise ValueError(f"need at least one residual block, got {n}")
    low, high = path_length_interval(n, share)
    counts = np.array(path_length_counts(n), dtype=float) / 2**n
    figure = Figure(figsize=(6.4, 3.6), facecolor=BACKGROUND, edgecolor=BORDER, linewidth=1.5)
    ax = figure.add_axes((0.11, 0.15, 0.85, 0.7))
    colours = ["#7fa7d9" if low <= k <= high else "#dddddd" for k in range(n + 1)]
    ax.bar(range(n + 1), counts, color=colours, edgecolor="#1f5f99", linewidth=0.6)
    kept = sum(path_length_counts(n)[low:high + 1]) / 2**n
    ax.set_title(f"{n} residual blocks: 2^{n} paths;\n{100 * kept:.1f}% pass through {low} to {high} blocks",
                 fontsize=10, color=TEXT)
    ax.set_xlabel("path length (blocks passed through)", fontsize=9, color=TEXT)
    ax.set_ylabel("share of paths", fontsize=9, color=TEXT)
    ax.tick_params(colors=TEXT, labelsize=8.5)
    ax.set_facecolor(BACKGROUND)
    return figure
