"""The diagrams are drawn from the models: change the model and the figure changes.

Big networks are built on the meta device (no weights; shapes still trace). Labels are
read back from the figure's text artists, boxes from their gids (``"0:layer:conv1"``).
"""

from __future__ import annotations

import math
import re

import matplotlib.colors as mcolors
import pytest
import torch
from matplotlib.figure import Figure
from matplotlib.text import Text

from resnet_edu import (
    BasicBlock,
    Bottleneck,
    PlainBlock,
    PreActBlock,
    ResNet,
    cifar_resnet,
    count_parameters,
    draw_block,
    draw_blocks,
    draw_function_classes,
    draw_network,
    draw_networks,
    draw_path_lengths,
    draw_shortcut_options,
    draw_stages,
    draw_unrolled,
    plain34,
    resnet34,
    resnet50,
    resnet110,
    show_diagram,
    vgg19,
)
from resnet_edu.teaching.diagram_concepts import _NESTED, _NOT_NESTED, _TARGET, closest_points
from resnet_edu.teaching.diagram_concepts import path_length_counts, path_length_interval
from resnet_edu.teaching.diagram_networks import network_rows
from resnet_edu.teaching.diagram_shortcuts import probe_shortcut
from resnet_edu.teaching.diagrams import block_parts, figure_to_svg


def texts(figure: Figure) -> list[Text]:
    return [t for t in figure.findobj(Text) if t.get_text()]


def labels(figure: Figure) -> list[str]:
    return [t.get_text() for t in texts(figure)]


def gids(figure: Figure, kind: str) -> list[str]:
    return [a.get_gid() for a in figure.findobj() if a.get_gid() and f":{kind}:" in f":{a.get_gid()}"]


def luminance(colour) -> float:
    """WCAG relative luminance."""
    channels = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in mcolors.to_rgb(colour)]
    return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]


def contrast(a, b) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.fixture(scope="module")
def meta_networks():
    with torch.device("meta"):
        return {"VGG-19": vgg19(), "34-layer plain": plain34(), "34-layer residual": resnet34()}


def every_figure(meta_networks) -> dict[str, Figure]:
    return {
        "block": draw_block(Bottleneck(256, 64)),
        "blocks": draw_blocks({"plain": PlainBlock(64, 64), "basic": BasicBlock(16, 32, 2, shortcut="A"),
                               "pre-activation": PreActBlock(64, 64)}),
        "shortcuts": draw_shortcut_options(),
        "networks": draw_networks(meta_networks),
        "stages": draw_stages(meta_networks["34-layer residual"]),
        "classes": draw_function_classes(),
        "unrolled": draw_unrolled(3),
        "lengths": draw_path_lengths(54),
    }


# --- blocks --------------------------------------------------------------------------------


def test_bottleneck_labels_are_its_widths():
    assert [t for t in labels(draw_block(Bottleneck(256, 64))) if "conv" in t] == [
        "1x1 conv, 256→64", "3x3 conv, 64→64", "1x1 conv, 64→256"]
    assert [t for t in labels(draw_block(Bottleneck(512, 128))) if "conv" in t] == [
        "1x1 conv, 512→128", "3x3 conv, 128→128", "1x1 conv, 128→512"]


def test_the_stride_label_moves_with_the_stride():
    v1 = draw_block(Bottleneck(256, 128, 2, stride_in_1x1=True))
    v15 = draw_block(Bottleneck(256, 128, 2))
    assert sorted(gids(v1, "stride")) == ["0:stride:conv1", "0:stride:downsample.0"]
    assert sorted(gids(v15, "stride")) == ["0:stride:conv2", "0:stride:downsample.0"]


