"""A Sphinx extension that numbers the exercises per chapter: Exercise 2.3, not Exercise 14.

sphinx-exercise numbers exercises with Sphinx's ``numfig``, which counts across the whole
book unless the table of contents is ``numbered``. A numbered toc does not fit this book:
Sphinx restarts the numbering in every part of ``_toc.yml`` (the idea, the networks, ...),
and the chapters already carry their numbers in their titles, from "0. Setting up" on.
So after Sphinx assigns its numbers, this extension renumbers each chapter's exercises
``(chapter, 1)``, ``(chapter, 2)``, ... in reading order, where ``chapter`` is the number
its title starts with (else its file name's, ``04_...``). The titles ("Exercise 4.2") and
the ``{ref}``/``{numref}`` links to them read ``env.toc_fignumbers``, so both follow.

Sphinx compares the numbers it computes with the ones kept from the last build to decide
which pages to rewrite; the global numbers are kept aside and put back before each build,
so a warm build rewrites nothing that did not change.
"""

from __future__ import annotations

import re
from typing import Any

FIGTYPE = "exercise"
_NUMBERED_TITLE = re.compile(r"^\s*(\d+)[.:]\s")
_NUMBERED_FILE = re.compile(r"(?:^|/)(\d+)_[^/]*$")


def chapter_number(title: str, docname: str) -> int | None:
    """The chapter's number: from a title like ``"4. Building ResNets"``, else ``04_x``'s file name."""
    match = _NUMBERED_TITLE.match(title) or _NUMBERED_FILE.search(docname)
    return int(match.group(1)) if match else None


def renumber(toc_fignumbers: dict[str, dict[str, dict[str, tuple[int, ...]]]], titles: dict[str, str]) -> None:
    """Number each chapter's exercises ``(chapter, 1..n)`` in the order Sphinx numbered them.

    Args:
        toc_fignumbers: ``env.toc_fignumbers``, changed in place.
        titles: each document's title as text.
    """
    for docname, figtypes in toc_fignumbers.items():
        numbers = figtypes.get(FIGTYPE)
        chapter = chapter_number(titles.get(docname, ""), docname)
        if not numbers or chapter is None:
            continue
        in_order = sorted(numbers, key=lambda ident: numbers[ident])
        figtypes[FIGTYPE] = {ident: (chapter, n) for n, ident in enumerate(in_order, start=1)}


def restore_sphinx_numbers(app: Any, env: Any, docnames: list[str]) -> None:
    """Before reading: give Sphinx back its own numbers from the last build, to compare against."""
    kept = getattr(env, "resnet_edu_sphinx_fignumbers", None)
    if kept is not None:
        env.toc_fignumbers = kept


def number_per_chapter(app: Any, env: Any) -> list[str]:
    """After Sphinx numbered the figures (``env-get-updated``): renumber the exercises."""
    env.resnet_edu_sphinx_fignumbers = {
        doc: {figtype: dict(ids) for figtype, ids in figtypes.items()} for doc, figtypes in env.toc_fignumbers.items()
    }
    renumber(env.toc_fignumbers, {doc: title.astext() for doc, title in env.titles.items()})
    return []


def setup(app: Any) -> dict[str, Any]:
    """Renumber late, after Sphinx's toctree collector (priority 500) assigned its numbers."""
    app.connect("env-before-read-docs", restore_sphinx_numbers)
    app.connect("env-get-updated", number_per_chapter, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
