"""Count the prose words of each chapter: what a reader reads from top to bottom.

A page should take at most about 15 minutes to read: about 3,500 words of prose
(``MAX_PROSE_WORDS``; tests/test_book_config.py checks every chapter in ``_toc.yml``).
Prose is the text of the markdown cells, without

* fenced code and output listings (```` ```python ````, ```` ```text ````), display math (``$$``),
  labels (``(label)=``), directive options (``:class: dropdown``) and HTML comments;
* folded material a reader opens only when they want it: ``{solution}`` blocks and any directive
  with ``:class: dropdown`` (the solutions, the "going deeper" notes).

Run ``python -m book_tools.prose`` to print the count of every chapter.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

MAX_PROSE_WORDS = 3500

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’\-]*")
_FENCE = re.compile(r"^(`{3,}|:{3,})\s*(\{([\w-]+)\})?(.*)$")


def prose_lines(markdown: str) -> list[str]:
    """The lines of ``markdown`` that count as prose (see the module docstring)."""
    lines = markdown.split("\n")
    kept: list[str] = []
    stack: list[tuple[str, bool]] = []  # (fence, counted) of each open fenced block
    in_math = False
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        match = _FENCE.match(stripped)
        if match and stack and stripped == stack[-1][0]:
            stack.pop()
            i += 1
            continue
        if match and (not stack or stack[-1][1]) and (match.group(2) or match.group(4).strip() or not stack):
            fence = match.group(1)
            directive = match.group(3)
            counted = directive is not None and directive != "solution"
            j = i + 1
            while j < len(lines) and lines[j].strip().startswith(":") and not _FENCE.match(lines[j].strip()):
                if "dropdown" in lines[j]:
                    counted = False
                j += 1
            stack.append((fence, counted))
            i = j
            continue
        if match and stack and not stack[-1][1]:
            # a nested fence inside a block that is not counted: track it so its close matches
            if match.group(2) or match.group(4).strip():
                stack.append((match.group(1), False))
            i += 1
            continue
        i += 1
        if stack and not stack[-1][1]:
            continue
        if stripped.startswith("$$"):
            in_math = not (in_math or stripped.endswith("$$") and len(stripped) > 2)
            continue
        if in_math or re.fullmatch(r"\(.*\)=", stripped) or stripped.startswith("<!--"):
            continue
        kept.append(line)
    return kept


def prose_words(notebook: Path) -> int:
    """The number of prose words in the markdown cells of ``notebook``."""
    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    words = 0
    for line in prose_lines(text):
        line = re.sub(r"\$[^$]*\$", " x ", line)  # inline math counts as one word
        line = re.sub(r"`[^`]*`", " x ", line)  # so does inline code
        line = re.sub(r"\]\([^)]*\)", "]", line)  # link targets are not read
        words += len(_WORD.findall(line))
    return words


def main(argv: list[str] | None = None) -> int:
    """Print the prose words of each notebook given (default: every chapter in book/)."""
    paths = [Path(p) for p in (argv if argv else sorted(map(str, Path("book").glob("[0-9]*.ipynb"))))]
    for path in paths:
        count = prose_words(path)
        flag = "  over" if count > MAX_PROSE_WORDS else ""
        print(f"{count:>6}  {path}{flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
