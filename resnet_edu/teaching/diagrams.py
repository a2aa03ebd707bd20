"""Diagrams drawn from the models themselves: blocks, shortcuts, and how a figure is shown.

Every figure is read off a built module, so it cannot disagree with the code it shows:
a block's layers come from ``torch.fx`` (the order its ``forward`` calls them, and which
two tensors the add sums), each label from the layer's own attributes (kernel, channels,
stride), and what a shortcut does to channels and pixels from probing it with a tensor.
Shortcut options are in :mod:`~resnet_edu.teaching.diagram_shortcuts`, networks and
stages in :mod:`~resnet_edu.teaching.diagram_networks`, the conceptual figures in
:mod:`~resnet_edu.teaching.diagram_concepts`.

Figures are matplotlib ``Figure`` objects made without pyplot (a notebook shows only
what you display), drawn on an explicit white background with dark text and a grey
border, so they read the same on the book's light and dark themes. Show one with
:func:`show_diagram`: an SVG with alt text and a caption, byte-identical on every run.
Taught in chapters 2 and 3.
"""

from __future__ import annotations

import base64
import html
import io
import operator
from dataclasses import dataclass
from typing import Mapping

import matplotlib
import torch
import torch.fx
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch
from matplotlib.textpath import TextPath
from torch import nn

from resnet_edu.models.shortcuts import ZeroPadShortcut

BACKGROUND = "#ffffff"
TEXT = "#1b1b1b"
BORDER = "#8c8c8c"
ACCENT = "#b3261e"  # the stride label, the thing to look at
FILLS = {"conv": "#cfe0f5", "norm": "#fbe3c0", "relu": "#d7ecd0", "pool": "#e4dcf0", "fc": "#f6d0d0",
         "pad": "#eeeeee", "other": "#f2f2f2"}
# The book's text column is about 620 CSS pixels wide (sphinx-book-theme at a 1280-pixel window), and
# an SVG's inch is 96 CSS pixels: a figure up to COLUMN_WIDTH inches wide shows at its own size, and
# MIN_FONT_SIZE points is then 8 * 4/3 = 10.7 pixels. Wider figures are scaled down with their text,
# so every figure keeps to the column (tests/test_diagrams.py checks each one at the column width).
COLUMN_WIDTH = 6.5  # inches
MIN_FONT_SIZE = 8.0  # points
_MARGIN = 0.08  # inches left and right of a row of blocks
_CARD = f"margin: 1em auto; padding: 0.5em; text-align: center; background: {BACKGROUND}; color: {TEXT}; border-radius: 4px"
_SVG_SETTINGS = {"svg.hashsalt": "resnet-edu", "svg.fonttype": "path", "font.family": "DejaVu Sans"}


# --- figures, boxes and arrows --------------------------------------------------------


def new_figure(width: float, height: float) -> tuple[Figure, Axes]:
    """A figure ``width`` x ``height`` inches with one borderless axes in inch coordinates."""
    figure = Figure(figsize=(width, height), facecolor=BACKGROUND, edgecolor=BORDER, linewidth=1.5)
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set(xlim=(0, width), ylim=(0, height))
    ax.set_axis_off()
    ax.set_facecolor(BACKGROUND)
    return figure, ax


def box(ax: Axes, x: float, y: float, w: float, h: float, text: str, kind: str = "other",
        gid: str | None = None, size: float = 8.5) -> None:
    """A rounded box centred on (x, y) with ``text`` in it; ``kind`` picks the fill (or is a colour)."""
    patch = FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.05",
                           facecolor=FILLS.get(kind, kind), edgecolor="#4a4a4a", linewidth=0.8)
    patch.set_gid(gid)
    patch.set_zorder(3)  # above the shortcut lines that run through it
    ax.add_patch(patch)
    ax.text(x, y, text, ha="center", va="center", fontsize=size, color=TEXT, zorder=4)


def arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], style: str = "-") -> None:
    """An arrow from ``start`` to ``end`` (``style``: ``"-"`` solid, ``":"`` dotted, ``"--"`` dashed)."""
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=9, color=TEXT,
                                 linewidth=1.0, linestyle=style, shrinkA=0, shrinkB=0))


