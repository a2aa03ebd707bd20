"""Student copies: solutions stubbed, hidden tests gone, outputs cleared, and the copy
stops at its first exercise. Checked on a small synthetic chapter and on every chapter
of book/ that has exercises."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from book_tools import student as instructor
from book_tools.student import (
    first_exercise,
    make_student_copies,
    run_to_first_exercise,
    student_notebook,
    validate_exercise_cells,
)

BOOK = Path(__file__).resolve().parent.parent / "book"
REGIONS = [(instructor.BEGIN_SOLUTION, instructor.END_SOLUTION), (instructor.BEGIN_HIDDEN, instructor.END_HIDDEN)]


def _meta(grade_id, *, solution=False, grade=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": not solution, "schema_version": 3, "solution": solution}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def synthetic_chapter():
    """A chapter with outputs, one top-level exercise, an autograder cell with hidden tests, and more."""
    intro = new_code_cell("greeting = 'hello'\nprint(greeting)", execution_count=1)
    intro.outputs = [new_output("stream", name="stdout", text="hello\n")]
    solution = new_code_cell(
        "# How many parameters has a 3x3 conv from 16 to 32 channels, no bias?\n"
        "### BEGIN SOLUTION\nanswer = 9 * 16 * 32  # secret-solution-line\n### END SOLUTION\n",
        metadata=_meta("ex-conv", solution=True), execution_count=2,
    )
    tests = new_code_cell(
        "assert isinstance(answer, int)\n### BEGIN HIDDEN TESTS\nassert answer == 4608  # hidden-check-line\n"
        "### END HIDDEN TESTS\n",
        metadata=_meta("ex-conv-test", grade=True, points=1), execution_count=3,
    )
    helper = new_code_cell(
        "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x  # second-secret\n    ### END SOLUTION\n",
        metadata=_meta("ex-double", solution=True),
    )
    helper_tests = new_code_cell("assert double(2) == 4\n", metadata=_meta("ex-double-test", grade=True, points=1))
    written = new_markdown_cell("Why?\n\n### BEGIN SOLUTION\nBecause shortcuts-secret.\n### END SOLUTION",
                                metadata=_meta("ex-why", solution=True, grade=True, points=1))
    after = new_code_cell("print('after the exercise')", execution_count=4)
    after.outputs = [new_output("stream", name="stdout", text="after the exercise\n")]
    nb = new_notebook(cells=[new_markdown_cell("# Chapter"), intro, solution, tests, helper, helper_tests,
                             written, after])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb


def secret_lines(nb) -> set[str]:
    """Lines inside solution/hidden regions (or whole marker-less solution cells) found nowhere else."""
    inside, outside = set(), set()
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        lines = cell.source.split("\n")
        if meta.get("solution") and instructor.BEGIN_SOLUTION not in cell.source:
            inside.update(lines)
            continue
        region = None
        for line in lines:
            begin = next((end for begin, end in REGIONS if begin in line), None)
            if begin is not None:
                region = begin
            elif region is not None and region in line:
                region = None
            elif region is None:
                outside.add(line.strip())
            else:
                inside.add(line.strip())
    return {line for line in inside - outside if any(ch.isalnum() for ch in line)}


def assert_student_copy(original, student):
    secrets = secret_lines(original)
    student_lines = {line.strip() for cell in student.cells for line in cell.source.split("\n")}
    assert not secrets & student_lines, f"solution or hidden-test lines leaked: {secrets & student_lines}"
    for cell in student.cells:
        assert not any(marker in cell.source for pair in REGIONS for marker in pair)
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    kept = [c for c in original.cells if not instructor.is_solution_markdown(c)]
    assert len(student.cells) == len(kept)
    assert "widgets" not in student.metadata


def test_synthetic_chapter_student_copy(tmp_path):
    source, dest = tmp_path / "book", tmp_path / "student"
    source.mkdir()
    original = synthetic_chapter()
    nbformat.write(original, str(source / "01_chapter.ipynb"))
    (source / "_build").mkdir()
    nbformat.write(original, str(source / "_build" / "copy.ipynb"))  # build outputs are skipped
    assert instructor.main(["student", str(source), str(dest)]) == 0
    assert sorted(p.name for p in dest.rglob("*.ipynb")) == ["01_chapter.ipynb"]
    student = nbformat.read(str(dest / "01_chapter.ipynb"), as_version=4)
    assert secret_lines(original) >= {"answer = 9 * 16 * 32  # secret-solution-line",
                                      "assert answer == 4608  # hidden-check-line",
                                      "return 2 * x  # second-secret", "Because shortcuts-secret."}
    assert_student_copy(original, student)
    assert "# YOUR CODE HERE\nraise NotImplementedError()" in student.cells[2].source
    assert "    # YOUR CODE HERE\n    raise NotImplementedError()" in student.cells[4].source
    assert "YOUR ANSWER HERE" in student.cells[6].source
    assert student.cells[3].source.startswith("assert isinstance(answer, int)")  # visible tests stay
    assert student.cells[3].metadata.nbgrader["locked"] and student.cells[3].metadata.nbgrader["points"] == 1
    failed, error = run_to_first_exercise(student, dest, timeout=60)
    assert (failed, error.split(":")[0]) == (2, "NotImplementedError")


def test_run_to_first_exercise_refuses_a_copy_that_does_not_stop(tmp_path):
    solved = synthetic_chapter()  # the instructor's version: the exercise runs through
    with pytest.raises(RuntimeError, match="ran through its first exercise"):
        run_to_first_exercise(solved, tmp_path, timeout=60)


def test_command_line_module(tmp_path, capsys):
    source = tmp_path / "book"
    source.mkdir()
    nbformat.write(synthetic_chapter(), str(source / "01_chapter.ipynb"))
    run = subprocess.run(
        [sys.executable, "-m", "book_tools.student", "student", str(source), str(tmp_path / "s"), "--check"],
        capture_output=True, text=True, check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "wrote 1 student notebooks" in run.stdout
    assert "01_chapter.ipynb: stops at cell 2: NotImplementedError" in run.stdout
    assert instructor.main(["validate", str(source)]) == 0
    assert "1 with exercises" in capsys.readouterr().out


def _broken(edit):
    nb = synthetic_chapter()
    edit(nb.cells)
    return validate_exercise_cells(nb)


def test_validator_accepts_the_synthetic_chapter():
    assert validate_exercise_cells(synthetic_chapter()) == []


@pytest.mark.parametrize(
    "edit, phrase",
    [
        (lambda c: c[2].metadata.pop("nbgrader"), "has a solution region but not metadata.nbgrader.solution"),
        (lambda c: c[3].metadata.nbgrader.update(grade=False), "has hidden tests but not metadata.nbgrader.grade"),
        (lambda c: c[5].metadata.nbgrader.update(grade_id="ex-conv"), "grade_id 'ex-conv' is already used by cell 2"),
        (lambda c: c[3].metadata.nbgrader.pop("points"), "needs metadata.nbgrader.points > 0"),
        (lambda c: c[2].metadata.nbgrader.update(schema_version=1), "schema_version must be 3"),
        (lambda c: c[2].metadata.nbgrader.update(locked=True), "a solution cell must not be locked"),
        (lambda c: setattr(c[2], "source", c[2].source.replace(instructor.END_SOLUTION, "")), "without '### END SOLUTION'"),
        (lambda c: c.pop(5), "cell 4: solution cell without an autograder cell after it"),
    ],
)
def test_validator_finds_each_problem(edit, phrase):
    problems = _broken(edit)
    assert any(phrase in p for p in problems), problems


def test_invalid_chapter_is_refused(tmp_path):
    nb = synthetic_chapter()
    nb.cells[2].metadata.pop("nbgrader")
    with pytest.raises(ValueError, match="nbgrader's conventions"):
        student_notebook(nb)
    (tmp_path / "book").mkdir()
    nbformat.write(nb, str(tmp_path / "book" / "01.ipynb"))
    assert instructor.main(["student", str(tmp_path / "book"), str(tmp_path / "out")]) == 1
    assert not (tmp_path / "out").exists()  # nothing written when a chapter is invalid


def test_missing_nbgrader_gives_the_install_command(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "nbgrader.preprocessors", None)  # makes the import fail
    with pytest.raises(ImportError, match=re.escape("pip install -e tools")):
        student_notebook(synthetic_chapter())
    (tmp_path / "book").mkdir()
    nbformat.write(synthetic_chapter(), str(tmp_path / "book" / "01.ipynb"))
    assert instructor.main(["student", str(tmp_path / "book"), str(tmp_path / "out")]) == 2
    assert "pip install -e tools" in capsys.readouterr().err


def test_bad_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        make_student_copies(tmp_path / "missing", tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="no notebook"):
        make_student_copies(tmp_path, tmp_path / "out")
    with pytest.raises(ValueError, match="must differ"):
        make_student_copies(tmp_path, tmp_path)


# ---------------------------------------------------------------- the book's own chapters

CHAPTERS = sorted(BOOK.glob("*.ipynb"))
EXERCISE_CHAPTERS = [p for p in CHAPTERS if instructor.has_exercises(p)]


def test_book_has_exercise_chapters_once_chapters_exist():
    numbered = [p for p in CHAPTERS if re.match(r"0[1-8]_", p.name)]
    if not numbered:
        pytest.skip("book/ has no chapter 01..08 yet")
    assert EXERCISE_CHAPTERS, f"chapters {[p.name for p in numbered]} exist but none has an nbgrader exercise"


@pytest.mark.parametrize("chapter", EXERCISE_CHAPTERS, ids=[p.stem for p in EXERCISE_CHAPTERS])
def test_book_chapter_student_copy(chapter):
    original = nbformat.read(str(chapter), as_version=4)
    assert validate_exercise_cells(original) == []
    student = student_notebook(original)
    assert_student_copy(original, student)
    assert first_exercise(student) is not None
    # The written solutions shown collapsed on the site are gone too.
    assert any(instructor.is_solution_markdown(c) for c in original.cells), "no {solution} directive"
    assert not any("{solution}" in c.source for c in student.cells)
    for cell in student.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            assert "raise NotImplementedError()" in cell.source
            compile(cell.source, chapter.name, "exec")  # the stubbed cell is still valid Python


# Running a chapter's student copy up to its first exercise would repeat nearly the whole chapter
# (the exercises close each chapter). tests/conftest.py instead puts book_tools.student.student_probe's
# cell into the chapter's own nbval run; these tests check the probe itself.

@pytest.fixture
def shell():
    """A fresh IPython shell (the kernel a probe runs in), cleared afterwards."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.user_ns.clear()
    shell.init_user_ns()
    try:
        yield shell
    finally:
        InteractiveShell.clear_instance()