def test_block_parts_follow_forward():
    parts = block_parts(BasicBlock(16, 32, 2, shortcut="B"))
    assert parts.branch == ("conv1", "bn1", "relu", "conv2", "bn2")
    assert parts.shortcut == ("downsample.0", "downsample.1") and parts.after_add == ("relu",)
    assert block_parts(PlainBlock(8, 8)).shortcut is None
    preact = block_parts(PreActBlock(8, 8))
    assert preact.branch[0] == "bn1" and preact.shortcut == () and preact.after_add == ()


def test_shortcut_kinds_are_drawn():
    figure = draw_blocks({"A": BasicBlock(16, 32, 2, shortcut="A"), "B": BasicBlock(16, 32, 2),
                          "identity": BasicBlock(32, 32)})
    assert set(gids(figure, "shortcut")) == {"0:shortcut:downsample", "1:shortcut:downsample.0",
                                             "1:shortcut:downsample.1"}
    assert {"option A", "projection", "identity"} <= set(labels(figure))


# --- shortcut options ------------------------------------------------------------------------


def test_option_a_zeros_sit_where_the_module_puts_them():
    probe = probe_shortcut("A", 16, 32, 2)
    output = probe.module(torch.rand(1, 16, 8, 8))  # the module itself, on a random input
    assert probe.channel_map.any(dim=1).tolist() == (output.abs().sum(dim=(0, 2, 3)) != 0).tolist()
    assert int(probe.pixels_read.sum()) == 16 and probe.out_size == (4, 4) and probe.parameters == 0
    assert probe.channel_map.sum() == 16  # each input channel feeds exactly one output channel


def test_projections_mix_every_channel():
    for option in ("B", "C"):
        probe = probe_shortcut(option, 16, 32, 2)
        assert probe.channel_map.all() and int(probe.pixels_read.sum()) == 16
        assert probe.parameters == count_parameters(probe.module)
    assert probe_shortcut("B", 32, 32, 1).module is None
    assert probe_shortcut("C", 32, 32, 1).module is not None
    with torch.device("meta"):  # the probe still runs on real numbers
        words = " ".join(labels(draw_shortcut_options()))
    assert "8 zero channels before" in words and "identity, 0 parameters" in words


# --- networks ----------------------------------------------------------------------------------


def test_figure_3_columns(meta_networks):
    figure = draw_networks(meta_networks)
    conv = lambda col: [g for g in gids(figure, "layer") if g.startswith(f"{col}:") and "conv" in g]
    assert len([g for g in gids(figure, "layer") if g.startswith("0:")]) == 16 + 5 + 1 + 3  # convs, pools, avg, fcs
    assert len(conv(1)) == len(conv(2)) == 33
    assert len([g for g in gids(figure, "shortcut") if g.startswith("2:")]) == 16
    assert not [g for g in gids(figure, "shortcut") if g.startswith("1:")]
    sizes = [int(t.split()[-1]) for t in labels(figure) if t.startswith("output\nsize")]
    assert sizes == [224, 112, 56, 28, 14, 7, 1]


def test_the_network_figure_follows_the_model():
    with torch.device("meta"):
        fewer = ResNet(BasicBlock, [3, 4, 5, 3])
        figure, other = draw_network(resnet34()), draw_network(fewer)
    assert len(gids(figure, "shortcut")) == 16 and len(gids(other, "shortcut")) == 15
    assert len(gids(figure, "layer")) - len(gids(other, "layer")) == 2


def test_projection_arcs_are_dotted_identity_solid():
    with torch.device("meta"):
        figure = draw_network(resnet34())
    styles = {a.get_gid(): a.get_linestyle() for a in figure.findobj() if "shortcut" in str(a.get_gid())}
    assert styles["0:shortcut:layer2.0"] != styles["0:shortcut:layer2.1"]
    assert styles["0:shortcut:layer2.1"] == "-" and styles["0:shortcut:layer2.0"] == ":"


def test_network_rows_read_the_strides():
    with torch.device("meta"):
        rows = network_rows(resnet34(), (3, 224, 224))
    halving = [r.path for r in rows if r.stride == 2]
    assert halving == ["conv1", "maxpool", "layer2.0.conv1", "layer3.0.conv1", "layer4.0.conv1"]


