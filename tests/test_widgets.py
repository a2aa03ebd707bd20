"""resnet_edu.teaching.widgets: the precomputed explorer and the live explorer (no browser here;
tests/test_site.py drives both in Chromium)."""

from __future__ import annotations

import itertools
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from resnet_edu.teaching.widgets import Explorer, LiveExplorer, explorer, figure_to_png, live_explorer  # noqa: E402

CONTROLS = {"depth": [20, 56, 110], "batch norm": [True, False]}


def bar_figure(value: float):
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.bar([0], [value])
    ax.set_title(f"{value:g}")
    return fig


def grid_frames():
    return {(d, bn): bar_figure(d * (2 if bn else 1)) for d, bn in itertools.product(*CONTROLS.values())}


def test_figure_to_png_is_byte_stable_and_closes_the_figure():
    first, second = bar_figure(3), bar_figure(3)
    png = figure_to_png(first)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert b"Software" not in png  # no matplotlib version in the file
    assert first.number not in plt.get_fignums()
    assert figure_to_png(second) == png


def test_explorer_html_has_one_frame_per_setting_in_product_order():
    box = explorer(grid_frames(), CONTROLS, "Gradient norms")
    assert isinstance(box, Explorer) and len(box.pngs) == 6
    html = box.to_html()
    alts = re.findall(r'<img data-rx-frame="(\d+)" alt="Gradient norms: ([^"]*)"', html)
    expected = [f"depth = {d}, batch norm = {bn}" for d, bn in itertools.product(*CONTROLS.values())]
    assert [int(i) for i, _ in alts] == list(range(6))
    assert [a for _, a in alts] == expected
    # The first frame is visible without JavaScript; the others wait for the controls.
    assert html.count(" hidden>") == 5 and 'data-rx-frame="0"' in html.split(" hidden>")[0]
    # Three numbers make a slider; two booleans a drop-down.
    assert '<input type="range" min="0" max="2"' in html and 'aria-label="depth"' in html
    assert '<select data-rx-control="1" data-rx-size="2" aria-label="batch norm">' in html
    assert "<script>" in html and "http" not in html.split("<script>")[1]  # no CDN
    assert repr(box) == "<Explorer 'Gradient norms': depth (3) x batch norm (2), 6 frames>"
    assert box._repr_html_() == html


def test_explorer_output_is_the_same_on_every_run():
    assert explorer(grid_frames(), CONTROLS, "t").to_html() == explorer(grid_frames(), CONTROLS, "t").to_html()


def test_explorer_accepts_png_bytes_and_bare_keys_for_one_control():
    pngs = {k: figure_to_png(bar_figure(k)) for k in (1.0, 0.1, 0.01)}
    box = explorer(pngs, {"lr": [1.0, 0.1, 0.01]}, "Learning rate")
    assert box.pngs == [pngs[1.0], pngs[0.1], pngs[0.01]]
    assert "[&quot;1&quot;, &quot;0.1&quot;, &quot;0.01&quot;]" in box.to_html()  # floats written compactly
    assert explorer({(k,): v for k, v in pngs.items()}, {"lr": [1.0, 0.1, 0.01]}, "t").pngs == box.pngs


def test_explorer_escapes_text():
    box = explorer({"a<b": b"\x89PNG\r\n\x1a\n" + b"0" * 10}, {"x & y": ["a<b"]}, 'T "quoted" <b>')
    html = box.to_html()
    assert "<b>" not in html.replace("<strong>", "") and "a&lt;b" in html and "x &amp; y" in html