def _run_probe(shell, nb, shell_cells):
    """Run ``shell_cells`` and then the probe of ``nb`` in ``shell``; the probe's position and error (or None)."""
    position, source = instructor.student_probe(nb)
    for cell in shell_cells:
        assert shell.run_cell(cell).success
    return position, shell.run_cell(source, silent=True).error_in_exec


def test_student_probe_passes_where_the_student_copy_stops_at_its_first_exercise(shell):
    position, error = _run_probe(shell, synthetic_chapter(), ["greeting = 'hello'"])
    assert position == 1 and error is None  # before the chapter's second code cell, the first solution


def test_student_probe_leaves_the_chapter_namespace_alone(shell):
    nb = synthetic_chapter()
    nb.cells[2].source = "answer = 1\n### BEGIN SOLUTION\nanswer = 9 * 16 * 32\n### END SOLUTION\n"
    _run_probe(shell, nb, ["answer = 'the chapter'"])
    assert shell.user_ns["answer"] == "the chapter" and "__student_probe" not in shell.user_ns


def test_student_probe_restores_the_random_states(shell):
    nb = synthetic_chapter()
    nb.cells[2].source = "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n"
    nb.cells[3].source = "import torch\ntorch.rand(5)  # a checker that draws numbers\nf()\n"
    setup = "import torch; torch.manual_seed(0); expected = torch.rand(3); torch.manual_seed(0)"
    _, error = _run_probe(shell, nb, [setup])
    assert error is None
    shell.run_cell("drawn = torch.rand(3)")
    assert shell.user_ns["drawn"].equal(shell.user_ns["expected"])


