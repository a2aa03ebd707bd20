"""Render a small table as aligned plain text or as HTML, for printing and for notebooks.

Used by :mod:`resnet_edu.measuring.trace`, :mod:`resnet_edu.measuring.costs` and :mod:`resnet_edu.measuring.gradients`,
whose result objects print as text (``str``) and show as tables through ``_repr_html_``, via :class:`Table`.
"""

from __future__ import annotations

import html
import re
from typing import Sequence


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]], footer: str = "") -> str:
    """An aligned plain-text table: text columns left-aligned, numeric ones right-aligned.

    Args:
        headers: column titles.
        rows: one sequence of already formatted cells per row.
        footer: an optional line printed under the table.
    """
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row)]
    numeric = [all(_looks_numeric(row[i]) for row in rows) and bool(rows) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric)]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    lines = [line(headers), rule] + [line(row) for row in rows]
    if footer:
        lines += [rule, footer]
    return "\n".join(lines)


def html_table(headers: Sequence[str], rows: Sequence[Sequence[str]], caption: str = "") -> str:
    """The same table as HTML, with every cell escaped.

    Args:
        headers: column titles.
        rows: one sequence of already formatted cells per row.
        caption: an optional caption (e.g. the input shape and the total).
    """
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_NUMBER = re.compile(r"^[+-]?[\d,]*\.?\d+(e[+-]?\d+)?( ?[%GMk])?$|^\d+(x\d+)*$")


def _looks_numeric(cell: str) -> bool:
    return bool(_NUMBER.match(cell.strip()))


class Table:
    """A small table that prints as aligned text and shows as HTML in a notebook.

    The one way a result of this package prints: ``print(result)`` gives the text,
    a notebook shows ``_repr_html_``. Result objects build one and delegate to it.

    Args:
        headers: column titles.
        rows: one sequence of already formatted cells per row.
        footer: a line under the text table, and the HTML table's caption.
    """

    def __init__(self, headers: Sequence[str], rows: Sequence[Sequence[str]], footer: str = "") -> None:
        self.headers = list(headers)
        self.rows = [list(row) for row in rows]
        self.footer = footer

    def __str__(self) -> str:
        return text_table(self.headers, self.rows, self.footer)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return html_table(self.headers, self.rows, self.footer)