def line(ax: Axes, xs: list[float], ys: list[float], style: str = "-", gid: str | None = None) -> None:
    """A polyline in the text colour."""
    ax.plot(xs, ys, color=TEXT, linewidth=1.0, linestyle=style, solid_capstyle="butt", gid=gid)


# --- showing a figure: SVG, alt text, caption -------------------------------------------


def figure_to_svg(figure: Figure) -> bytes:
    """The figure as SVG bytes, identical on every run (fixed hash salt, no date, no version)."""
    buffer = io.BytesIO()
    with matplotlib.rc_context(_SVG_SETTINGS):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


class Diagram:
    """A figure ready for a page: an SVG image with alt text, inside ``<figure>`` with a caption.

    Shows in a notebook (and in the built book: myst-nb keeps ``text/html`` outputs) as
    ``<figure><img alt=... src="data:image/svg+xml;base64,..."><figcaption>``. Its text
    form is ``<Diagram: alt text>``, so nbval compares stable strings.

    Attributes:
        svg: the SVG bytes. alt: the alt text. caption: what to look at.
    """

    def __init__(self, svg: bytes, alt: str, caption: str) -> None:
        self.svg, self.alt, self.caption = svg, alt, caption

    def __repr__(self) -> str:
        return f"<Diagram: {self.alt}>"

    def _repr_html_(self) -> str:
        data = base64.b64encode(self.svg).decode("ascii")
        return (
            # A white card with dark text, the figure's own colours: readable on light and dark
            # pages alike (the theme would grey the caption, and lighten the output area in dark
            # mode); "dark-light" tells the theme the image needs no dimming in dark mode.
            f'<figure class="resnet-edu-diagram" style="{_CARD}">'
            f'<img class="dark-light" src="data:image/svg+xml;base64,{data}" alt="{html.escape(self.alt)}"'
            ' style="max-width: 100%; height: auto">'
            f'<figcaption style="color: {TEXT}; font-weight: normal">{html.escape(self.caption)}</figcaption></figure>'
        )


def show_diagram(figure: Figure, alt: str, caption: str) -> Diagram:
    """Display ``figure`` as an SVG with alt text and a caption (end a notebook cell with it).

    Args:
        figure: what a ``draw_*`` function returned (any matplotlib Figure works).
        alt: the alt text, for readers who cannot see the image: what it shows.
        caption: the caption under it: what to look at.

    Raises:
        ValueError: if ``alt`` or ``caption`` is empty.
    """
    for name, value in (("alt", alt), ("caption", caption)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"show_diagram needs a non-empty {name} text: every figure of the book has one")
    svg = figure_to_svg(figure)
    matplotlib.pyplot.close(figure)  # a pyplot figure would otherwise show a second time
    return Diagram(svg, alt.strip(), caption.strip())


# --- blocks: read with torch.fx ---------------------------------------------------------


@dataclass(frozen=True)
class BlockParts:
    """A block's layers in call order, split at the add.

    Attributes:
        branch: module paths of the residual branch F (the whole block if there is no add).
        shortcut: module paths of the shortcut (``()`` for the identity), ``None`` if the
            block has no add at all (a plain block).
        after_add: module paths called after the add (the post-activation ReLU).
    """

    branch: tuple[str, ...]
    shortcut: tuple[str, ...] | None
    after_add: tuple[str, ...]


class _Tracer(torch.fx.Tracer):
    """torch.fx's tracer, with option A's shortcut kept as one module."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return isinstance(m, ZeroPadShortcut) or super().is_leaf_module(m, module_qualified_name)


def block_parts(block: nn.Module) -> BlockParts:
    """Trace ``block`` with torch.fx and split its layers into branch, shortcut and after the add."""
    nodes = list(_Tracer().trace(block).nodes)
    adds = [n for n in nodes if n.op == "call_function" and n.target in (operator.add, operator.iadd, torch.add)]
    if not adds:
        return BlockParts(tuple(n.target for n in nodes if n.op == "call_module"), None, ())
    add = adds[-1]
    chains = sorted((_chain(a) for a in add.args[:2]), key=len)
    after = tuple(n.target for n in nodes[nodes.index(add):] if n.op == "call_module")
    return BlockParts(tuple(chains[1]), tuple(chains[0]), after)


def _chain(node: torch.fx.Node) -> list[str]:
    """The modules between the block's input and ``node``, input first."""
    targets = []
    while node.op != "placeholder":
        if node.op == "call_module":
            targets.append(str(node.target))
        node = next(a for a in node.args if isinstance(a, torch.fx.Node))
    return targets[::-1]


