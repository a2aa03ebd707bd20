"""Argument checks shared by the model modules: clear errors at the boundary.

Every message says what was given and what is allowed, so a reader who mistypes a
depth or a shortcut option learns the rule from the error itself.
"""

from __future__ import annotations

from typing import Sequence


def check_positive_int(name: str, value: object) -> int:
    """Return ``value`` if it is an int >= 1, else raise.

    Args:
        name: the argument's name, used in the message.
        value: the value to check.

    Raises:
        TypeError: if ``value`` is not an int (bools are refused too).
        ValueError: if ``value`` < 1.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a positive int, got {value!r} ({type(value).__name__})")
    if value < 1:
        raise ValueError(f"{name} must be a positive int (>= 1), got {value}")
    return value


def check_positive_ints(name: str, values: object) -> tuple[int, ...]:
    """Return ``values`` as a tuple if it is a non-empty sequence of ints >= 1, else raise.

    Args:
        name: the argument's name, used in the message.
        values: the sequence to check, e.g. blocks per stage or widths.

    Raises:
        TypeError: if ``values`` is not a list/tuple of ints.
        ValueError: if it is empty or holds a value < 1.
    """
    if not isinstance(values, Sequence) or isinstance(values, str):
        raise TypeError(f"{name} must be a list or tuple of positive ints, got {values!r}")
    if len(values) == 0:
        raise ValueError(f"{name} must hold at least one stage, got an empty sequence")
    for i, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name}[{i}] must be an int, got {value!r} in {list(values)}")
        if value < 1:
            raise ValueError(
                f"{name} must hold positive ints (>= 1), got {value} at index {i} in {list(values)}"
            )
    return tuple(values)


def check_choice(name: str, value: object, allowed: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise ValueError naming them.

    Args:
        name: the argument's name, used in the message.
        value: the value to check.
        allowed: the permitted strings.
    """
    if value not in allowed:
        raise ValueError(f"{name} must be one of {tuple(allowed)}, got {value!r}")
    return value  # type: ignore[return-value]