def test_student_probe_fails_where_the_student_copy_runs_through(shell):
    nb = synthetic_chapter()
    # an exercise whose autograder cell never calls the stubbed function: the copy runs through it
    nb.cells[2].source = "def unused():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n"
    nb.cells[3].source = "assert True\n"
    _, error = _run_probe(shell, nb, ["greeting = 'hello'"])
    assert isinstance(error, AssertionError) and "ran through its first exercise" in str(error)


def test_student_probe_fails_where_the_stub_stops_with_another_error(shell):
    nb = synthetic_chapter()
    nb.cells[3].source = "assert undefined_name\n"  # the autograder cell of the top-level exercise
    nb.cells[2].source = "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n"
    _, error = _run_probe(shell, nb, ["greeting = 'hello'"])
    assert isinstance(error, AssertionError) and "NameError" in str(error)


@pytest.mark.parametrize("chapter", EXERCISE_CHAPTERS, ids=[p.stem for p in EXERCISE_CHAPTERS])
def test_book_chapter_student_copy_matches_the_chapter_before_its_first_exercise(chapter):
    position, source = instructor.student_probe(chapter)
    assert source.startswith("# resnet-edu test probe"), source  # not the failing cell: the cells match
    original = nbformat.read(str(chapter), as_version=4)
    code = [c for c in original.cells if c.cell_type == "code"]
    assert code[position].metadata.get("nbgrader", {}).get("solution")  # the probe runs just before it


