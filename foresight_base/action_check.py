"""The check every env of ours applies to an action before it touches a simulator.

A NaN that reaches PyBullet or a batched world's state poisons every later observation of that
episode; a wrong-shape action used to surface as ``IndexError: list index out of range`` (or, for
a 3-value action on a 4-value arm, as a gripper read from z). So ``step`` refuses, with an error
naming the action and the space: the wrong shape, a dtype that is not a real number (strings,
objects, complex, bool for a ``Box``; anything but integers for a ``Discrete``), non-finite values,
and ``Discrete`` indices out of range. Finite ``Box`` values outside the bounds are accepted and
clipped by the env, as panda-gym and SB3 do.

Works on numpy arrays, Python lists and torch tensors (checked where they live: on an accelerator
the finiteness check costs one scalar read-back per step).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

_REAL_KINDS = "iuf"


class InvalidActionError(ValueError):
    """An action that does not belong to the env's action space (and would corrupt its state)."""


def _short(action: Any) -> str:
    text = repr(action)
    return text if len(text) <= 120 else text[:117] + "..."


def check_action(action: Any, space: spaces.Space, where: str, batch: int | None = None) -> Any:
    """Return ``action`` as an array (numpy, or the tensor it was) after checking it against ``space``.

    Args:
        action: one action, or ``batch`` actions stacked on a leading axis.
        space: the action space of one env (``Box`` or ``Discrete``).
        where: the env's name, for the message.
        batch: N for a vector env (shape ``[N, *space.shape]``), None for a single env.

    Raises:
        InvalidActionError: naming the action, the space and what is wrong.
    """
    if not isinstance(space, (spaces.Box, spaces.Discrete)):
        return action
    array = _as_array(action, space, where)
    expected = tuple(space.shape) if batch is None else (batch, *space.shape)
    if tuple(array.shape) != expected:
        _fail(action, space, where, f"shape {tuple(array.shape)}, expected {expected}")
    kind = _kind(array)
    if isinstance(space, spaces.Discrete):
        if kind not in "iu":
            _fail(action, space, where, f"dtype {array.dtype}; Discrete actions are integers")
        if not bool(((array >= space.start) & (array < space.start + space.n)).all()):
            _fail(action, space, where, f"index outside [{space.start}, {space.start + space.n})")
        return array
    if kind not in _REAL_KINDS:
        _fail(action, space, where, f"dtype {array.dtype}; Box actions are real numbers")
    if not bool(_isfinite(array).all()):
        _fail(action, space, where, "non-finite values (NaN or inf)")
    return array


def _as_array(action: Any, space: spaces.Space, where: str) -> Any:
    if type(action).__module__.startswith("torch"):
        return action
    if action is None or isinstance(action, (str, bytes, dict)):
        _fail(action, space, where, f"a {type(action).__name__}, not an array")
    try:
        return np.asarray(action)
    except (ValueError, TypeError) as err:  # ragged nested lists and the like
        _fail(action, space, where, f"not an array ({err})")


def _kind(array: Any) -> str:
    if isinstance(array, np.ndarray):
        return array.dtype.kind
    dtype = array.dtype  # a torch tensor
    if dtype.is_complex or dtype == _torch().bool:
        return "c" if dtype.is_complex else "b"
    return "f" if dtype.is_floating_point else "i"


def _isfinite(array: Any) -> Any:
    return np.isfinite(array) if isinstance(array, np.ndarray) else _torch().isfinite(array)


def _torch():
    import torch

    return torch


def _fail(action: Any, space: spaces.Space, where: str, problem: str) -> None:
    raise InvalidActionError(f"{where}: action {_short(action)} is not in action space {space}: {problem}")