def layer_label(module: nn.Module) -> tuple[str, str]:
    """What a layer box says, from the module's attributes, and the box's kind (its fill)."""
    if isinstance(module, nn.Conv2d):
        k = module.kernel_size[0]
        groups = f"\n{module.groups} groups" if module.groups > 1 else ""
        return f"{k}x{k} conv, {module.in_channels}→{module.out_channels}{groups}", "conv"
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return "BN", "norm"
    if isinstance(module, nn.ReLU):
        return "ReLU", "relu"
    if isinstance(module, ZeroPadShortcut):
        return f"zero-pad\n{module.in_channels}→{module.out_channels}", "pad"
    if isinstance(module, (nn.AvgPool2d, nn.MaxPool2d)):
        k = module.kernel_size if isinstance(module.kernel_size, int) else module.kernel_size[0]
        return f"{k}x{k} {'avg' if isinstance(module, nn.AvgPool2d) else 'max'} pool", "pool"
    return type(module).__name__, "other"


def _stride(module: nn.Module) -> int:
    stride = getattr(module, "stride", 1)
    return int(stride[0] if isinstance(stride, tuple) else stride)


def _height(module: nn.Module) -> float:
    """A box's height: thin for BN and ReLU, taller for a layer with weights, more per text line."""
    if isinstance(module, (nn.ReLU, nn.modules.batchnorm._BatchNorm)):
        return 0.26
    return 0.4 + 0.16 * layer_label(module)[0].count("\n")


# Inches: a branch box's width, the gap between boxes, a shortcut box's width, the room a red
# stride label takes beside a box, the gap between two blocks side by side.
_WIDTH, _GAP, _SHORTCUT_WIDTH, _STRIDE_ROOM, _BETWEEN = 1.45, 0.16, 0.9, 0.24, 0.35


def _shortcut_modules(block: nn.Module, parts: BlockParts) -> list[str]:
    return [p for p in parts.shortcut or () if not isinstance(block.get_submodule(p), nn.Identity)]


def _side(block: nn.Module, parts: BlockParts) -> float:
    """How far right of the branch's centre the shortcut runs: further when it has boxes on it."""
    return _WIDTH / 2 + (_SHORTCUT_WIDTH / 2 + 0.15 if _shortcut_modules(block, parts) else 0.35)


def _extent(block: nn.Module) -> tuple[float, float]:
    """How far the drawn block reaches left and right of its branch's centre line (inches)."""
    parts = block_parts(block)
    strided = lambda paths: any(_stride(block.get_submodule(p)) > 1 for p in paths)  # noqa: E731
    left = _WIDTH / 2 + (_STRIDE_ROOM if strided(parts.branch + parts.after_add) else 0.02)
    if parts.shortcut is None:
        return left, _WIDTH / 2 + 0.02
    modules = _shortcut_modules(block, parts)
    if modules:
        return left, _side(block, parts) + _SHORTCUT_WIDTH / 2 + (_STRIDE_ROOM if strided(modules) else 0.02)
    return left, _side(block, parts) + 0.02  # the identity line