def test_written_solution_cells_are_dropped():
    exercise = new_markdown_cell("```{exercise} Count\n:label: ex-x\n\nHow many?\n```")
    solution = new_markdown_cell("```{solution} ex-x\n:class: dropdown\n\nNine, secret-prose.\n```")
    nb = new_notebook(cells=[exercise, solution])
    student = student_notebook(nb)
    assert [c.source for c in student.cells] == [exercise.source]
    assert instructor.is_solution_markdown(solution) and not instructor.is_solution_markdown(exercise)


# ---------------------------------------------------------------- the exercise list (instructors page)

def exercise_chapter():
    """A chapter with one exercise of each kind: conceptual, computation (asserts), code (a checker)."""
    cells = [
        new_markdown_cell("# Chapter | one\n\nText."),
        new_markdown_cell("```{exercise} Why shortcuts?\n:label: ex-why\n\nExplain.\n```"),
        new_markdown_cell("```{solution} ex-why\n:class: dropdown\n\nBecause.\n```"),
        new_markdown_cell(":::{exercise} Count\n:label: ex-count\n\nHow many?\n:::"),
        new_code_cell("### BEGIN SOLUTION\nanswer = 4608\n### END SOLUTION", metadata=_meta("count", solution=True)),
        new_code_cell("assert isinstance(answer, int)\nassert answer > 0\n### BEGIN HIDDEN TESTS\nassert answer == 4608\n"
                      "### END HIDDEN TESTS", metadata=_meta("count-test", grade=True, points=1)),
        new_markdown_cell("```{exercise} A block\n:label: ex-block\n\nWrite it.\n```"),
        new_code_cell("class Block:\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION",
                      metadata=_meta("block", solution=True)),
        new_code_cell("check_basic_block(Block).assert_ok()\ncheck_nothing_real(Block)",
                      metadata=_meta("block-test", grade=True, points=2.5)),
    ]
    return new_notebook(cells=cells)


