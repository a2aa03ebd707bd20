"""A Sphinx extension that hides nbgrader's marker lines from the published site.

The notebooks keep ``### BEGIN SOLUTION`` / ``### END SOLUTION`` and ``### BEGIN HIDDEN TESTS`` /
``### END HIDDEN TESTS``: nbgrader needs them to make the student copies (``make student``). A
reader of the book has no use for them, so every code block on the site is printed without those
lines. The notebooks themselves, and what nbval runs, are unchanged. The browser test
(tests/test_site.py) fails if a marker shows up on a page.
"""

from __future__ import annotations

import re
from typing import Any

from docutils import nodes

MARKER = re.compile(r"^[ \t]*### (BEGIN|END) (SOLUTION|HIDDEN TESTS)[ \t]*$")


def strip_markers(text: str) -> str:
    """``text`` without nbgrader's marker lines (every other line kept as it is)."""
    return "\n".join(line for line in text.split("\n") if not MARKER.match(line))


def hide_markers(app: Any, doctree: nodes.document) -> None:
    """Rewrite every literal block that holds a marker line."""
    for block in list(doctree.findall(nodes.literal_block)):
        text = block.astext()
        if "### " not in text:
            continue
        stripped = strip_markers(text)
        if stripped != text:
            block.rawsource = stripped
            block.children = [nodes.Text(stripped)]


def setup(app: Any) -> dict[str, Any]:
    """Run on every document after it is read (myst-nb has turned cells into literal blocks)."""
    app.connect("doctree-read", hide_markers)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