def test_stages_of_resnet50_and_cifar():
    with torch.device("meta"):
        text = "\n".join(labels(draw_stages(resnet50())))
    for count, width, size in zip((3, 4, 6, 3), (256, 512, 1024, 2048), (56, 28, 14, 7)):
        assert f"Bottleneck ×{count}" in text and f"{width} ch, {size}x{size}" in text
    assert "50 = 1 + 9 + 12 + 18 + 9 + 1" in text
    text = "\n".join(labels(draw_stages(cifar_resnet(20), (3, 32, 32))))
    for width, size in zip((16, 32, 64), (32, 16, 8)):
        assert f"BasicBlock ×3" in text and f"{width} ch, {size}x{size}" in text
    assert "20 = 1 + 6 + 6 + 6 + 1" in text


# --- concepts ---------------------------------------------------------------------------------


def test_nested_classes_only_get_closer():
    nested = [d for _, _, d in closest_points(_NESTED, _TARGET)]
    assert all(a >= b for a, b in zip(nested, nested[1:]))
    for (x1, y1, r1), (x2, y2, r2) in zip(_NESTED, _NESTED[1:]):
        assert math.hypot(x2 - x1, y2 - y1) + r1 <= r2  # each disc holds the last
    others = [d for _, _, d in closest_points(_NOT_NESTED, _TARGET)]
    assert any(a < b for a, b in zip(others, others[1:]))  # a bigger class landed further away


def test_unrolled_paths():
    paths = [a.get_gid() for a in draw_unrolled(3).findobj() if str(a.get_gid()).startswith("path:")]
    assert len(paths) == 2**3 and len(set(paths)) == 8


def test_path_lengths():
    assert path_length_counts(3) == [1, 3, 3, 1] and sum(path_length_counts(54)) == 2**54
    low, high = path_length_interval(54)
    share = sum(math.comb(54, k) for k in range(low, high + 1)) / 2**54
    assert share >= 0.95 and sum(math.comb(54, k) for k in range(low + 1, high)) / 2**54 < 0.95
    with torch.device("meta"):
        title = " ".join(labels(draw_path_lengths(resnet110())))
    assert f"54 residual blocks" in title and f"{low} to {high} blocks" in title


# --- showing a figure ------------------------------------------------------------------------


def test_show_diagram_embeds_svg_with_alt_and_caption():
    diagram = show_diagram(draw_block(BasicBlock(64, 64)), alt="A basic block & its shortcut",
                           caption="Look at the add.")
    page = diagram._repr_html_()
    assert re.search(r'<figure[^>]*><img [^>]*src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"', page)
    assert 'alt="A basic block &amp; its shortcut"' in page and "Look at the add.</figcaption></figure>" in page
    assert repr(diagram) == "<Diagram: A basic block & its shortcut>"
    for alt, caption in (("", "x"), ("x", " ")):
        with pytest.raises(ValueError, match="non-empty"):
            show_diagram(draw_block(BasicBlock(8, 8)), alt=alt, caption=caption)


def test_svg_is_byte_identical_across_renders():
    first = figure_to_svg(draw_block(Bottleneck(256, 64, 2)))
    second = figure_to_svg(draw_block(Bottleneck(256, 64, 2)))
    assert first == second and first.startswith(b"<?xml")
    assert b"<dc:date>" not in first


def test_every_figure_is_light_with_dark_text(meta_networks):
    for name, figure in every_figure(meta_networks).items():
        assert mcolors.to_hex(figure.get_facecolor()) == "#ffffff", name
        assert figure.get_linewidth() > 0, name  # a border, so a white figure has an edge on a white page
        for text in texts(figure):
            assert contrast(text.get_color(), "#ffffff") >= 4.5 or text.get_color() == "#ffffff", (name, text)
