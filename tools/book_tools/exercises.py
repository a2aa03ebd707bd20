"""The exercises of the book, read from the chapter notebooks (for the instructors page).

Each exercise is a sphinx-exercise ``{exercise}`` directive (with a ``:label:``) in a
markdown cell. An exercise answered with code or a number is followed by an nbgrader
*solution cell* and an *autograder cell* (see :mod:`book_tools.student`); a conceptual
one has neither. ``book/instructors.ipynb`` calls these functions to list every exercise:
what it asks, what checks it, its points and a time estimate.

The notebooks are read as plain JSON. ``resnet_edu.teaching.checks`` is imported only
when :func:`what_it_checks` needs a checker's documentation.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from book_tools.student import BEGIN_HIDDEN

EXERCISE = re.compile(r"^(`{3,}|:{3,})\{exercise\}[ \t]*(?P<title>.*)$", re.M)
LABEL = re.compile(r"^:label:[ \t]*(?P<label>\S+)", re.M)
CHECKER = re.compile(r"\b(check_\w+)\(")
ASSERT = re.compile(r"^\s*assert\b", re.M)
DEFINITION = re.compile(r"^\s*(def|class)\s", re.M)
HEADING = re.compile(r"^#\s+(.+)$", re.M)

KINDS = ("conceptual", "computation", "code")
MINUTES = {"conceptual": (5, 10), "computation": (10, 10), "code": (20, 30)}
"""Time estimate (low, high) in minutes per exercise kind, for a student who has read the chapter."""

CHECKERS_MODULE = "resnet_edu.teaching.checks"
COLAB_GITHUB = "https://colab.research.google.com/github/"


@dataclass
class SolutionCell:
    """An exercise's nbgrader solution cell."""

    grade_id: str | None
    source: str


@dataclass
class GraderCell:
    """An exercise's nbgrader autograder cell, as far as its visible part tells."""

    grade_id: str | None
    points: float
    checkers: list[str]
    """Names of the ``check_...`` functions it calls, in order (repeats kept)."""
    asserts: int
    """Number of its own ``assert`` statements."""


@dataclass
class Exercise:
    """One ``{exercise}`` directive and the nbgrader cells that follow it."""

    title: str
    label: str
    solution: SolutionCell | None = None
    grader: GraderCell | None = None

    @property
    def kind(self) -> str:
        """``"conceptual"``, ``"computation"`` or ``"code"``: see :func:`exercise_kind`."""
        return exercise_kind(self)


# ------------------------------------------------------------------ finding the book

def book_root(start: Path | str | None = None) -> Path | None:
    """The repository folder (the one holding ``_toc.yml``), searched from ``start`` upwards.

    Args:
        start: where to start (default: the current folder).

    Returns:
        The folder, or None outside a clone of the repository.
    """
    start = Path.cwd() if start is None else Path(start)
    for folder in [start, *start.parents]:
        if (folder / "_toc.yml").exists():
            return folder
    return None


def github_slug(url: str) -> str:
    """``"org/repo"`` from a GitHub repository URL (``https://github.com/org/repo[.git]``)."""
    return re.sub(r"^https://github\.com/|\.git$", "", url)


def colab_link(org_repo: str, notebook: Path | str, branch: str = "main") -> str:
    """The Colab URL that opens the student copy of ``notebook`` (``student/<name>``) from GitHub."""
    return f"{COLAB_GITHUB}{org_repo}/blob/{branch}/student/{Path(notebook).name}"


def colab_table(org_repo: str, notebooks: Iterable[Path], branch: str = "main") -> str:
    """A markdown table: one row per chapter, with the Colab link to its student copy."""
    lines = ["| Chapter | Colab link to the student copy |", "|---|---|"]
    lines += [f"| `{path.stem}` | <{colab_link(org_repo, path, branch)}> |" for path in notebooks]
    return "\n".join(lines)


# ------------------------------------------------------------------ reading a chapter

def cell_source(cell: Mapping[str, Any]) -> str:
    """A cell's source as one string (notebooks store it as a string or a list of lines)."""
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def read_cells(notebook: Path | str) -> list[dict[str, Any]]:
    """The cells of a notebook file, as plain JSON dicts."""
    return json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]


def grader_cell(meta: Mapping[str, Any], source: str) -> GraderCell:
    """What an autograder cell checks, from its nbgrader metadata and its visible source.

    Only the part before the hidden tests counts: that is what the student sees.
    """
    visible = source.split(BEGIN_HIDDEN)[0]
    return GraderCell(grade_id=meta.get("grade_id"), points=meta.get("points", 0),
                      checkers=CHECKER.findall(visible), asserts=len(ASSERT.findall(visible)))


def exercise_kind(exercise: Exercise) -> str:
    """The kind of an exercise, read from its cells.

    ``"conceptual"`` without nbgrader cells (a prose answer); ``"code"`` when its solution
    cell defines a function or a class; ``"computation"`` otherwise (a number, a short run).
    """
    if exercise.solution is None and exercise.grader is None:
        return "conceptual"
    if exercise.solution is not None and DEFINITION.search(exercise.solution.source):
        return "code"
    return "computation"