def test_exercises_are_read_from_the_cells(tmp_path):
    from book_tools.exercises import exercise_problems, exercises

    path = tmp_path / "01_chapter.ipynb"
    nbformat.write(exercise_chapter(), str(path))
    found = exercises(path)
    assert [(e.title, e.label, e.kind) for e in found] == [
        ("Why shortcuts?", "ex-why", "conceptual"), ("Count", "ex-count", "computation"),
        ("A block", "ex-block", "code")]
    count, block = found[1], found[2]
    assert (count.grader.grade_id, count.grader.points, count.grader.asserts) == ("count-test", 1, 2)  # hidden ones not counted
    assert count.solution.grade_id == "count" and block.grader.checkers == ["check_basic_block", "check_nothing_real"]
    assert exercise_problems(path, found) == []

    nb = exercise_chapter()
    nb.cells[8].source = "print('no check')"
    nb.cells[3].source = nb.cells[3].source.replace(":label: ex-count\n", "")
    nbformat.write(nb, str(path))
    assert exercise_problems(path, exercises(path)) == [
        "01_chapter.ipynb: exercise 'Count' has no :label:",
        "01_chapter.ipynb: exercise 'A block': its autograder cell checks nothing"]


def test_exercise_tables(tmp_path):
    from book_tools.exercises import chapter_table, chapter_title, exercises, minutes, summary_table

    path = tmp_path / "01_chapter.ipynb"
    nbformat.write(exercise_chapter(), str(path))
    found = exercises(path)
    assert chapter_title(path) == "Chapter | one"
    assert (minutes(["conceptual"]), minutes(["computation"]), minutes(["conceptual", "code"])) == (
        "5-10 min", "10 min", "25-40 min")
    assert summary_table({path: found}).splitlines()[2] == r"| Chapter \| one | 3 | 1 / 1 / 1 | 3.5 | 35-50 min |"
    assert summary_table({path: []}) == ""
    rows = chapter_table(path, found).splitlines()
    assert rows[0] == r"**Chapter \| one**"
    assert rows[4] == ("| Why shortcuts? (`ex-why`) | conceptual, 5-10 min | - "
                       "| the instructor, against the solution (prose answer) |")
    assert rows[5] == ("| Count (`ex-count`) | computation, 10 min | 1 (`count-test`) "
                       "| 2 `assert` statement(s) in the autograder cell |")
    assert rows[6].startswith("| A block (`ex-block`) | code, 20-30 min | 2.5 (`block-test`) | `check_basic_block`: ")
    assert rows[6].endswith("; `check_nothing_real`: (not a resnet_edu.teaching.checks checker) |")


def test_colab_links_and_the_book_root(tmp_path):
    from book_tools.exercises import book_root, colab_link, colab_table, github_slug

    slug = github_slug("https://github.com/someone/fork.git")
    assert slug == "someone/fork"
    assert colab_link(slug, Path("book/01_x.ipynb"), "dev") == (
        "https://colab.research.google.com/github/someone/fork/blob/dev/student/01_x.ipynb")
    assert colab_table(slug, [Path("book/01_x.ipynb")]).splitlines()[2] == (
        "| `01_x` | <https://colab.research.google.com/github/someone/fork/blob/main/student/01_x.ipynb> |")
    assert book_root(BOOK) == BOOK.parent
    assert book_root(tmp_path) is None or (book_root(tmp_path) / "_toc.yml").exists()


def test_every_exercise_of_the_book_is_complete():
    """What the instructors page asserts when the book is built."""
    from book_tools.exercises import exercise_problems, exercises

    problems = [p for chapter in CHAPTERS for p in exercise_problems(chapter, exercises(chapter))]
    assert problems == []