def _draw_block_at(ax: Axes, block: nn.Module, x: float, top: float, title: str, prefix: str) -> None:
    """One block: branch down the middle, shortcut on the right, the add, what follows it."""
    parts = block_parts(block)
    left, right = _extent(block)
    ax.text(x + (right - left) / 2, top, title, ha="center", va="top", fontsize=10, fontweight="bold", color=TEXT)
    y = top - 0.45
    in_channels = _branch_channels(block, parts.branch, "in")
    ax.text(x, y, f"x  ({in_channels} channels)", ha="center", va="bottom", fontsize=8.5, color=TEXT)
    split = y - 0.12
    y = _draw_column(ax, block, parts.branch, x, split, prefix)
    if parts.shortcut is not None:
        y = _draw_add(ax, block, parts, x, split, y, prefix)
    y = _draw_column(ax, block, parts.after_add, x, y, prefix)
    arrow(ax, (x, y), (x, y - 0.3))
    out = getattr(block, "out_channels", None) or _branch_channels(block, parts.branch, "out")  # seed code has none
    ax.text(x, y - 0.34, f"out  ({out} channels)", ha="center", va="top", fontsize=8.5, color=TEXT)


def _branch_channels(block: nn.Module, branch: tuple[str, ...], end: str) -> int | str:
    """The width the branch starts with (``end="in"``) or ends with (``"out"``), read off its first
    or last conv or norm layer ("?" if it has none)."""
    for path in branch if end == "in" else reversed(branch):
        module = block.get_submodule(path)
        if isinstance(module, nn.Conv2d):
            return module.in_channels if end == "in" else module.out_channels
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            return module.num_features
    return "?"


def _stride_label(ax: Axes, x: float, y: float, stride: int, gid: str, ha: str) -> None:
    """The red ``/2`` beside a box: the thing to look at in a downsampling block."""
    ax.text(x, y, f"/{stride}", ha=ha, va="center", fontsize=9.5, fontweight="bold", color=ACCENT, gid=gid,
            zorder=4)


def _draw_column(ax: Axes, block: nn.Module, paths: tuple[str, ...], x: float, y: float, prefix: str) -> float:
    """Boxes one under the other from ``y`` down, each joined by an arrow; returns the bottom."""
    for path in paths:
        module = block.get_submodule(path)
        if isinstance(module, nn.Identity):
            continue  # norm_layer=nn.Identity: nothing happens there
        h = _height(module)
        arrow(ax, (x, y), (x, y - _GAP))
        text, kind = layer_label(module)
        box(ax, x, y - _GAP - h / 2, _WIDTH, h, text, kind, gid=f"{prefix}layer:{path}")
        if _stride(module) > 1:
            _stride_label(ax, x - _WIDTH / 2 - 0.06, y - _GAP - h / 2, _stride(module), f"{prefix}stride:{path}",
                          ha="right")
        y -= _GAP + h
    return y


def _draw_add(ax: Axes, block: nn.Module, parts: BlockParts, x: float, split: float, y: float, prefix: str) -> float:
    """The shortcut to the right of the branch, and the circle where it meets F(x)."""
    side, radius = x + _side(block, parts), 0.14
    centre = y - _GAP - radius
    arrow(ax, (x, y), (x, centre + radius))
    ax.add_patch(Circle((x, centre), radius, facecolor=BACKGROUND, edgecolor=TEXT, linewidth=1.0))
    ax.text(x, centre, "+", ha="center", va="center", fontsize=11, color=TEXT)
    modules = _shortcut_modules(block, parts)
    style = "-" if not modules else (":" if any(isinstance(block.get_submodule(p), nn.Conv2d) for p in modules) else "--")
    line(ax, [x, side], [split, split], style)
    line(ax, [side, side], [split, centre], style, gid=f"{prefix}shortcut-line")
    arrow(ax, (side, centre), (x + radius, centre), style)
    label = "identity" if not modules else ("projection" if style == ":" else "option A")
    ax.text(side - 0.05, split + 0.04, label, ha="right", va="bottom", fontsize=8, style="italic", color=TEXT)
    heights = [0.44 if kind == "norm" else 0.5 for kind in (layer_label(block.get_submodule(p))[1] for p in modules)]
    middle = (split + centre) / 2 + (sum(heights) - heights[-1]) / 2 if modules else 0.0
    for path, h in zip(modules, heights):
        module = block.get_submodule(path)
        text, kind = layer_label(module)
        box(ax, side, middle, _SHORTCUT_WIDTH, h - 0.1, text.replace(", ", "\n", 1) if kind == "conv" else text,
            kind, gid=f"{prefix}shortcut:{path}", size=8)
        if _stride(module) > 1:
            _stride_label(ax, side + _SHORTCUT_WIDTH / 2 + 0.06, middle, _stride(module), f"{prefix}stride:{path}",
                          ha="left")
        middle -= h
    return centre - radius


