"""Strict checks that turn anything a policy or a network peer might send into a clean command.

Every check raises a typed :class:`~envs.adapters.errors.SafetyError` naming the bad value and what
would be valid; nothing here clamps or guesses (that is the supervisor's job, after validation).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from envs.adapters.errors import CommandKeyError, CommandShapeError, CommandTypeError, NonFiniteCommand
from envs.adapters.limits import CommandLimits

_NUMERIC_KINDS = "iuf"  # signed, unsigned, float: bool, complex, object and strings are refused


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _entry(key: str, value: Any, size: int) -> np.ndarray:
    if isinstance(value, (str, bytes)) or value is None:
        raise CommandShapeError(f"command[{key!r}] = {_short(value)} is not numeric; need {size} floats")
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as err:  # ragged nested lists and the like
        raise CommandShapeError(f"command[{key!r}] = {_short(value)} is not an array: {err}") from None
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise CommandShapeError(f"command[{key!r}] has dtype {array.dtype}; need a real number dtype")
    if array.shape != (size,):
        raise CommandShapeError(f"command[{key!r}] has shape {array.shape}; need ({size},)")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise NonFiniteCommand(f"command[{key!r}] = {_short(array)} is not finite")
    return array


def _split_flat(action: Any, limits: CommandLimits) -> dict[str, Any]:
    """A flat policy action [A] -> command dict; any other shape or dtype is refused."""
    try:
        array = np.asarray(action)
    except (ValueError, TypeError) as err:
        raise CommandShapeError(f"action {_short(action)} is not an array: {err}") from None
    if array.dtype.kind not in _NUMERIC_KINDS or array.ndim != 1 or array.shape[0] != limits.action_size:
        raise CommandShapeError(f"action of shape {array.shape} and dtype {array.dtype} is not a flat "
                                f"real vector of {limits.action_size} entries ({list(limits.keys)})")
    return limits.split(array.astype(np.float64))


def validate_command(command: Any, limits: CommandLimits) -> dict[str, np.ndarray]:
    """Check a command against the declared keys and sizes.

    Args:
        command: mapping key -> array-like, or a flat action [A] split in declared key order;
            anything else is refused.
        limits: the robot's declared command fields.

    Returns:
        A fresh dict key -> float64 array [D], in declared key order (bounds are not applied here).
    """
    if isinstance(command, (np.ndarray, list, tuple)):
        command = _split_flat(command, limits)
    if not isinstance(command, Mapping):
        raise CommandTypeError(f"command must be a mapping of {list(limits.keys)} -> arrays, "
                               f"got {type(command).__name__}: {_short(command)}")
    got, want = set(command), set(limits.keys)
    if got != want:
        raise CommandKeyError(f"command keys {sorted(map(str, got))} != declared keys {sorted(want)} "
                              f"(missing {sorted(want - got)}, unknown {sorted(map(str, got - want))})")
    return {key: _entry(key, command[key], f.size) for key, f in limits.fields.items()}
