"""Student copies of the chapters, made with nbgrader's own preprocessors.

Every code exercise in the book follows nbgrader's conventions: a *solution cell*
(``metadata.nbgrader.solution = true``) whose answer sits between ``### BEGIN SOLUTION``
and ``### END SOLUTION``, then an *autograder cell* (``grade = true``, ``points``) with
visible checks and hidden ones between ``### BEGIN HIDDEN TESTS`` and
``### END HIDDEN TESTS``. A student copy replaces each solution with nbgrader's stub
(``# YOUR CODE HERE`` / ``raise NotImplementedError()``), removes the hidden tests and
clears every output, so it runs up to its first exercise and stops there.

Command line (``make student`` calls the first)::

    python -m book_tools.student student book/ student/
    python -m book_tools.student student book/ student/ --check   # and run each to its first exercise
    python -m book_tools.student validate book/

nbgrader is a dependency of the book's tools, not of the package: ``pip install -e tools``
in a clone (``make`` does it). No course database is needed: the preprocessors run on their
own, as under ``jupyter nbconvert``.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path
from typing import Any, Sequence

import nbformat

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
INSTALL_HINT = "nbgrader is needed to make student copies: pip install -e tools (in a clone of the repository)"


def _nbgrader_preprocessors() -> list[Any]:
    """nbgrader's assignment pipeline without the parts that need a course database."""
    try:
        from nbgrader.preprocessors import (
            CheckCellMetadata,
            ClearHiddenTests,
            ClearMarkScheme,
            ClearOutput,
            ClearSolutions,
            ComputeChecksums,
            LockCells,
        )
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    # The order of nbgrader's GenerateAssignment, minus IncludeHeaderFooter,
    # InstantiateTests and SaveCells (the database).
    return [
        LockCells(),
        ClearSolutions(),
        ClearOutput(),
        CheckCellMetadata(),
        ClearHiddenTests(),
        ClearMarkScheme(),
        ComputeChecksums(),
        CheckCellMetadata(),
    ]


def _read(notebook: nbformat.NotebookNode | str | Path) -> nbformat.NotebookNode:
    if isinstance(notebook, (str, Path)):
        return nbformat.read(str(notebook), as_version=4)
    return notebook


def _nbgrader(cell: Any) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def has_exercises(notebook: nbformat.NotebookNode | str | Path) -> bool:
    """True if any cell carries nbgrader metadata (an exercise or an autograder cell).

    Args:
        notebook: a notebook node or the path of an .ipynb file.
    """
    return any(_nbgrader(cell) for cell in _read(notebook).cells)


def _region_problems(source: str, begin: str, end: str, where: str) -> list[str]:
    problems, inside = [], False
    for line in source.split("\n"):
        if begin in line:
            if inside:
                problems.append(f"{where}: nested '{begin}'")
            inside = True
        elif end in line:
            if not inside:
                problems.append(f"{where}: '{end}' without '{begin}'")
            inside = False
    if inside:
        problems.append(f"{where}: '{begin}' without '{end}'")
    return problems


