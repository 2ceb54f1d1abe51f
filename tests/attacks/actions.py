"""Bad actions for a gymnasium action space: what a broken policy or a careless caller passes to ``step``.

``bad_actions`` must each be refused with a clear error; ``extreme_actions`` are finite but far out
of bounds and must be accepted (clipped) without a non-finite observation following.
"""
from __future__ import annotations

import numpy as np
from gymnasium import spaces


def _batched(value, batch: int | None):
    if batch is None:
        return value
    array = np.asarray(value)
    return np.broadcast_to(array, (batch, *array.shape)).copy()


def bad_actions(space: spaces.Space, batch: int | None = None) -> dict[str, object]:
    """Name -> an action that does not belong to ``space`` (stacked ``batch`` times for a vector env)."""
    if isinstance(space, spaces.Discrete):
        n = int(space.n)
        one = {"float index": 1.0, "half index": 0.5, "negative": -1, "n": n, "huge": 2 ** 40, "bool": True,
               "NaN": np.nan, "inf": np.inf}
        cases = {name: _batched(np.asarray(value), batch) for name, value in one.items()}
        cases |= {"shape (1,)": _batched(np.zeros(1, np.int64), batch), "string": "1", "None": None,
                  "list of two": _batched(np.zeros(2, np.int64), batch)}
        return cases
    size = int(np.prod(space.shape))
    shape = space.shape

    def filled(value, dtype=np.float64):
        return _batched(np.full(shape, value, dtype=dtype), batch)

    def one_bad(value):
        action = np.zeros(shape)
        action.reshape(-1)[size // 2] = value
        return _batched(action, batch)

    cases = {"NaN": one_bad(np.nan), "inf": one_bad(np.inf), "-inf": one_bad(-np.inf), "all NaN": filled(np.nan),
             "None": None, "string": "0.1", "bytes": b"\x00", "dict": {"a": 1},
             "one short": _batched(np.zeros(size - 1), batch), "one long": _batched(np.zeros(size + 1), batch),
             "extra axis": _batched(np.zeros((1, *shape)), batch), "scalar": 0.0,
             "complex": filled(1 + 2j, complex), "object": _batched(np.array([object()] * size, dtype=object), batch),
             "bool": filled(True, bool), "ragged": [0.0, [1.0]] if batch is None else [[0.0, [1.0]]] * batch,
             "float32 NaN": filled(np.nan, np.float32)}
    if batch is not None:
        cases["unbatched"] = np.zeros(shape)
    return cases


def extreme_actions(space: spaces.Space, batch: int | None = None) -> dict[str, object]:
    """Finite values far outside the bounds (clipped by the env); none for ``Discrete``."""
    if isinstance(space, spaces.Discrete):
        return {}
    return {name: _batched(np.full(space.shape, value), batch)
            for name, value in {"1e30": 1e30, "-1e30": -1e30, "max float": np.finfo(np.float64).max}.items()}
