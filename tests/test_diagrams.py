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
from resnet_edu.teaching.diagrams import COLUMN_WIDTH, MIN_FONT_SIZE, block_parts, figure_to_svg


def texts(figure: Figure) -> list[Text]:
    figure.draw_without_rendering()  # creates the tick labels, which exist only once drawn
    return [t for t in figure.findobj(Text) if t.get_text().strip() and t.get_visible()]


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
        "V1 and V1.5": draw_blocks({"V1": Bottleneck(256, 128, 2, stride_in_1x1=True), "V1.5": Bottleneck(256, 128, 2)}),
        "stages, CIFAR": draw_stages(cifar_resnet(56), (3, 32, 32)),
        "unrolled 5": draw_unrolled(5),
        "ResNeXt block": draw_block(Bottleneck(256, 128, groups=32, base_width=4)),
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


def test_a_pool_on_the_shortcut_is_drawn_with_its_stride():
    """ResNet-D (chapter 3): the shortcut's /2 sits on a 2x2 average pool, not on the 1x1 projection."""
    block = Bottleneck(256, 128, 2)
    block.downsample = torch.nn.Sequential(torch.nn.AvgPool2d(2, stride=2), torch.nn.Conv2d(256, 512, 1, bias=False),
                                           torch.nn.BatchNorm2d(512))
    figure = draw_block(block)
    assert sorted(gids(figure, "stride")) == ["0:stride:conv2", "0:stride:downsample.0"]
    assert "2x2 avg pool" in labels(figure) and "1x1 conv\n256→512" in labels(figure)


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
        words = " ".join(" ".join(labels(draw_shortcut_options())).split())  # line breaks as spaces
    assert "8 zero channels before and 8 after" in words and "identity, 0 parameters" in words
    assert "576 parameters" in words and "1,088 parameters" in words  # B's and C's 1x1 conv + BN


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


# --- legible on the page ---------------------------------------------------------------------

COLUMN_PX = 620  # the book's text column at a 1280-pixel window (tests/test_site.py measures it)


def rendered_px(figure: Figure, size_pt: float) -> float:
    """How tall ``size_pt`` text shows, in CSS pixels, once the SVG is fitted to the text column.

    An SVG inch is 96 CSS pixels and a point 4/3 of a pixel; the page scales a wider figure
    down to the column (``max-width: 100%``) and shows a narrower one at its own size.
    """
    width_px = figure.get_size_inches()[0] * 96
    return size_pt * 4 / 3 * min(1.0, COLUMN_PX / width_px)


def test_every_figure_is_legible_at_the_column_width(meta_networks):
    for name, figure in every_figure(meta_networks).items():
        smallest = min(t.get_fontsize() for t in texts(figure))
        assert rendered_px(figure, smallest) >= 10, (name, figure.get_size_inches(), smallest)
        assert smallest >= MIN_FONT_SIZE, name
        assert figure.get_size_inches()[0] <= COLUMN_WIDTH + 0.01, name  # shown at (almost) its own size


def test_the_old_wide_figures_would_fail_the_legibility_check():
    """The check above can fail: an 11-inch figure with 8.5 pt text shows it at about 6 pixels."""
    wide = Figure(figsize=(11, 5.6))
    assert rendered_px(wide, 8.5) < 7


def test_box_labels_fit_their_boxes(meta_networks):
    """No label of a layer box runs past the box's edges."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    for name, figure in every_figure(meta_networks).items():
        renderer = FigureCanvasAgg(figure).get_renderer()
        words = [(t, t.get_window_extent(renderer)) for t in texts(figure) if t.get_fontweight() != "bold"]
        boxes = [p.get_window_extent(renderer) for p in figure.findobj()
                 if ":layer:" in f":{p.get_gid()}" or ":shortcut:" in f":{p.get_gid()}" or ":stage:" in f":{p.get_gid()}"]
        assert boxes or name in ("shortcuts", "classes", "unrolled", "unrolled 5", "lengths"), name
        for extent in boxes:
            for text, inside in words:
                if extent.contains(*inside.get_points().mean(0)) and inside.height < extent.height + 1:
                    assert extent.x0 - 0.5 <= inside.x0 and inside.x1 <= extent.x1 + 0.5, (name, text.get_text())


def test_blocks_side_by_side_are_evenly_spaced():
    """The gaps between the drawn blocks are equal, whatever shortcut each one has."""
    figure = draw_blocks({"plain": PlainBlock(16, 16), "identity": BasicBlock(16, 16),
                          "plain again": PlainBlock(16, 16)})  # one row: their shortcuts differ
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(figure).get_renderer()
    spans = []
    for i in range(3):
        parts = [a.get_window_extent(renderer) for a in figure.findobj()
                 if str(a.get_gid()).startswith(f"{i}:") and hasattr(a, "get_window_extent")]
        spans.append((min(p.x0 for p in parts), max(p.x1 for p in parts)))
    gaps = [b[0] - a[1] for a, b in zip(spans, spans[1:])]
    assert len(gaps) == 2 and min(gaps) > 0 and max(gaps) - min(gaps) < 0.1 * max(gaps), gaps


def test_many_blocks_wrap_into_rows_within_the_column():
    blocks = {f"block {i}": BasicBlock(16, 32, 2) for i in range(4)}
    figure = draw_blocks(blocks)
    assert figure.get_size_inches()[0] <= COLUMN_WIDTH
    assert len(gids(figure, "stride")) == 8  # every block drawn: /2 on conv1 and on the projection
    assert figure.get_size_inches()[1] > 2 * draw_block(BasicBlock(16, 32, 2)).get_size_inches()[1] - 0.01


def test_the_caption_is_dark_and_of_normal_weight():
    page = show_diagram(draw_block(BasicBlock(8, 8)), alt="a block", caption="the add")._repr_html_()
    caption = re.search(r'<figcaption style="([^"]*)"', page).group(1)
    assert "font-weight: normal" in caption and "color: #1b1b1b" in caption
    assert 'class="resnet-edu-diagram"' in page


def test_a_block_without_out_channels_is_labelled_from_its_last_layer():
    class SeedBlock(torch.nn.Module):  # seed code: no out_channels attribute
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(16, 24, 3, padding=1, bias=False)
            self.bn = torch.nn.BatchNorm2d(24)

        def forward(self, x):
            return torch.relu(self.bn(self.conv(x)))

    assert "out  (24 channels)" in labels(draw_block(SeedBlock()))
