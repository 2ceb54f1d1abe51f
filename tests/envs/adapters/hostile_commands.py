"""Seeded generator of hostile commands: everything a broken policy or a confused peer might send."""
import numpy as np

from envs.adapters.limits import CommandLimits

BAD_SCALARS = [np.nan, np.inf, -np.inf, 1e30, -1e30, 1e308, np.float64("nan") * 0]


def _bad_value(rng: np.random.Generator, size: int):
    kind = rng.integers(12)
    if kind == 0:
        value = rng.uniform(-1, 1, size)
        value[rng.integers(size)] = BAD_SCALARS[rng.integers(len(BAD_SCALARS))]
        return value
    return [None, "1.0", b"\x00", [[0.0] * size], np.zeros(size + 1), np.zeros((size, 1)),
            np.array([1 + 2j] * size), np.array([object()] * size, dtype=object), {"x": 1}, [0.0, [1.0]],
            np.full(size, 1e30)][kind - 1]


def hostile_command(rng: np.random.Generator, limits: CommandLimits):
    """One command drawn from a mix of valid-but-extreme and malformed shapes, keys, dtypes and values."""
    valid = {k: rng.uniform(-3, 3, f.size) for k, f in limits.fields.items()}
    kind = rng.integers(10)
    if kind == 0:
        return valid  # in shape but out of bounds: must be clamped
    if kind == 1:
        return [None, "stop", 42, 3.5, b"\x80\x04", object(), [], (), set()][rng.integers(9)]
    if kind == 2:
        drop = list(valid)[rng.integers(len(valid))]
        return {k: v for k, v in valid.items() if k != drop}
    if kind == 3:
        return {**valid, ["extra", 1, None, ("t",)][rng.integers(4)]: np.zeros(1)}
    if kind == 4:
        return rng.uniform(-2, 2, limits.action_size + int(rng.choice([-1, 1])))
    if kind == 5:
        flat = rng.uniform(-2, 2, limits.action_size)
        flat[rng.integers(flat.size)] = BAD_SCALARS[rng.integers(len(BAD_SCALARS))]
        return flat
    key = list(valid)[rng.integers(len(valid))]
    return {**valid, key: _bad_value(rng, limits.fields[key].size)}
