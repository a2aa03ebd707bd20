"""What a checker returns, and the wrapper that turns any failure into one hint.

A checker is a function that raises :class:`Problem` at the first thing it finds wrong.
:func:`run_check` calls it, catches *everything* (a learner's code may raise anything),
prints one line and returns a :class:`CheckResult`. Taught in chapter 1 (how to use the
exercises).
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Callable


class Problem(Exception):
    """Raised inside a checker with the hint a learner should read."""


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one checker: truthy when it passed.

    ``assert check_basic_block(MyBlock)`` works in an nbgrader autograder cell;
    ``check_basic_block(MyBlock).assert_ok()`` raises with the hint as its message.

    Args:
        name: the checker's name, e.g. ``"check_basic_block"``.
        passed: True when every check passed.
        message: the success line or the first problem found, as a hint.
        printed: whether the checker already printed the line (then a notebook cell
            ending with the call does not show it a second time).
    """

    name: str
    passed: bool
    message: str
    printed: bool = field(default=False, repr=False, compare=False)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        status = "passed" if self.passed else "not yet"
        return f"{self.name} {status}: {self.message}"

    def _ipython_display_(self) -> None:
        if not self.printed:
            print(self)

    def assert_ok(self) -> "CheckResult":
        """Return self if the check passed, else raise AssertionError with the hint."""
        if not self.passed:
            raise AssertionError(str(self))
        return self


def _last_user_line(exc: BaseException) -> str:
    """' (at `code`, line N)' for the last frame of the traceback outside torch and this package."""
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        name = frame.filename.replace("\\", "/")
        if "/torch/" in name or "/resnet_edu/checks/" in name:
            continue
        code = (frame.line or "").strip()
        return f" (line {frame.lineno}: `{code}`)" if code else f" (line {frame.lineno})"
    return ""


def describe_exception(exc: BaseException) -> str:
    """One line naming an exception, its message and the learner's line that raised it.

    Args:
        exc: the exception caught from the learner's code.
    """
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = type(exc).__name__ + (f": {first_line}" if first_line else "")
    return text + _last_user_line(exc)


def run_check(
    name: str,
    body: Callable[[], str],
    verbose: bool = True,
    raise_on_failure: bool = False,
) -> CheckResult:
    """Run a checker's body, turning a Problem (or any exception) into a failed result.

    Args:
        name: the checker's name, shown at the start of the printed line.
        body: returns the success message, or raises :class:`Problem` with a hint.
        verbose: print the result's line (default True).
        raise_on_failure: raise AssertionError instead of returning a failed result.
    """
    try:
        result = CheckResult(name, True, body(), printed=verbose)
    except Problem as problem:
        result = CheckResult(name, False, str(problem), printed=verbose)
    except Exception as exc:  # the learner's code may raise anything: never crash
        result = CheckResult(name, False, f"your code raised {describe_exception(exc)}", printed=verbose)
    if verbose:
        print(result)
    if raise_on_failure:
        result.assert_ok()
    return result
