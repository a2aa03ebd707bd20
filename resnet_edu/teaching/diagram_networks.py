"""Whole networks and their stages, drawn from the modules and a shape trace.

:func:`draw_networks` draws networks side by side in the manner of He et al. 2015,
Figure 3 (VGG-19, a 34-layer plain network, ResNet-34): every convolution, pool and fc
layer in call order, with the resolution bands the shape trace finds (224, 112, 56, 28,
14, 7, 1 at 224x224 input) and each block's shortcut as an arc beside its layers (solid:
identity; dotted: projection; dashed: option A's zero padding). :func:`draw_stages` is
the compact picture: stem, stages with their block counts, widths and resolutions, head.
Shapes come from :func:`~resnet_edu.measuring.trace.trace_shapes`: build big networks on
the meta device (``with torch.device("meta"): model = resnet50()``) and they draw in
milliseconds. Taught in chapter 4.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch
from torch import nn

from resnet_edu.measuring.counting import count_weighted_layers
from resnet_edu.measuring.trace import trace_shapes
from resnet_edu.teaching.diagrams import ACCENT, BORDER, FILLS, TEXT, arrow, box, new_figure

_DRAWN = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.Linear)
_WIDTH_FILLS = ("#cfe0f5", "#d7ecd0", "#fbe3c0", "#e4dcf0", "#d0ece7", "#fff2b3")  # one per width
_OTHER_FILLS = {"pool": "#e8e8e8", "fc": FILLS["fc"]}
_PITCH, _BOX, _COLUMN, _LEFT = 0.25, 0.2, 1.8, 0.85  # inches: row pitch, box height, column width, band labels


@dataclass(frozen=True)
class LayerRow:
    """One drawn layer of a network.

    Attributes:
        path: the module's name in the model (``"layer2.0.conv1"``).
        label: what its box says (``"3x3 conv, 128"``, ``"max pool"``, ``"fc 1000"``).
        kind: ``"conv"``, ``"pool"`` or ``"fc"``.
        stride: the layer's stride (a red ``/2`` when 2).
        resolution: the side of its output (its last dimension; an fc layer takes its input's).
        block: the block it belongs to (``"layer2.0"``), ``None`` outside blocks.
    """

    path: str
    label: str
    kind: str
    stride: int
    resolution: int
    block: str | None


def network_rows(model: nn.Module, input_size: Sequence[int]) -> list[LayerRow]:
    """The convolutions, pools and fc layers of ``model`` in call order, shortcuts left out.

    Args:
        model: any network; blocks are found through ``model.named_blocks()`` if it has it.
        input_size: one example's shape, e.g. ``(3, 224, 224)``.
    """
    blocks = [name for name, _ in model.named_blocks()] if hasattr(model, "named_blocks") else []
    rows: list[LayerRow] = []
    for traced in trace_shapes(model, input_size, level="layers"):
        if traced.path == "(forward)" or "downsample" in traced.path.split("."):
            continue
        module = model.get_submodule(traced.path)
        if not isinstance(module, _DRAWN):
            continue
        shape = traced.output_shape
        resolution = shape[-1] if len(shape) == 3 else (rows[-1].resolution if rows else 1)
        block = next((b for b in blocks if traced.path.startswith(b + ".")), None)
        label, kind = _network_label(module)
        rows.append(LayerRow(traced.path, label, kind, _stride(module), resolution, block))
    return rows


def _network_label(module: nn.Module) -> tuple[str, str]:
    """The paper's way of naming a layer: kernel and output channels, pool kind, fc size."""
    if isinstance(module, nn.Conv2d):
        k = module.kernel_size[0]
        return f"{k}x{k} conv, {module.out_channels}", "conv"
    if isinstance(module, nn.Linear):
        return f"fc {module.out_features}", "fc"
    return ("max pool" if isinstance(module, nn.MaxPool2d) else "avg pool"), "pool"


def _stride(module: nn.Module) -> int:
    stride = getattr(module, "stride", 1) or 1
    return int(stride[0] if isinstance(stride, tuple) else stride)


def _bands(columns: list[list[LayerRow]]) -> list[tuple[int, int]]:
    """Each resolution met, largest first, with the most rows any column has there."""
    sizes = sorted({r.resolution for rows in columns for r in rows}, reverse=True)
    return [(s, max(sum(r.resolution == s for r in rows) for rows in columns)) for s in sizes]


def draw_networks(models: Mapping[str, nn.Module], input_size: Sequence[int] = (3, 224, 224)) -> Figure:
    """Networks side by side, one column each, in the manner of He et al. 2015, Figure 3.

    Each column lists its convolutions (kernel, output channels, a red ``/2`` where the
    stride halves the resolution), pools and fc layers in call order. Grey lines mark the
    resolution bands the shape trace finds, labelled on the left with the output size.
    A block's shortcut is an arc on the right of its layers: solid for the identity,
    dotted for a projection (option B or C), dashed for option A. Taught in chapter 4.

    Args:
        models: title -> network (e.g. VGG-19, plain-34, ResNet-34; build them on the meta
            device for speed).
        input_size: one example's shape, e.g. ``(3, 224, 224)``.
    """
    if not models:
        raise ValueError("draw_networks needs at least one model")
    columns = [network_rows(m, input_size) for m in models.values()]
    bands = _bands(columns)
    height = 1.5 + sum(n * _PITCH + 0.22 for _, n in bands)
    figure, ax = new_figure(_LEFT + _COLUMN * len(models), height)
    tops = _draw_band_lines(ax, bands, height - 0.75, _LEFT + _COLUMN * len(models))
    for i, (title, model) in enumerate(models.items()):
        x = _LEFT + _COLUMN * (i + 0.4)
        ax.text(x, height - 0.12, title, ha="center", va="top", fontsize=9.5, fontweight="bold", color=TEXT)
        ax.text(x, height - 0.42, f"image {'x'.join(map(str, input_size))}", ha="center", va="top", fontsize=8,
                color=TEXT)
        centres = _draw_rows(ax, columns[i], x, tops, _width_fills(columns[i]), prefix=f"{i}:")
        _draw_shortcut_arcs(ax, model, columns[i], centres, x + 0.68, prefix=f"{i}:")
    ax.text(0.12, 0.08, "shortcut arcs: solid = identity, dotted = 1x1 projection,\n"
            "dashed = zero padding (A); red /2 = stride 2", ha="left", va="bottom", fontsize=8, color=TEXT)
    return figure


def draw_network(model: nn.Module, input_size: Sequence[int] = (3, 224, 224), title: str | None = None) -> Figure:
    """One network, drawn from its modules and a shape trace (see :func:`draw_networks`).

    Args:
        model: the network; change it (more blocks, another shortcut) and the figure changes.
        input_size: one example's shape.
        title: the column's title (the class name if None).
    """
    return draw_networks({title or type(model).__name__: model}, input_size)


def _draw_band_lines(ax: Axes, bands: list[tuple[int, int]], top: float, right: float) -> dict[int, float]:
    """A grey line above each band, its output size on the left; returns each band's top."""
    tops = {}
    for size, rows in bands:
        ax.plot([0.1, right - 0.1], [top, top], color=BORDER, linewidth=0.6, linestyle="-")
        ax.text(0.1, top - 0.06, f"output\nsize {size}", ha="left", va="top", fontsize=8, color=TEXT)
        tops[size] = top - 0.11
        top -= rows * _PITCH + 0.22
    return tops


def _width_fills(rows: list[LayerRow]) -> dict[str, str]:
    """One fill per convolution label width, so each stage's layers share a colour."""
    widths = sorted({r.label.split(", ")[-1] for r in rows if r.kind == "conv"}, key=int)
    return {w: _WIDTH_FILLS[i % len(_WIDTH_FILLS)] for i, w in enumerate(widths)}


def _draw_rows(ax: Axes, rows: list[LayerRow], x: float, tops: dict[int, float], fills: dict[str, str],
               prefix: str) -> dict[str, float]:
    """Each layer's box in its band, top-aligned; returns each path's box centre height."""
    next_y, centres = dict(tops), {}
    for row in rows:
        y = next_y[row.resolution] - _BOX / 2
        fill = fills[row.label.split(", ")[-1]] if row.kind == "conv" else _OTHER_FILLS[row.kind]
        box(ax, x, y, 1.25, _BOX, row.label, fill, gid=f"{prefix}layer:{row.path}", size=8)
        if row.stride > 1:
            ax.text(x - 0.66, y, f"/{row.stride}", ha="right", va="center", fontsize=8, fontweight="bold",
                    color=ACCENT, gid=f"{prefix}stride:{row.path}", zorder=4)
        next_y[row.resolution] -= _PITCH
        centres[row.path] = y
    return centres


def _draw_shortcut_arcs(ax: Axes, model: nn.Module, rows: list[LayerRow], centres: dict[str, float], x: float,
                        prefix: str) -> None:
    """One arc per residual block, from above its first layer to below its last."""
    names = list(dict.fromkeys(r.block for r in rows if r.block))
    for name in names:
        block = model.get_submodule(name)
        if not getattr(block, "has_shortcut", hasattr(block, "downsample")):
            continue
        paths = [r.path for r in rows if r.block == name]
        top, bottom = centres[paths[0]] + _BOX / 2 + 0.02, centres[paths[-1]] - _BOX / 2 - 0.02
        style = _shortcut_style(getattr(block, "downsample", None))
        patch = FancyArrowPatch((x, top), (x, bottom), connectionstyle="arc3,rad=-0.35", arrowstyle="-|>",
                                mutation_scale=6, color=TEXT, linewidth=1.0, linestyle=style)
        patch.set_gid(f"{prefix}shortcut:{name}")
        ax.add_patch(patch)


def _shortcut_style(downsample: nn.Module | None) -> str:
    """Solid for the identity, dotted for a projection, dashed for zero padding (option A)."""
    if downsample is None:
        return "-"
    return ":" if any(isinstance(m, nn.Conv2d) for m in downsample.modules()) else "--"


# --- stages ---------------------------------------------------------------------------------


def draw_stages(model: nn.Module, input_size: Sequence[int] = (3, 224, 224), title: str | None = None) -> Figure:
    """The stage-level picture: stem, each stage (blocks, width, resolution), pool and fc.

    Read from ``model.stage_names``, the blocks in each stage, their ``out_channels`` and
    a shape trace: ``resnet50()`` gives Bottleneck x3/x4/x6/x3 at widths 256/512/1024/2048
    and 56/28/14/7 at 224 input; ``cifar_resnet(20)`` gives BasicBlock x3 three times at
    16/32/64 channels and 32/16/8. One box per part, top to bottom; a box's width follows
    the resolution of its output, so the picture narrows as the maps shrink. Taught in
    chapter 4.

    Args:
        model: a network with ``stage_names`` (the package's :class:`~resnet_edu.models.networks.ResNet`).
        input_size: one example's shape.
        title: the figure's title (the class name if None); the layer count is added.
    """
    if not hasattr(model, "stage_names"):
        raise TypeError(f"draw_stages needs a network with stage_names (a ResNet), got {type(model).__name__}")
    trace = {row.path: row.output_shape for row in trace_shapes(model, input_size, level="top")}
    parts = [_stem_part(model, trace)] + [_stage_part(model, name, trace) for name in model.stage_names]
    parts.append(("head", f"head: avg pool, fc {model.fc.out_features}\n1 layer", "#e8e8e8", 1))
    largest = max(p[3] for p in parts)
    counts = [count_weighted_layers(model.get_submodule(n)) for n in model.stage_names]
    stem = count_weighted_layers(model) - sum(counts) - 1
    depth = " + ".join(map(str, [stem, *counts, 1]))
    pitch, h, width = 0.74, 0.5, 6.5
    height = 0.85 + pitch * len(parts)
    figure, ax = new_figure(width, height)
    ax.text(width / 2, height - 0.1, f"{title or type(model).__name__}, input {'x'.join(map(str, input_size))}",
            ha="center", va="top", fontsize=10, fontweight="bold", color=TEXT)
    ax.text(width / 2, height - 0.36, f"{count_weighted_layers(model)} = {depth} weighted layers", ha="center",
            va="top", fontsize=9, color=TEXT)
    y = height - 0.85 - h / 2
    for i, (name, text, fill, resolution) in enumerate(parts):
        if i:
            arrow(ax, (width / 2, y + pitch - h / 2), (width / 2, y + h / 2))
        box(ax, width / 2, y, 3.0 + 3.2 * resolution / largest, h, text, fill, gid=f"stage:{name}", size=8.5)
        y -= pitch
    return figure


def _stem_part(model: nn.Module, trace: Mapping[str, tuple[int, ...]]) -> tuple[str, str, str, int]:
    """The stem's box: its convolution, its pool if any, and its output."""
    conv = model.conv1
    k, s = conv.kernel_size[0], _stride(conv)
    pool = "" if isinstance(getattr(model, "maxpool", None), (nn.Identity, type(None))) else ", max pool /2"
    shape = next(v for p, v in trace.items() if p.startswith("conv1"))
    text = f"stem: {k}x{k} conv{f' /{s}' if s > 1 else ''}{pool}\n{shape[0]} ch, {shape[1]}x{shape[2]}"
    return "stem", text, "#e8e8e8", shape[-1]


def _stage_part(model: nn.Module, name: str, trace: Mapping[str, tuple[int, ...]]) -> tuple[str, str, str, int]:
    """A stage's box: its blocks' kind and count, its width and its output resolution."""
    stage = model.get_submodule(name)
    blocks = list(stage)
    c, h, w = trace[name]
    layers = count_weighted_layers(stage)
    text = f"{name}: {type(blocks[0]).__name__} ×{len(blocks)} ({layers} layers)\n{blocks[-1].out_channels} ch, {h}x{w}"
    fill = _WIDTH_FILLS[model.stage_names.index(name) % len(_WIDTH_FILLS)]
    return name, text, fill, h
