"""Shortcut options A, B and C, drawn from what their modules do to a probe tensor.

He et al. 2015, section 3.3: where a block changes shape, option A subsamples and pads
zero channels (no parameters), B projects with a 1x1 convolution only there, C projects
on every shortcut. :func:`probe_shortcut` builds the module with
:func:`~resnet_edu.models.shortcuts.make_shortcut` and finds, from gradients of its
output, which input channels feed each output channel and which pixels it reads, so the
figure shows where the zeros go as the module puts them, not as a drawing assumes.
Taught in chapter 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import nn

from resnet_edu.core.running import model_run
from resnet_edu.models.shortcuts import SHORTCUT_OPTIONS, ZeroPadShortcut, make_shortcut
from resnet_edu.teaching.diagrams import BACKGROUND, BORDER, TEXT


@dataclass(frozen=True)
class ShortcutProbe:
    """What one shortcut module does, found by running it.

    Attributes:
        option: ``"A"``, ``"B"`` or ``"C"``.
        channel_map: (out, in) booleans: output channel o depends on input channel i.
        pixels_read: (H, W) booleans: the input pixels some output depends on.
        out_size: the output's (H, W).
        parameters: the module's parameters (0 for the identity and for option A).
        module: the module (None for the identity).
    """

    option: str
    channel_map: torch.Tensor
    pixels_read: torch.Tensor
    out_size: tuple[int, int]
    parameters: int
    module: nn.Module | None


def probe_shortcut(option: str, in_channels: int, out_channels: int, stride: int, size: int = 8) -> ShortcutProbe:
    """Build ``make_shortcut(option, ...)`` and find what it does by feeding it one-hot inputs.

    Input channel i feeds output channel o where an input that is 1 on channel i alone
    gives a nonzero output on channel o; pixel p is read where an input that is 1 at p
    alone gives a nonzero output. One batched forward pass each, in eval mode.
    """
    with torch.device("cpu"):  # real numbers, even inside a `with torch.device("meta")` block
        module = make_shortcut(option, in_channels, out_channels, stride)
        if module is None:
            eye = torch.eye(in_channels, dtype=torch.bool)
            return ShortcutProbe(option, eye, torch.ones(size, size, dtype=torch.bool), (size, size), 0, None)
        channels = torch.eye(in_channels)[:, :, None, None].expand(-1, -1, size, size)  # (C_in, C_in, H, W)
        pixels = torch.eye(size * size).reshape(size * size, 1, size, size).expand(-1, in_channels, -1, -1)
    with model_run(module):
        by_channel = module(channels)  # (C_in, C_out, H/s, W/s): row i answers "what does channel i feed?"
        by_pixel = module(pixels)  # (H*W, C_out, H/s, W/s)
    channel_map = by_channel.abs().sum(dim=(2, 3)).T != 0  # (C_out, C_in)
    pixels_read = (by_pixel.abs().sum(dim=(1, 2, 3)) != 0).reshape(size, size)
    parameters = sum(p.numel() for p in module.parameters())
    return ShortcutProbe(option, channel_map, pixels_read, tuple(by_channel.shape[2:]), parameters, module)


def draw_shortcut_options(in_channels: int = 16, out_channels: int = 32, stride: int = 2, size: int = 8) -> Figure:
    """Options A, B and C side by side, where the shape changes and where it does not.

    One column per option. At the top, for the transition (e.g. 16→32 channels, stride
    2), which input channels feed each output channel (option A: a shifted diagonal
    between all-zero channels, placed where the module puts them; B and C: every channel
    mixes into every one); under it, which input pixels are read (every other one, in all
    three); at the bottom, in words, what the option is there and where the shape does
    not change (A and B: the identity; C: a projection). Everything is probed from
    :func:`~resnet_edu.models.shortcuts.make_shortcut`'s modules. The figure fits the
    book's text column. Taught in chapter 2.

    Args:
        in_channels, out_channels, stride: the transition to show.
        size: the side of the probed input (pixels drawn).
    """
    width, height, column = 6.5, 6.6, 6.5 / len(SHORTCUT_OPTIONS)
    figure = Figure(figsize=(width, height), facecolor=BACKGROUND, edgecolor=BORDER, linewidth=1.5)
    figure.text(0.5, 1 - 0.1 / height, f"Shortcut options where the shape changes:\n{in_channels}→{out_channels} "
                f"channels, stride {stride}", ha="center", va="top", fontsize=10.5, fontweight="bold", color=TEXT)

    def inches(left: float, bottom: float, w: float, h: float) -> tuple[float, float, float, float]:
        return left / width, bottom / height, w / width, h / height

    for k, option in enumerate(SHORTCUT_OPTIONS):
        change = probe_shortcut(option, in_channels, out_channels, stride, size)
        keep = probe_shortcut(option, out_channels, out_channels, 1, size)
        left = k * column
        _draw_channel_map(figure.add_axes(inches(left + 0.55, 3.65, column - 0.75, 2.05)), change)
        _draw_pixels(figure.add_axes(inches(left + 0.5, 1.6, column - 1.0, column - 1.0)), change, size)
        words = (f"{in_channels}→{out_channels}, /{stride}:\n{_describe(change)}\n\n"
                 f"same shape, {out_channels}→{out_channels}:\n{_describe(keep)}")
        figure.text((left + 0.2) / width, 1.3 / height, words, ha="left", va="top", fontsize=8.5, color=TEXT,
                    linespacing=1.35)
    return figure


def _draw_channel_map(ax: Axes, probe: ShortcutProbe) -> None:
    """Output channel (rows) against input channel (columns): dark where one feeds the other."""
    ax.imshow(probe.channel_map.float().numpy(), cmap="Blues", vmin=0, vmax=1.4, aspect="auto",
              interpolation="nearest")
    out_n, in_n = probe.channel_map.shape
    used = probe.channel_map.any(dim=1).nonzero().flatten()
    for first, last in ((0, int(used[0]) - 1), (int(used[-1]) + 1, out_n - 1)):
        if last >= first:
            ax.text(in_n / 2 - 0.5, (first + last) / 2, f"{last - first + 1} zero\nchannels", ha="center",
                    va="center", fontsize=8, color=TEXT)
    if probe.channel_map.all():
        ax.text(in_n / 2 - 0.5, out_n / 2, f"each output\nmixes all\n{in_n} inputs", ha="center", va="center",
                fontsize=8, color=BACKGROUND)
    ax.set_title(f"option {probe.option}", fontsize=10.5, fontweight="bold", color=TEXT, pad=14)
    ax.set_xlabel("input channel", fontsize=8.5, color=TEXT, labelpad=1)
    ax.set_ylabel("output channel", fontsize=8.5, color=TEXT, labelpad=1)
    ax.set_xticks([0, in_n - 1])
    ax.set_yticks([0, out_n - 1])
    ax.tick_params(labelsize=8, colors=TEXT)


def _draw_pixels(ax: Axes, probe: ShortcutProbe, size: int) -> None:
    """The probed input's pixels, dark where the shortcut reads them."""
    ax.imshow(probe.pixels_read.float().numpy(), cmap="Greys", vmin=-0.3, vmax=1.3, interpolation="nearest")
    ax.set_xticks([i - 0.5 for i in range(size + 1)], labels=[])
    ax.set_yticks([i - 0.5 for i in range(size + 1)], labels=[])
    ax.tick_params(length=0)
    ax.grid(color="#9a9a9a", linewidth=0.5)
    h, w = probe.out_size
    ax.set_title(f"pixels read (dark):\n{int(probe.pixels_read.sum())} of {size * size}", fontsize=8.5, color=TEXT)
    ax.set_xlabel(f"{size}x{size} in → {h}x{w} out", fontsize=8.5, color=TEXT)


def _describe(probe: ShortcutProbe) -> str:
    """What the probed module is, in a few short lines."""
    module = probe.module
    if module is None:
        return "identity, 0 parameters"
    if isinstance(module, ZeroPadShortcut):
        used = probe.channel_map.any(dim=1).nonzero().flatten()
        before, after = int(used[0]), len(probe.channel_map) - 1 - int(used[-1])
        return f"subsample; {before} zero channels\nbefore and {after} after;\n0 parameters"
    conv = next(m for m in module.modules() if isinstance(m, nn.Conv2d))
    stride = f", stride {conv.stride[0]}" if conv.stride[0] > 1 else ""
    return f"1x1 conv{stride} + BN;\n{probe.parameters:,} parameters"