def validate_exercise_cells(notebook: nbformat.NotebookNode | str | Path) -> list[str]:
    """Check a notebook's exercise cells against nbgrader's conventions; return the problems.

    Checked: every solution region sits in a cell with ``solution: true`` and every hidden
    test region in one with ``grade: true``; regions are balanced; metadata has
    ``schema_version`` 3, a ``grade_id`` unique in the notebook, ``locked`` (False for
    solution cells), and ``points`` > 0 on grade cells; each code solution cell is
    followed by an autograder cell before the next solution.

    Args:
        notebook: a notebook node or the path of an .ipynb file.

    Returns:
        One line per problem; an empty list when the notebook is fine.
    """
    nb = _read(notebook)
    problems: list[str] = []
    seen_ids: dict[str, int] = {}
    waiting_for_test: int | None = None
    for index, cell in enumerate(nb.cells):
        meta, source = _nbgrader(cell), cell.get("source", "")
        where = f"cell {index}" + (f" ({meta['grade_id']})" if meta.get("grade_id") else "")
        problems += _region_problems(source, BEGIN_SOLUTION, END_SOLUTION, where)
        problems += _region_problems(source, BEGIN_HIDDEN, END_HIDDEN, where)
        if BEGIN_SOLUTION in source and not meta.get("solution"):
            problems.append(f"{where}: has a solution region but not metadata.nbgrader.solution = true")
        if BEGIN_HIDDEN in source and not meta.get("grade"):
            problems.append(f"{where}: has hidden tests but not metadata.nbgrader.grade = true")
        if not meta:
            continue
        if meta.get("schema_version") != 3:
            problems.append(f"{where}: metadata.nbgrader.schema_version must be 3, got {meta.get('schema_version')!r}")
        grade_id = meta.get("grade_id")
        if not isinstance(grade_id, str) or not grade_id:
            problems.append(f"{where}: metadata.nbgrader.grade_id is missing")
        elif grade_id in seen_ids:
            problems.append(f"{where}: grade_id {grade_id!r} is already used by cell {seen_ids[grade_id]}")
        else:
            seen_ids[grade_id] = index
        for key in ("grade", "solution", "locked"):
            if not isinstance(meta.get(key), bool):
                problems.append(f"{where}: metadata.nbgrader.{key} must be true or false")
        if meta.get("solution") and meta.get("locked"):
            problems.append(f"{where}: a solution cell must not be locked")
        if meta.get("grade"):
            points = meta.get("points")
            if isinstance(points, bool) or not isinstance(points, (int, float)) or points <= 0:
                problems.append(f"{where}: a grade cell needs metadata.nbgrader.points > 0, got {points!r}")
        if meta.get("solution") and not meta.get("grade") and cell.cell_type == "code":
            if waiting_for_test is not None:
                problems.append(f"cell {waiting_for_test}: solution cell without an autograder cell after it")
            waiting_for_test = index
        elif meta.get("grade") and cell.cell_type == "code":
            waiting_for_test = None
    if waiting_for_test is not None:
        problems.append(f"cell {waiting_for_test}: solution cell without an autograder cell after it")
    return problems


_SOLUTION_DIRECTIVE = re.compile(r"^(```+|:::+)\{solution\}", re.MULTILINE)


def is_solution_markdown(cell: Any) -> bool:
    """Whether a cell is a markdown cell holding a sphinx-exercise ``{solution}`` directive."""
    return cell.get("cell_type") == "markdown" and bool(_SOLUTION_DIRECTIVE.search("".join(cell.get("source", ""))))


def student_notebook(notebook: nbformat.NotebookNode | str | Path) -> nbformat.NotebookNode:
    """The student version of one notebook: solutions stubbed, hidden tests gone, no outputs.

    Args:
        notebook: a notebook node (not modified) or the path of an .ipynb file.

    Raises:
        ValueError: if :func:`validate_exercise_cells` finds problems.
        ImportError: if nbgrader is not installed.
    """
    nb = copy.deepcopy(_read(notebook))
    problems = validate_exercise_cells(nb)
    if problems:
        raise ValueError("the exercise cells break nbgrader's conventions:\n  " + "\n  ".join(problems))
    resources: dict[str, Any] = {}
    for preprocessor in _nbgrader_preprocessors():
        nb, resources = preprocessor.preprocess(nb, resources)
    # The book's written solutions (sphinx-exercise ``{solution}`` directives, shown collapsed
    # on the site) have no place in a student copy: drop the cells that hold them.
    nb.cells = [cell for cell in nb.cells if not is_solution_markdown(cell)]
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)  # timings of the instructor's run
    nb.metadata.pop("widgets", None)  # saved widget state is an output too
    return nb


def first_exercise(notebook: nbformat.NotebookNode | str | Path) -> tuple[int, int] | None:
    """Indices of the first code solution cell and of the first autograder cell after it.

    Args:
        notebook: a notebook node or the path of an .ipynb file.

    Returns:
        ``(solution_index, grader_index)``, or None if the notebook has no code exercise.
    """
    cells = _read(notebook).cells
    solution = next((i for i, c in enumerate(cells) if c.cell_type == "code" and _nbgrader(c).get("solution")), None)
    if solution is None:
        return None
    grader = next((i for i in range(solution + 1, len(cells)) if _nbgrader(cells[i]).get("grade")), None)
    return None if grader is None else (solution, grader)


