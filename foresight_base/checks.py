"""Refuse a bad choice before any work, naming the bad value and what would be valid.

Every package validates its string options (``obs_mode``, ``algo``, ``renderer``...) and option
dictionaries through these two functions, so the messages read the same everywhere:
``unknown obs_mode 'dept'; valid: state, goal, rgb``.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import TypeVar

T = TypeVar("T")


def _listing(values: Iterable[object]) -> str:
    return ", ".join(str(value) for value in values)


def check_choice(name: str, value: T, valid: Collection[T], context: str = "",
                 error: type[Exception] = ValueError) -> T:
    """``value`` when it is one of ``valid``; else ``error`` (a ``ValueError``) naming it and the valid ones.

    Args:
        name: what is being chosen, as the caller calls it (``"obs_mode"``, ``"--policy"``).
        value: the caller's choice.
        valid: the choices, listed in this order in the message.
        context: words after the value, e.g. ``" for the mobile base"``.
        error: the exception class, for callers with their own (a wire protocol's error).

    Example:
        >>> check_choice("control", "ee", ("ee", "joints"))
        'ee'
        >>> check_choice("control", "xyz", ("ee", "joints"))
        Traceback (most recent call last):
        ValueError: unknown control 'xyz'; valid: ee, joints
    """
    if value not in valid:
        raise error(f"unknown {name} {value!r}{context}; valid: {_listing(valid)}")
    return value


def check_keys(name: str, given: Iterable[str], valid: Collection[str]) -> None:
    """Raise ``ValueError`` when ``given`` holds keys outside ``valid`` (both listed, sorted, as Python lists:
    keys are names a caller types, so they are shown quoted).

    Example:
        >>> check_keys("cem planner option", ["horizon", "horizn"], ("horizon", "iterations"))
        Traceback (most recent call last):
        ValueError: unknown cem planner option(s) ['horizn']; valid: ['horizon', 'iterations']
    """
    unknown = sorted(set(given) - set(valid))
    if unknown:
        raise ValueError(f"unknown {name}(s) {unknown}; valid: {sorted(valid)}")