@pytest.mark.parametrize(
    "frames, controls, title, error, match",
    [
        ({(20, True): b"\x89PNG\r\n\x1a\n"}, CONTROLS, "t", ValueError, r"no entry for depth=20, batch norm=False \(5 of 6"),
        ({1: b"\x89PNG\r\n\x1a\n", 2: b"\x89PNG\r\n\x1a\n"}, {"x": [1]}, "t", ValueError, "matches no setting"),
        ({1: b"not a png"}, {"x": [1]}, "t", ValueError, "PNG signature"),
        ({1: "figure.png"}, {"x": [1]}, "t", TypeError, "matplotlib Figure or PNG bytes, got str"),
        ({1: b"\x89PNG\r\n\x1a\n"}, {"x": []}, "t", ValueError, "has no values"),
        ({1: b"\x89PNG\r\n\x1a\n"}, {"x": "12"}, "t", TypeError, "list or tuple"),
        ({1: b"\x89PNG\r\n\x1a\n"}, {"x": [1, 1]}, "t", ValueError, "repeated values"),
        ({1: b"\x89PNG\r\n\x1a\n"}, {}, "t", ValueError, "non-empty dict"),
        ({1: b"\x89PNG\r\n\x1a\n"}, {"x": [1]}, "", ValueError, "title"),
        ({1: b"\x89PNG\r\n\x1a\n"}, {"x": [1], "y": [2]}, "t", TypeError, "tuples of 2 values"),
        ({(1, 2, 3): b"\x89PNG\r\n\x1a\n"}, {"x": [1], "y": [2]}, "t", ValueError, "has 3 values"),
        ([b"\x89PNG\r\n\x1a\n"], {"x": [1]}, "t", TypeError, "frames must be a dict"),
    ],
)
def test_explorer_rejects_bad_input_with_a_clear_message(frames, controls, title, error, match):
    with pytest.raises(error, match=match):
        explorer(frames, controls, title)


def test_explorer_refuses_pages_that_are_too_heavy():
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 1_000_000
    with pytest.raises(ValueError, match="MB keeps the page light"):
        explorer({k: png for k in range(7)}, {"k": list(range(7))}, "t")
    with pytest.raises(ValueError, match="at most 128 frames"):
        explorer({k: b"\x89PNG\r\n\x1a\n" for k in range(129)}, {"k": list(range(129))}, "t")


def test_figure_to_png_validates():
    with pytest.raises(TypeError, match="matplotlib Figure"):
        figure_to_png("fig")
    with pytest.raises(ValueError, match="dpi"):
        figure_to_png(bar_figure(1), dpi=5)


def test_live_explorer_recomputes_on_change():
    calls = []

    def compute(depth, bn):
        calls.append((depth, bn))
        return bar_figure(depth if bn else -depth)

    box = live_explorer(compute, {"depth": [20, 56], "bn": [True, False]}, "Live <1>")
    assert isinstance(box, LiveExplorer) and repr(box) == "<LiveExplorer 'Live <1>'>"
    note, controls, image = box.children
    assert "Without a kernel" in note.value
    first = image.value
    assert calls == [(20, True)] and png_of(first).startswith(b"\x89PNG")
    # the figure is an <img> with alt text (the site's browser test checks every image has one)
    assert first.startswith('<img class="widget-image" alt="Live &lt;1&gt;: depth = 20, bn = True" '
                            'src="data:image/png;base64,')
    depth, bn = controls.children
    assert [d.description for d in controls.children] == ["depth", "bn"]
    depth.value = 56
    assert calls[-1] == (56, True) and png_of(image.value) != png_of(first)
    assert 'alt="Live &lt;1&gt;: depth = 56, bn = True"' in image.value
    bn.value = False
    assert calls[-1] == (56, False)


def png_of(img_html: str) -> bytes:
    """The PNG inside a live explorer's <img> data URI."""
    import base64

    return base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', img_html)[1])


@pytest.mark.parametrize(
    "compute, controls, title, error, match",
    [
        ("f", {"x": [1]}, "t", TypeError, "callable"),
        (lambda **kw: None, {"not valid": [1]}, "t", ValueError, "keyword arguments"),
        (lambda **kw: None, {"x": [1]}, "", ValueError, "title"),
        (lambda **kw: 42, {"x": [1]}, "t", TypeError, "got int"),
    ],
)
def test_live_explorer_rejects_bad_input(compute, controls, title, error, match):
    with pytest.raises(error, match=match):
        live_explorer(compute, controls, title)