def run_to_first_exercise(
    student: nbformat.NotebookNode | str | Path, cwd: str | Path = ".", timeout: int = 600
) -> tuple[int, str]:
    """Execute a student copy up to its first autograder cell; return where and how it stopped.

    A stub at the top level stops the run at the solution cell; a stub inside a class or
    function stops it at the autograder cell, whose checker reports the NotImplementedError.
    Cells after the first exercise are not run.

    Args:
        student: a student notebook (from :func:`student_notebook`) or its path.
        cwd: the folder the kernel runs in (the chapter's folder, for relative paths).
        timeout: seconds allowed per cell.

    Returns:
        ``(index of the cell that raised, "ErrorName: message")``.

    Raises:
        ValueError: if the notebook has no code exercise.
        RuntimeError: if the run does not stop with NotImplementedError at the first exercise.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = copy.deepcopy(_read(student))
    where = first_exercise(nb)
    if where is None:
        raise ValueError("the notebook has no code exercise (a solution cell followed by an autograder cell)")
    solution, grader = where
    nb.cells = nb.cells[: grader + 1]
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute()
    except CellExecutionError:
        pass
    else:
        raise RuntimeError(f"the student copy ran through its first exercise (cells {solution}-{grader}) without stopping")
    failed = next(i for i, c in enumerate(nb.cells) if any(o.get("output_type") == "error" for o in c.get("outputs", [])))
    error = next(o for o in nb.cells[failed].outputs if o.get("output_type") == "error")
    text = f"{error['ename']}: {error['evalue']}"
    if failed not in (solution, grader) or "NotImplementedError" not in text:
        raise RuntimeError(f"the student copy stopped at cell {failed} with {text}, not at its first exercise "
                           f"(cells {solution}-{grader}) with NotImplementedError")
    return failed, text


_PROBE = """\
# resnet-edu test probe (tests/conftest.py): the student copy's first exercise, run here. Not part of the chapter.
def __student_probe(cells):
    import random
    import IPython
    import numpy
    import torch
    shell = IPython.get_ipython()
    namespace = dict(shell.user_ns)  # a copy: the student's stubs never replace the chapter's names
    # the random states too: a checker that draws numbers must not change the chapter's later outputs
    states = random.getstate(), numpy.random.get_state(), torch.get_rng_state()
    try:
        for source in cells:
            try:
                exec(compile(shell.transform_cell(source), "<student copy>", "exec"), namespace)
            except BaseException as error:
                text = f"{type(error).__name__}: {error}"
                assert "NotImplementedError" in text, (
                    f"the student copy's first exercise stopped with {text}, not with NotImplementedError")
                return
        raise AssertionError("the student copy ran through its first exercise without stopping at NotImplementedError")
    finally:
        random.setstate(states[0]); numpy.random.set_state(states[1]); torch.set_rng_state(states[2])
