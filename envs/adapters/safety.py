"""The safety supervisor: the one gate every command passes, in sim evaluation and on the robot.

It validates (typed errors; the robot holds), clamps to the declared bounds and to a maximum change
per step (on by default), slows or stops when a world model's uncertainty is high, latches a safe
stop when the watchdog expires, and counts every intervention so an evaluation in simulation
reports how often a policy would have been overruled on the robot.

The change limit is measured from the command last *sent*, holds included: after a refused
command the robot is on its way to holding, and the next valid command ramps from there (it does
not jump back to the last valid one). Holding itself is approached at ``max_delta`` per step too
(a velocity of 1 with ``max_delta`` 0.5 reaches zero in two steps); the immediate stop is the
adapter's ``stop()``, which the watchdog, errors and signals use.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.adapters.errors import RobotStopped, SafetyError
from envs.adapters.limits import CommandLimits
from envs.adapters.validation import validate_command

log = logging.getLogger(__name__)

Command = dict[str, np.ndarray]

INTERVENTIONS = ("rejected_non_finite", "rejected_wrong_shape", "rejected_wrong_keys", "rejected_wrong_type",
                 "rejected_invalid", "clamped_limits", "clamped_rate", "uncertainty_slowed",
                 "uncertainty_stopped")
"""Every name a :class:`Decision` may carry, in a fixed order (logs store them as a bitmask)."""


def _as_score(value: Any) -> float:
    """An uncertainty score as a float; anything that is not one real number counts as unknown (NaN)."""
    if isinstance(value, (str, bytes, bool)):
        return float("nan")
    try:
        return float(np.asarray(value, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        return float("nan")


def _is_power_of_ten(n: int) -> bool:
    while n % 10 == 0 and n > 1:
        n //= 10
    return n == 1


@dataclass(frozen=True)
class SafetyConfig:
    """Supervisor settings; defaults are the safe ones.

    Attributes:
        rate_limit: clamp the change between consecutive commands to each key's ``max_delta``.
        watchdog_s: seconds without a valid command before the safe stop (None disables it).
        uncertainty_slow: disagreement above which commands are scaled towards holding (None: off).
        uncertainty_stop: disagreement above which the robot holds this step (None: off).
        slow_factor: fraction of the command kept while slowed, in (0, 1].
    """

    rate_limit: bool = True
    watchdog_s: float | None = 0.06
    uncertainty_slow: float | None = None
    uncertainty_stop: float | None = None
    slow_factor: float = 0.5

    def __post_init__(self) -> None:
        if self.watchdog_s is not None and not self.watchdog_s > 0:
            raise ValueError(f"watchdog_s must be > 0 seconds or None, got {self.watchdog_s}")
        if not 0 < self.slow_factor <= 1:
            raise ValueError(f"slow_factor must be in (0, 1], got {self.slow_factor}")
        for name in ("uncertainty_slow", "uncertainty_stop"):
            value = getattr(self, name)
            if value is not None and not value >= 0:
                raise ValueError(f"{name} must be >= 0 (a disagreement) or None, got {value}")
        if None not in (self.uncertainty_slow, self.uncertainty_stop) and self.uncertainty_slow > self.uncertainty_stop:
            raise ValueError(f"uncertainty_slow ({self.uncertainty_slow}) must not exceed uncertainty_stop "
                             f"({self.uncertainty_stop}): the robot slows before it holds")


@dataclass(frozen=True)
class Decision:
    """What the supervisor made of one command.

    Attributes:
        command: the command to send (always valid, finite and within limits).
        interventions: names of what was done to it, e.g. ``("clamped_rate",)``; empty if untouched.
        error: the validation error when the command was refused (the robot holds), else None.
    """

    command: Command
    interventions: tuple[str, ...]
    error: SafetyError | None = None


class SafetySupervisor:
    """Validates, clamps and gates commands for one robot; thread-safe, never blocks on I/O.

    Args:
        limits: the robot's declared command fields.
        config: supervisor settings.
        clock: monotonic time in seconds (injectable so watchdog tests use a fake clock).
    """

    def __init__(self, limits: CommandLimits, config: SafetyConfig | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.config = config or SafetyConfig()
        self.clock = clock
        self.interventions = INTERVENTIONS
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._last = limits.zero_command()
        self._last_valid_t: float | None = None  # the watchdog arms on the first valid command
        self._stopped_reason: str | None = None

    # ----------------------------------------------------------------- the gate
    def supervise(self, command: Any, uncertainty: Any = None) -> Decision:
        """Turn any proposed command into one that is safe to send (never raises for bad input; an
        ``uncertainty`` that is not one real number counts as unknown and holds).

        Raises:
            RobotStopped: the supervisor latched a safe stop; call :meth:`resume` first.
        """
        with self._lock:
            self.counts["commands"] += 1
            if self._stopped_reason is not None:
                self.counts["refused_while_stopped"] += 1
                raise RobotStopped(f"robot is stopped ({self._stopped_reason}); call resume() first")
            try:
                clean = validate_command(command, self.limits)
            except SafetyError as err:
                key = f"rejected_{err.reason}"
                self.counts[key] += 1
                if _is_power_of_ten(self.counts[key]):  # a broken policy at 50 Hz must not flood the log
                    log.warning("command rejected (%s #%d), holding: %s", key, self.counts[key], err)
                held = self._clamp(self._hold_command(), [])  # towards holding, within max_delta
                self._last = {k: v.copy() for k, v in held.items()}
                return Decision(held, (f"rejected_{err.reason}",), err)
            self._last_valid_t = self.clock()
            return self._shape(clean, uncertainty)

    def _shape(self, command: Command, uncertainty: Any) -> Decision:
        notes: list[str] = []
        command = self._gate(command, uncertainty, notes)
        command = self._clamp(command, notes)
        self._last = {k: v.copy() for k, v in command.items()}
        for note in notes:
            self.counts[note] += 1
        return Decision(command, tuple(notes))

    def _gate(self, command: Command, uncertainty: Any, notes: list[str]) -> Command:
        cfg = self.config
        if uncertainty is None:
            return command
        uncertainty = _as_score(uncertainty)
        if not np.isfinite(uncertainty) or (cfg.uncertainty_stop is not None and uncertainty > cfg.uncertainty_stop):
            notes.append("uncertainty_stopped")
            return self._hold_command()
        if cfg.uncertainty_slow is not None and uncertainty > cfg.uncertainty_slow:
            notes.append("uncertainty_slowed")
            hold = self._hold_command()
            return {k: hold[k] + cfg.slow_factor * (v - hold[k]) for k, v in command.items()}
        return command

    def _clamp(self, command: Command, notes: list[str]) -> Command:
        out = {}
        bounded = rated = False
        for key, f in self.limits.fields.items():
            value = np.clip(command[key], f.low, f.high)
            bounded |= not np.array_equal(value, command[key])
            if self.config.rate_limit:
                limited = np.clip(value, self._last[key] - f.max_delta, self._last[key] + f.max_delta)
                limited = np.clip(limited, f.low, f.high)
                rated |= not np.array_equal(limited, value)
                value = limited
            out[key] = value
        if bounded:
            notes.append("clamped_limits")
        if rated:
            notes.append("clamped_rate")
        return out

    def _hold_command(self) -> Command:
        """Zeros for velocity-like keys, the last sent value for position-like ones."""
        zero = self.limits.zero_command()
        return {k: (self._last[k].copy() if f.hold == "last" else zero[k])
                for k, f in self.limits.fields.items()}

    # ----------------------------------------------------------------- watchdog and latch
    def watchdog_expired(self) -> bool:
        """True when no valid command arrived within ``config.watchdog_s`` of the last one (armed by
        the first valid command after construction or :meth:`resume`; False once latched)."""
        deadline = self.config.watchdog_s
        with self._lock:
            if deadline is None or self._stopped_reason is not None or self._last_valid_t is None:
                return False
            return self.clock() - self._last_valid_t > deadline

    def latch_stop(self, reason: str) -> bool:
        """Record a safe stop; commands are refused until :meth:`resume`. False if already latched."""
        with self._lock:
            if self._stopped_reason is not None:
                return False
            self._stopped_reason = reason
            self.counts[f"stop_{reason}"] += 1
            self._last = self._hold_command()
            log.warning("safe stop latched: %s", reason)
            return True

    @property
    def stopped(self) -> str | None:
        """The reason of the latched stop, or None while running."""
        return self._stopped_reason

    def resume(self, last_command: Command | None = None) -> None:
        """The explicit operator command that ends a latched stop (also: a new episode in sim).

        Args:
            last_command: what the robot now holds (e.g. its measured joint positions for
                ``hold="last"`` keys), so the rate limit ramps from the real state.
        """
        with self._lock:
            if last_command is not None:
                clean = validate_command(last_command, self.limits)
                self._last = {k: np.clip(v, f.low, f.high) for (k, v), f in
                              zip(clean.items(), self.limits.fields.values(), strict=True)}
            else:
                self._last = self._hold_command()
            if self._stopped_reason is not None:
                self.counts["resumes"] += 1
            self._stopped_reason = None
            self._last_valid_t = None

    def report(self) -> dict[str, float]:
        """Intervention counts plus the fraction of commands each affected (for evaluation reports)."""
        with self._lock:
            counts = dict(self.counts)
        total = max(counts.get("commands", 0), 1)
        rates = {f"{k}_rate": v / total for k, v in counts.items() if k != "commands"}
        return {**counts, **rates}
