"""Interactive figures that also work on the published book, where no Python runs.

Two tools, one rule: every interactive piece shows something meaningful without a kernel.

- :func:`explorer` flips between figures computed *before* the page is shown. It emits plain
  HTML and a few lines of JavaScript (no CDN, no ipywidgets), so the same output works in
  Jupyter, in Colab and on the static site. Use it whenever the settings can be enumerated
  (depth x BN x shortcut x init, ...).
- :func:`live_explorer` calls Python on every change (ipywidgets, 7.7-compatible API only, so it
  runs in Colab). On the static site its controls are inert and it shows the figure of the
  first setting, with a note saying so. Use it only for settings that cannot be precomputed.

Used in every chapter that has a control; taught (as a tool, not as a topic) in chapter 5.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_FRAMES = 128
MAX_TOTAL_BYTES = 6_000_000  # keep pages light: about 6 MB of PNG per explorer at most


def figure_to_png(figure: Any, dpi: int = 80) -> bytes:
    """Render a matplotlib figure to PNG bytes that are identical from run to run, and close it.

    The PNG carries no "Software" text chunk (it names the matplotlib version), so the same
    figure gives the same bytes. Closing the figure keeps the inline backend from also
    showing it below the cell.

    Args:
        figure: a ``matplotlib.figure.Figure``.
        dpi: resolution; 80 dpi turns matplotlib's default 6.4 x 4.8 in figure into 512 x 384 px.
    """
    if not isinstance(figure, Figure):
        raise TypeError(f"expected a matplotlib Figure, got {type(figure).__name__}")
    if not isinstance(dpi, int) or not 20 <= dpi <= 300:
        raise ValueError(f"dpi must be an int between 20 and 300, got {dpi!r}")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def _as_png(frame: Any, dpi: int) -> bytes:
    """PNG bytes for one frame: a matplotlib Figure or PNG bytes."""
    if isinstance(frame, (bytes, bytearray)):
        if not bytes(frame[:8]) == PNG_SIGNATURE:
            raise ValueError("a frame given as bytes must be a PNG image (it lacks the PNG signature)")
        return bytes(frame)
    try:
        return figure_to_png(frame, dpi=dpi)
    except TypeError:
        raise TypeError(
            f"each frame must be a matplotlib Figure or PNG bytes, got {type(frame).__name__}"
        ) from None


def _label(value: Any) -> str:
    """How a control value is written on the page: floats compactly, everything else by str."""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _check_controls(controls: Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
    if not isinstance(controls, Mapping) or not controls:
        raise ValueError("controls must be a non-empty dict {name: [values, ...]}")
    checked = {}
    for name, values in controls.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"control names must be non-empty strings, got {name!r}")
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise TypeError(f"control {name!r}: values must be a list or tuple, got {type(values).__name__}")
        values = list(values)
        if not values:
            raise ValueError(f"control {name!r} has no values")
        if len({_label(v) for v in values}) != len(values):
            raise ValueError(f"control {name!r} has repeated values: {values}")
        checked[name] = values
    return checked


class Explorer:
    """A figure with controls that flips between precomputed frames; see :func:`explorer`."""

    def __init__(self, title: str, controls: dict[str, list[Any]], pngs: list[bytes]) -> None:
        self.title = title
        self.controls = controls
        self.pngs = pngs  # in the order of itertools.product(*controls.values())

    def __repr__(self) -> str:
        sizes = " x ".join(f"{name} ({len(values)})" for name, values in self.controls.items())
        return f"<Explorer {self.title!r}: {sizes}, {len(self.pngs)} frames>"

    def _control_html(self, position: int, name: str, values: list[Any]) -> str:
        labels = [_label(v) for v in values]
        attrs = f'data-rx-control="{position}" data-rx-size="{len(values)}" aria-label="{html.escape(name)}"'
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        if numeric and len(values) > 2:
            data = html.escape(json.dumps(labels), quote=True)
            widget = (
                f'<input type="range" min="0" max="{len(values) - 1}" step="1" value="0" {attrs} '
                f'data-rx-labels="{data}"> <output class="rx-value">{html.escape(labels[0])}</output>'
            )
        else:
            options = "".join(f'<option value="{i}">{html.escape(label)}</option>' for i, label in enumerate(labels))
            widget = f"<select {attrs}>{options}</select>"
        return f'<label class="rx-control" style="margin-right:1.5em">{html.escape(name)} {widget}</label>'

    def to_html(self) -> str:
        """The self-contained HTML (frames as base64 PNGs) and its plain-JavaScript control code."""
        names = list(self.controls)
        controls = "".join(self._control_html(i, n, v) for i, (n, v) in enumerate(self.controls.items()))
        images = []
        for index, combo in enumerate(itertools.product(*self.controls.values())):
            setting = ", ".join(f"{n} = {_label(v)}" for n, v in zip(names, combo))
            data = base64.b64encode(self.pngs[index]).decode("ascii")
            hidden = "" if index == 0 else " hidden"
            images.append(
                f'<img data-rx-frame="{index}" alt="{html.escape(self.title)}: {html.escape(setting)}"'
                f' src="data:image/png;base64,{data}" style="max-width:100%"{hidden}>'
            )
        first = ", ".join(f"{n} = {_label(v[0])}" for n, v in self.controls.items())
        return (
            '<div class="rx-explorer">'
            f'<div class="rx-title"><strong>{html.escape(self.title)}</strong></div>'
            f'<div class="rx-controls">{controls}</div>'
            f'<div class="rx-frames">{"".join(images)}</div>'
            f'<div class="rx-caption"><small>Shown: <span class="rx-setting">{html.escape(first)}</span>'
            " (precomputed; no Python needed)</small></div>"
            f"</div>\n<script>{_EXPLORER_JS}</script>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()


# Wires up every explorer on the page that is not wired yet. No ids: each container is
# self-describing, so the output is the same on every run (nbval compares text/html exactly).
_EXPLORER_JS = """
(function () {
  var boxes = document.querySelectorAll(".rx-explorer:not([data-rx-ready])");
  Array.prototype.forEach.call(boxes, function (box) {
    box.setAttribute("data-rx-ready", "1");
    var inputs = box.querySelectorAll("[data-rx-control]");
    var frames = box.querySelectorAll("[data-rx-frame]");
    var setting = box.querySelector(".rx-setting");
    function update() {
      var index = 0;
      Array.prototype.forEach.call(inputs, function (input) {
        index = index * parseInt(input.getAttribute("data-rx-size"), 10) + parseInt(input.value, 10);
        var shown = input.parentNode.querySelector("output");
        if (shown) { shown.textContent = JSON.parse(input.getAttribute("data-rx-labels"))[input.value]; }
      });
      Array.prototype.forEach.call(frames, function (img) {
        var visible = parseInt(img.getAttribute("data-rx-frame"), 10) === index;
        img.hidden = !visible;
        if (visible && setting) { setting.textContent = img.alt.slice(img.alt.indexOf(": ") + 2); }
      });
    }
    Array.prototype.forEach.call(inputs, function (input) {
      input.addEventListener("input", update);
      input.addEventListener("change", update);
    });
    update();
  });
})();
""".strip()


def _setting_key(setting: Any, n_controls: int) -> tuple:
    """A frames key as a tuple: a bare value is allowed when there is one control."""
    if isinstance(setting, tuple):
        if len(setting) != n_controls:
            raise ValueError(f"frames key {setting!r} has {len(setting)} values, the controls need {n_controls}")
        return setting
    if n_controls != 1:
        raise TypeError(f"frames keys must be tuples of {n_controls} values (one per control), got {setting!r}")
    return (setting,)


def explorer(
    frames: Mapping[Any, Any],
    controls: Mapping[str, Sequence[Any]],
    title: str,
    dpi: int = 80,
) -> Explorer:
    """A figure with controls that flips between precomputed frames, with or without a kernel.

    The result displays as HTML: one control per entry of ``controls`` (a slider for three or
    more numbers, a drop-down otherwise), the frames as embedded PNGs, and a few lines of plain
    JavaScript that show the frame of the chosen setting. It needs no kernel, no ipywidgets and
    no network, so it behaves the same in Jupyter, in Colab and on the published book.
    Figures are rendered at ``dpi`` and closed. Keep frames small (about 600 x 400 px).

    Args:
        frames: one frame per setting. Keys are tuples of values in the order of ``controls``
            (a bare value when there is one control); values are matplotlib Figures or PNG bytes.
            Every combination of control values needs a frame.
        controls: ``{name: [value, ...]}``, in the order the controls appear.
        title: shown above the controls and used in each frame's alt text.
        dpi: resolution at which Figures are rendered (PNG bytes are used as they are).

    Example::

        frames = {(depth, bn): plot_norms(depth, bn) for depth in (20, 56) for bn in (True, False)}
        explorer(frames, {"depth": [20, 56], "batch norm": [True, False]}, "Gradient norms")
    """
    if not isinstance(title, str) or not title:
        raise ValueError("title must be a non-empty string")
    checked = _check_controls(controls)
    if not isinstance(frames, Mapping):
        raise TypeError(f"frames must be a dict {{setting: figure}}, got {type(frames).__name__}")
    by_key = {_setting_key(k, len(checked)): v for k, v in frames.items()}
    grid = list(itertools.product(*checked.values()))
    missing = [combo for combo in grid if combo not in by_key]
    if missing:
        names = list(checked)
        first = ", ".join(f"{n}={v!r}" for n, v in zip(names, missing[0]))
        raise ValueError(f"frames has no entry for {first} ({len(missing)} of {len(grid)} settings missing)")
    extra = [k for k in by_key if k not in set(grid)]
    if extra:
        raise ValueError(f"frames has a key that matches no setting of the controls: {extra[0]!r}")
    if len(grid) > MAX_FRAMES:
        raise ValueError(f"at most {MAX_FRAMES} frames per explorer, got {len(grid)}")
    pngs = [_as_png(by_key[combo], dpi) for combo in grid]
    total = sum(len(p) for p in pngs)
    if total > MAX_TOTAL_BYTES:
        raise ValueError(
            f"the frames weigh {total / 1e6:.1f} MB; at most {MAX_TOTAL_BYTES / 1e6:.0f} MB keeps the page light "
            "(use a lower dpi or a smaller figsize)"
        )
    return Explorer(title, checked, pngs)


def _figure_html(png: bytes, title: str, setting: Mapping[str, Any]) -> str:
    """An ``<img>`` of ``png`` (a data URI) with alt text: the title and the setting it shows."""
    shown = ", ".join(f"{name} = {_label(value)}" for name, value in setting.items())
    data = base64.b64encode(png).decode("ascii")
    return (f'<img class="widget-image" alt="{html.escape(title)}: {html.escape(shown)}"'
            f' src="data:image/png;base64,{data}" style="max-width:100%">')


class LiveExplorer(widgets.VBox):
    """The box :func:`live_explorer` returns; its text form is short and stable for nbval."""

    def __init__(self, title: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._title = title

    def __repr__(self) -> str:  # the default repr would print every child, PNG bytes included
        return f"<LiveExplorer {self._title!r}>"


def live_explorer(
    compute: Callable[..., Any],
    controls: Mapping[str, Sequence[Any]],
    title: str,
    dpi: int = 80,
) -> Any:
    """Controls that call Python on every change and show the figure it returns (needs a kernel).

    Built from ipywidgets that exist in ipywidgets 7.7 (Colab's version): a ``Dropdown`` per
    control, an ``HTML`` note, and an ``HTML`` widget holding the figure as an ``<img>`` (a
    PNG data URI) whose alt text names the title and the setting shown (ipywidgets' ``Image``
    cannot carry alt text). On the published book, which has no kernel, the controls are inert
    and the figure of the first setting is shown, with a note saying so. Prefer
    :func:`explorer` whenever the settings can be precomputed.

    Args:
        compute: called as ``compute(**setting)`` with one value per control; returns a
            matplotlib Figure (rendered and closed) or PNG bytes.
        controls: ``{name: [value, ...]}``; names must be valid keyword arguments of ``compute``.
        title: shown above the controls.
        dpi: resolution at which Figures are rendered.

    Example::

        live_explorer(lambda lr, depth: plot_loss(lr, depth), {"lr": [0.1, 0.01], "depth": [20, 56]},
                      "Loss curve (recomputed live)")
    """
    if not callable(compute):
        raise TypeError(f"compute must be callable, got {type(compute).__name__}")
    if not isinstance(title, str) or not title:
        raise ValueError("title must be a non-empty string")
    checked = _check_controls(controls)
    for name in checked:
        if not name.isidentifier():
            raise ValueError(f"control names must be valid keyword arguments of compute, got {name!r}")
    dropdowns = {
        name: widgets.Dropdown(options=[(_label(v), v) for v in values], value=values[0], description=name)
        for name, values in checked.items()
    }
    first = {n: v[0] for n, v in checked.items()}
    image = widgets.HTML(value=_figure_html(_as_png(compute(**first), dpi), title, first))
    note = widgets.HTML(
        value=f"<strong>{html.escape(title)}</strong><br><small>Live: each change runs Python. "
        "Without a kernel (on the website) the controls do nothing and the first setting is shown.</small>"
    )

    def redraw(_change: Any = None) -> None:
        setting = {name: dropdown.value for name, dropdown in dropdowns.items()}
        image.value = _figure_html(_as_png(compute(**setting), dpi), title, setting)

    for dropdown in dropdowns.values():
        dropdown.observe(redraw, names="value")
    return LiveExplorer(title, children=[note, widgets.HBox(list(dropdowns.values())), image])