__student_probe(CELLS)
del __student_probe
"""


def student_probe(notebook: nbformat.NotebookNode | str | Path) -> tuple[int, str] | None:
    """A code cell that checks a chapter's student copy inside the chapter's own test run.

    :func:`run_to_first_exercise` runs a student copy from the top; for a chapter, whose exercises
    close it, that repeats nearly the whole chapter. This gives the same check at no cost to a run
    of the chapter itself (nbval, see tests/conftest.py):

    * every code cell of the student copy before its first exercise must be the chapter's own
      cell, unchanged (so the chapter's run has executed exactly what a student runs), and
    * the returned probe, executed in the chapter's kernel just before the chapter's first solution
      cell, runs the student copy's cells of that exercise (the stubbed solution up to its
      autograder cell) on a *copy* of the kernel's namespace, and fails unless they stop with
      NotImplementedError, as :func:`run_to_first_exercise` requires; Python's, NumPy's and
      PyTorch's random states are restored afterwards, so the chapter's later outputs are unchanged.

    Args:
        notebook: the chapter (a notebook node or the path of an .ipynb file).

    Returns:
        ``(k, source)``: insert the probe before the chapter's k-th code cell (counting from 0);
        None if the chapter has no code exercise. If the student copy's cells before the exercise
        differ from the chapter's, the probe is a cell that fails saying which one.
    """
    original = _read(notebook)
    where = first_exercise(original)
    if where is None:
        return None
    position = sum(1 for cell in original.cells[: where[0]] if cell.cell_type == "code")
    student = student_notebook(original)
    solution, grader = first_exercise(student)
    before = [c.source for c in student.cells[:solution] if c.cell_type == "code"]
    chapter = [c.source for c in original.cells[: where[0]] if c.cell_type == "code"]
    if before != chapter:
        k = next((i for i, (a, b) in enumerate(zip(before, chapter)) if a != b), min(len(before), len(chapter)))
        message = f"the student copy's code cell {k} before the first exercise differs from the chapter's"
        return position, f"raise AssertionError({message!r})"
    cells = [c.source for c in student.cells[solution: grader + 1] if c.cell_type == "code"]
    return position, _PROBE.replace("CELLS", repr(cells), 1)


def _chapters(source_dir: Path) -> list[Path]:
    return sorted(
        p for p in source_dir.rglob("*.ipynb")
        if not any(part.startswith(("_", ".")) for part in p.relative_to(source_dir).parts)
    )


def make_student_copies(source_dir: str | Path, dest_dir: str | Path) -> list[Path]:
    """Write the student version of every notebook under ``source_dir`` into ``dest_dir``.

    Folders starting with ``_`` or ``.`` (``_build``, ``.ipynb_checkpoints``) are skipped;
    relative paths are kept. Notebooks without exercises get their outputs cleared too.

    Args:
        source_dir: the book's folder, e.g. ``book/``.
        dest_dir: where the copies go (created if needed; files there are overwritten).

    Returns:
        The paths written.

    Raises:
        FileNotFoundError: if ``source_dir`` is not a folder or holds no notebook.
        ValueError: if a notebook's exercise cells break nbgrader's conventions.
    """
    source, dest = Path(source_dir), Path(dest_dir)
    if not source.is_dir():
        raise FileNotFoundError(f"no such folder: {source}")
    if dest.resolve() == source.resolve():
        raise ValueError("dest_dir must differ from source_dir: the student copies would overwrite the solutions")
    chapters = _chapters(source)
    if not chapters:
        raise FileNotFoundError(f"no notebook (*.ipynb) in {source}")
    students = {path: student_notebook(path) for path in chapters}  # all validated before writing
    written = []
    for path, nb in students.items():
        target = dest / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(target))
        written.append(target)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``student SOURCE DEST`` or ``validate SOURCE``; returns the exit status.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(prog="python -m book_tools.student", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    student = commands.add_parser("student", help="write student copies of every chapter")
    student.add_argument("source", type=Path, help="the book's folder, e.g. book/")
    student.add_argument("dest", type=Path, help="the output folder, e.g. student/")
    student.add_argument("--check", action="store_true",
                         help="execute each copy up to its first exercise and check it stops there")
    validate = commands.add_parser("validate", help="check the exercise cells of every chapter")
    validate.add_argument("source", type=Path, help="the book's folder, e.g. book/")
    args = parser.parse_args(argv)
    try:
        if args.command == "validate":
            chapters = _chapters(args.source) if args.source.is_dir() else []
            if not chapters:
                print(f"error: no notebook (*.ipynb) in {args.source}", file=sys.stderr)
                return 2
            bad = {p: validate_exercise_cells(p) for p in chapters}
            for path, problems in bad.items():
                for problem in problems:
                    print(f"{path}: {problem}", file=sys.stderr)
            exercises = sum(has_exercises(p) for p in chapters)
            if any(bad.values()):
                return 1
            print(f"{len(chapters)} notebooks checked, {exercises} with exercises: all follow nbgrader's conventions")
            return 0
        written = make_student_copies(args.source, args.dest)
        print(f"wrote {len(written)} student notebooks to {args.dest}")
        if args.check:
            for path in written:
                if first_exercise(path) is not None:
                    cell, error = run_to_first_exercise(path, cwd=args.source / path.parent.relative_to(args.dest))
                    print(f"{path}: stops at cell {cell}: {error.splitlines()[0][:120]}")
    except ImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