def _block_height(block: nn.Module) -> float:
    parts = block_parts(block)
    paths = parts.branch + parts.after_add
    height = sum(_GAP + _height(block.get_submodule(p)) for p in paths
                 if not isinstance(block.get_submodule(p), nn.Identity))
    return height + (0.44 if parts.shortcut is not None else 0) + 1.5


def _text_width(text: str, size: float, weight: str = "normal") -> float:
    """The width in inches of ``text`` set in the figures' font at ``size`` points."""
    with matplotlib.rc_context(_SVG_SETTINGS):
        path = TextPath((0, 0), text, size=size, prop=FontProperties(family="DejaVu Sans", weight=weight))
    return path.get_extents().width / 72


def _rows(widths: list[float], limit: float) -> list[list[int]]:
    """Split blocks, left to right, into rows no wider than ``limit`` (each row holds one at least)."""
    rows: list[list[int]] = [[]]
    used = 0.0
    for i, width in enumerate(widths):
        if rows[-1] and used + _BETWEEN + width > limit:
            rows.append([])
            used = 0.0
        used += width + (_BETWEEN if len(rows[-1]) else 0)
        rows[-1].append(i)
    return rows


def draw_blocks(blocks: Mapping[str, nn.Module]) -> Figure:
    """Blocks side by side, one per title: e.g. plain vs basic vs bottleneck, or V1 vs V1.5.

    Each shows its layers in call order (kernel, in -> out channels, a red ``/2`` where
    the stride sits, BN, ReLU), the shortcut on the right (solid: identity; dotted:
    a 1x1 projection; dashed: option A's zero padding) and the add. The gaps between
    blocks are equal, and blocks that would make the figure wider than the book's text
    column (:data:`COLUMN_WIDTH`) go on to a new row, so the text stays legible on the
    page. Taught in chapters 2 and 3.

    Args:
        blocks: title -> a block (PlainBlock, BasicBlock, Bottleneck, PreActBlock or any
            module that torch.fx traces, with an add for its shortcut).
    """
    if not blocks:
        raise ValueError("draw_blocks needs at least one block")
    items = list(blocks.items())
    extents = [_extent(b) for _, b in items]
    # Each block's slot: the block, or its title where that is wider; the block centred in it.
    widths = [max(left + right, _text_width(title, 10, "bold") + 0.1) for (left, right), (title, _) in zip(extents, items)]
    offsets = [(w - left - right) / 2 + left for w, (left, right) in zip(widths, extents)]
    rows = _rows(widths, COLUMN_WIDTH - 2 * _MARGIN)
    heights = [max(_block_height(items[i][1]) for i in row) for row in rows]
    width = max(sum(widths[i] for i in row) + _BETWEEN * (len(row) - 1) for row in rows) + 2 * _MARGIN
    figure, ax = new_figure(width, sum(heights))
    top = sum(heights)
    for row, height in zip(rows, heights):
        used = sum(widths[i] for i in row) + _BETWEEN * (len(row) - 1)
        x = (width - used) / 2  # each row centred
        for i in row:
            title, block = items[i]
            _draw_block_at(ax, block, x + offsets[i], top - 0.12, title, prefix=f"{i}:")
            x += widths[i] + _BETWEEN
        top -= height
    return figure


def draw_block(block: nn.Module, title: str | None = None) -> Figure:
    """One block, drawn from its modules (see :func:`draw_blocks`). Taught in chapters 2 and 3.

    Args:
        block: the block, e.g. ``Bottleneck(256, 64)`` (labels 256→64, 64→64, 64→256).
        title: the title above it (the class name if None).
    """
    return draw_blocks({title or type(block).__name__: block})
