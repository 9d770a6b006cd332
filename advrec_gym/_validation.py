"""Small helpers that turn bad arguments into errors a user can act on.

Every message names the argument, what was expected and what was given (Gymnasium style), and
unknown names get a "did you mean" suggestion.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from numbers import Integral, Real
from typing import Any


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """Return ' Did you mean 'x'?' for the closest choice, or '' when none is close."""
    matches = difflib.get_close_matches(str(value), list(choices), n=1, cutoff=0.5)
    return f" Did you mean {matches[0]!r}?" if matches else ""


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """Validate that ``value`` is one of ``choices`` and return it."""
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"{name} must be one of {choices}, got {name}={value!r}."
            + (did_you_mean(value, choices) if isinstance(value, str) else "")
        )
    return value


def check_int(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """Validate an integer in ``[low, high]`` (bounds optional) and return it as ``int``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int, got {name}={value!r} ({type(value).__name__}).")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be an int in {_interval(low, high)}, got {name}={value}.")
    return value


def check_float(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Validate a finite real number in the given interval and return it as ``float``."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number, got {name}={value!r} ({type(value).__name__}).")
    value = float(value)
    bad = not math.isfinite(value)
    if low is not None:
        bad |= value <= low if low_open else value < low
    if high is not None:
        bad |= value >= high if high_open else value > high
    if bad:
        where = _interval(low, high, low_open, high_open)
        raise ValueError(f"{name} must be a finite number in {where}, got {name}={value}.")
    return value


def _interval(low, high, low_open: bool = False, high_open: bool = False) -> str:
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    lo = "-inf" if low is None else f"{low}"
    hi = "inf" if high is None else f"{high}"
    return f"{left}{lo}, {hi}{right}"


def reject_unknown(unknown: dict[str, Any], allowed: Iterable[str]) -> None:
    """Raise a TypeError naming an unknown keyword argument, with a did-you-mean suggestion."""
    if unknown:
        name = sorted(unknown)[0]
        raise TypeError(f"AdvRec got an unexpected keyword argument {name!r}.{did_you_mean(name, list(allowed))}")


def check_type(name: str, value: Any, cls: type) -> Any:
    """``cls()`` for ``None``, ``value`` if it is a ``cls``, else a TypeError naming the argument."""
    if value is None:
        return cls()
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be an advrec_gym.{cls.__name__} or None, got {type(value).__name__}.")
    return value
