"""Declared command limits of a robot: what each command key means, its bounds and its slew rate.

A command is a mapping ``{key: float array}``, e.g. ``{"ee_delta": [3] metres, "gripper": [1]}``.
Each key declares its box bounds, the largest change allowed between two consecutive commands, and
how the robot holds still: ``"zero"`` (velocity-like keys: holding means sending zeros) or
``"last"`` (position-like keys: holding means repeating the last command sent).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np

HoldMode = Literal["zero", "last"]
HOLD_MODES = ("zero", "last")


def _as_vector(value, size: int, name: str) -> np.ndarray:
    array = np.broadcast_to(np.asarray(value, dtype=np.float64), (size,)).copy()
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {array}")
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class CommandField:
    """Bounds of one command key (units are the robot's: metres, radians, or normalised [-1, 1]).

    Attributes:
        low: lower bound, shape [D].
        high: upper bound, shape [D].
        max_delta: largest change per control step between consecutive commands, shape [D].
        hold: how the robot holds still, ``"zero"`` or ``"last"``.
    """

    low: np.ndarray
    high: np.ndarray
    max_delta: np.ndarray
    hold: HoldMode = "zero"

    @classmethod
    def box(cls, low, high, max_delta, size: int, hold: HoldMode = "zero") -> CommandField:
        """Build a field of ``size`` entries; scalars broadcast."""
        if hold not in HOLD_MODES:
            raise ValueError(f"hold={hold!r} is not one of {HOLD_MODES}")
        low_v, high_v = _as_vector(low, size, "low"), _as_vector(high, size, "high")
        delta_v = _as_vector(max_delta, size, "max_delta")
        if np.any(low_v > high_v) or np.any(delta_v <= 0):
            raise ValueError(f"need low <= high and max_delta > 0, got {low_v}, {high_v}, {delta_v}")
        return cls(low_v, high_v, delta_v, hold)

    @property
    def size(self) -> int:
        return int(self.low.shape[0])


@dataclass(frozen=True)
class CommandLimits:
    """All command keys a robot accepts, in the order a flat policy action is split into them."""

    fields: Mapping[str, CommandField] = field(default_factory=dict)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.fields)

    @property
    def action_size(self) -> int:
        return sum(f.size for f in self.fields.values())

    def zero_command(self) -> dict[str, np.ndarray]:
        """All-zero command clipped into bounds (a neutral starting point), float64."""
        return {k: np.clip(np.zeros(f.size), f.low, f.high) for k, f in self.fields.items()}

    def split(self, action: np.ndarray) -> dict[str, np.ndarray]:
        """Flat action [A] -> command dict, in declared key order (what a policy emits -> robot)."""
        flat = np.asarray(action, dtype=np.float64).reshape(-1)
        if flat.shape[0] != self.action_size:
            raise ValueError(f"action has {flat.shape[0]} entries, the robot takes {self.action_size} "
                             f"({', '.join(f'{k}[{f.size}]' for k, f in self.fields.items())})")
        out, start = {}, 0
        for key, f in self.fields.items():
            out[key] = flat[start:start + f.size].copy()
            start += f.size
        return out

    def join(self, command: Mapping[str, np.ndarray]) -> np.ndarray:
        """Command dict -> flat array [A] in declared key order."""
        return np.concatenate([np.asarray(command[k], dtype=np.float64).reshape(-1) for k in self.keys])

    @cached_property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """All lows and all highs, flat [A] each, in key order."""
        fields = self.fields.values()
        return np.concatenate([f.low for f in fields]), np.concatenate([f.high for f in fields])

    def within(self, command: Mapping[str, np.ndarray], atol: float = 1e-9) -> bool:
        """True when every declared key is present with its shape, finite and inside its bounds."""
        try:
            parts = [np.asarray(command[k], dtype=np.float64) for k in self.fields]
        except (KeyError, TypeError, ValueError):
            return False
        if any(p.shape != (f.size,) for p, f in zip(parts, self.fields.values(), strict=True)):
            return False
        return self.in_bounds(parts, atol)

    def in_bounds(self, parts: list[np.ndarray] | Mapping[str, np.ndarray], atol: float = 1e-9) -> bool:
        """Bounds check of already validated entries (float arrays of the declared shapes, key order)."""
        values = list(parts.values()) if isinstance(parts, Mapping) else parts
        flat = np.concatenate(values)
        low, high = self.bounds
        return bool(np.isfinite(flat).all() and (flat >= low - atol).all() and (flat <= high + atol).all())

    def to_dict(self) -> dict:
        """Plain JSON-able description (sent over the wire by the robot server)."""
        return {k: {"low": f.low.tolist(), "high": f.high.tolist(), "max_delta": f.max_delta.tolist(),
                    "hold": f.hold} for k, f in self.fields.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Mapping]) -> CommandLimits:
        fields = {}
        for key, spec in data.items():
            size = len(spec["low"])
            fields[str(key)] = CommandField.box(spec["low"], spec["high"], spec["max_delta"], size,
                                                spec.get("hold", "zero"))
        return cls(fields)
