"""An instructor's whole loop with nbgrader's own commands, on real exercises of the book.

``nbgrader quickstart`` makes a course, ``nbgrader generate_assignment`` makes the student
version of an assignment, and ``nbgrader autograde`` grades two submissions: the release with
the solutions filled in gets full marks, the release untouched gets zero. The assignment is
chapter 4's first cell, its imports and two of its exercises (``ex-04-cifar-depth`` and
``ex-04-make-stage``), cells copied unchanged: the whole chapter would take minutes to execute
twice. nbgrader calls ``alembic``, so the venv's ``bin/`` goes first on PATH; its "checksum has
changed" warnings for autograder cells with hidden tests are expected.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "book" / "04_building_resnets.ipynb"
EXERCISES = ("ex-04-cifar-depth", "ex-04-make-stage")
ASSIGNMENT = "ch04"

pytestmark = pytest.mark.skipif(shutil.which("nbgrader", path=str(Path(sys.executable).parent)) is None,
                                reason="nbgrader is not installed in this environment (pip install -e tools)")


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def assignment_from_chapter(chapter: Path, labels: tuple[str, ...]) -> nbformat.NotebookNode:
    """The chapter's first two code cells (set-up, imports) and the cells of the exercises ``labels``.

    An exercise's cells are its ``{exercise}`` markdown cell and every cell after it up to the
    next ``{exercise}`` (its solution cell, autograder cell and written solution).
    """
    nb = nbformat.read(str(chapter), as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    cells = [copy.deepcopy(code[0]), copy.deepcopy(code[1])]
    taking = False
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "{exercise}" in cell.source:
            taking = any(f":label: {label}" in cell.source for label in labels)
        if taking:
            cells.append(copy.deepcopy(cell))
    for cell in cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
    assignment = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(nb.metadata))
    assignment.metadata.pop("widgets", None)
    return assignment


def solved(release: nbformat.NotebookNode, source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The release with each solution cell's stub replaced by the instructor's answer (markers dropped)."""
    answers = {_meta(c)["grade_id"]: c.source for c in source.cells if _meta(c).get("solution")}
    submission = copy.deepcopy(release)
    for cell in submission.cells:
        meta = _meta(cell)
        if meta.get("solution") and cell.cell_type == "code":
            lines = answers[meta["grade_id"]].split("\n")
            cell.source = "\n".join(line for line in lines if "### BEGIN SOLUTION" not in line
                                    and "### END SOLUTION" not in line)
    return submission


def nbgrader(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run([str(bin_dir / "nbgrader"), *args], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{(result.stdout + result.stderr)[-3000:]}"
    return result


@pytest.mark.slow
def test_quickstart_generate_and_autograde_two_submissions(tmp_path):
    started = time.perf_counter()
    nbgrader("quickstart", "course", cwd=tmp_path)
    course = tmp_path / "course"
    source = assignment_from_chapter(CHAPTER, EXERCISES)
    assert sum(1 for c in source.cells if _meta(c).get("grade")) == len(EXERCISES)
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(source, str(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))

    nbgrader("generate_assignment", ASSIGNMENT, "--force", cwd=course)
    release = nbformat.read(str(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4)
    text = "\n".join(c.source for c in release.cells)
    assert "raise NotImplementedError()" in text and "### BEGIN SOLUTION" not in text
    assert "### BEGIN HIDDEN TESTS" not in text

    for student, notebook in (("solved", solved(release, source)), ("untouched", release)):
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(notebook, str(folder / f"{ASSIGNMENT}.ipynb"))
    nbgrader("autograde", ASSIGNMENT, "--force", cwd=course)

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        full = gradebook.find_submission(ASSIGNMENT, "solved")
        empty = gradebook.find_submission(ASSIGNMENT, "untouched")
        max_score = full.max_score
        assert max_score == sum(_meta(c)["points"] for c in source.cells if _meta(c).get("grade")) > 0
        assert full.score == max_score, f"the solved submission got {full.score} of {max_score}"
        assert empty.score == 0, f"the untouched release got {empty.score} of {max_score}"
    assert time.perf_counter() - started < 180  # about 30 s on two cores