def exercises(notebook: Path | str) -> list[Exercise]:
    """Every exercise of one chapter notebook, in reading order.

    The first nbgrader solution cell and the first autograder cell after an ``{exercise}``
    directive (and before the next one) belong to it.
    """
    found: list[Exercise] = []
    for cell in read_cells(notebook):
        text = cell_source(cell)
        if cell["cell_type"] == "markdown":
            for match in EXERCISE.finditer(text):
                label = LABEL.search(text, match.end())
                found.append(Exercise(title=match["title"].strip(), label=label["label"] if label else ""))
        elif found and cell.get("metadata", {}).get("nbgrader"):
            meta, last = cell["metadata"]["nbgrader"], found[-1]
            if meta.get("solution") and last.solution is None:
                last.solution = SolutionCell(grade_id=meta.get("grade_id"), source=text)
            elif meta.get("grade") and last.grader is None:
                last.grader = grader_cell(meta, text)
    return found


def exercise_problems(notebook: Path | str, found: Iterable[Exercise]) -> list[str]:
    """What is wrong with a chapter's exercises; an empty list when nothing is.

    Every exercise needs a ``:label:``; every exercise that is not conceptual needs both
    nbgrader cells, and its autograder cell must call a checker or ``assert`` something.
    """
    problems = []
    for exercise in found:
        where = f"{Path(notebook).name}: exercise {exercise.title!r}"
        if not exercise.label:
            problems.append(f"{where} has no :label:")
        if exercise.kind == "conceptual":
            continue
        if exercise.solution is None or exercise.grader is None:
            problems.append(f"{where}: solution or autograder cell missing")
        elif not (exercise.grader.checkers or exercise.grader.asserts):
            problems.append(f"{where}: its autograder cell checks nothing")
    return problems


def chapter_title(notebook: Path | str) -> str:
    """The chapter's title: the first ``# `` heading of its markdown cells (else the file's stem)."""
    for cell in read_cells(notebook):
        if cell["cell_type"] == "markdown":
            heading = HEADING.search(cell_source(cell))
            if heading:
                return heading[1].strip()
    return Path(notebook).stem


def what_it_checks(name: str) -> str:
    """The first line of the docstring of checker ``name`` in ``resnet_edu.teaching.checks``."""
    checker = getattr(importlib.import_module(CHECKERS_MODULE), name, None)
    doc = inspect.getdoc(checker) if checker is not None else None
    return doc.splitlines()[0] if doc else f"(not a {CHECKERS_MODULE} checker)"


# ------------------------------------------------------------------ the tables

def minutes(kinds: Sequence[str]) -> str:
    """The time estimate for exercises of these kinds: ``"low-high min"`` (or ``"n min"``)."""
    low = sum(MINUTES[k][0] for k in kinds)
    high = sum(MINUTES[k][1] for k in kinds)
    return f"{low} min" if low == high else f"{low}-{high} min"


def escape(text: str) -> str:
    """Text made safe inside a markdown table cell."""
    return text.replace("|", "\\|")


def summary_table(book: Mapping[Path, Sequence[Exercise]]) -> str:
    """A markdown table, one row per chapter with exercises: count, kinds, points, time.

    Args:
        book: each chapter notebook and its :func:`exercises`.

    Returns:
        The table, or ``""`` if no chapter has an exercise.
    """
    rows = []
    for path, found in book.items():
        if not found:
            continue
        kinds = [e.kind for e in found]
        points = sum(e.grader.points for e in found if e.grader)
        split = " / ".join(str(kinds.count(k)) for k in KINDS)
        rows.append(f"| {escape(chapter_title(path))} | {len(found)} | {split} | {points:g} | {minutes(kinds)} |")
    if not rows:
        return ""
    header = ["| Chapter | Exercises | Conceptual / computation / code | Points | Time |", "|---|---|---|---|---|"]
    return "\n".join(header + rows)


def checked_by(exercise: Exercise) -> str:
    """What grades an exercise: its checkers (with what each checks), its asserts, or the instructor."""
    grader = exercise.grader
    if grader is None:
        return "the instructor, against the solution (prose answer)"
    checks = "; ".join(f"`{name}`: {escape(what_it_checks(name))}" for name in dict.fromkeys(grader.checkers))
    return checks or f"{grader.asserts} `assert` statement(s) in the autograder cell"


def chapter_table(notebook: Path | str, found: Iterable[Exercise]) -> str:
    """A chapter's title in bold and a markdown table with one row per exercise.

    The columns: title and label, kind and time, points and the autograder cell's
    ``grade_id``, and :func:`checked_by`.
    """
    rows = [f"**{escape(chapter_title(notebook))}**", "",
            "| Exercise (label) | Kind, time | Points (nbgrader cell) | What checks it |",
            "|---|---|---|---|"]
    for exercise in found:
        grader = exercise.grader
        points = f"{grader.points:g} (`{grader.grade_id}`)" if grader else "-"
        rows.append(f"| {escape(exercise.title)} (`{exercise.label}`) "
                    f"| {exercise.kind}, {minutes([exercise.kind])} | {points} | {checked_by(exercise)} |")
    return "\n".join(rows)
