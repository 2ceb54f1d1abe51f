"""``RobotAdapter``: the one interface between a control loop and a robot, real or simulated.

Subclasses implement ``_connect``, ``_observe``, ``_act``, ``_stop`` and ``_close``; this base adds
what every robot needs and no subclass should re-invent: one I/O lock (a watchdog thread and the
control loop may both call in), a last-line check that no non-finite or out-of-limit command is
ever sent, the per-step change limit measured from the command last sent (a robot protects itself
from any client: a command that jumps further than ``max_delta`` is clamped, ``rate_clamps``
counts them; ``stop()`` resets velocity-like keys to rest), ``close()`` that is safe to call
twice, and a context manager that issues the safe stop first on any exception or SIGINT/SIGTERM,
before any slow cleanup.

Example (``PointRobotAdapter`` stands in for any robot):
    >>> from envs.adapters.point import PointRobotAdapter
    >>> with PointRobotAdapter() as robot:       # connect(); signals now safe-stop the robot
    ...     obs = robot.observe()                # Observation(time_s, data={key: array})
    ...     sent = robot.act({"velocity": [0.1, 0.0], "gripper": [0.0]})
    >>> sorted(obs.data), robot.stop_count       # stop() then close(), also when the block raised
    (['position', 'velocity'], 1)
"""
from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from envs.adapters.errors import SafetyError
from envs.adapters.limits import CommandLimits
from envs.adapters.validation import validate_command

log = logging.getLogger(__name__)

Command = dict[str, np.ndarray]


@dataclass(frozen=True)
class Observation:
    """One timestamped reading of the robot.

    Attributes:
        time_s: when it was measured, on the adapter's monotonic clock (seconds).
        data: key -> array, the same keys and units as the simulated env's observation.
    """

    time_s: float
    data: Mapping[str, np.ndarray] = field(default_factory=dict)


class SignalStop(BaseException):
    """Raised in the main thread on SIGTERM (SIGINT raises ``KeyboardInterrupt``) so the stack
    unwinds through every ``with robot:`` block, each of which safe-stops its robot first."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"received {signal.Signals(signum).name}")
        self.signum = signum


class RobotAdapter(ABC):
    """Abstract robot: connect, observe, act, stop (safe stop), close, declared limits."""

    period_s: float | None = None
    """Robot time one ``act`` advances (seconds) for a robot that steps instead of running in real
    time (a simulator, the robot server's stand-in): its own control rate, which the control loop
    and a log's replay must match. None: a real-time robot that follows the caller's clock."""

    def __init__(self, limits: CommandLimits) -> None:
        self.limits = limits
        self.stop_count = 0
        self.rate_clamps = 0
        self.last_stop_time_s: float | None = None
        self._last_sent: Command = limits.zero_command()
        self._io = threading.RLock()
        self._connected = False
        self._closed = False

    # ---------------------------------------------------------------- subclass hooks
    @abstractmethod
    def _connect(self) -> None: ...

    @abstractmethod
    def _observe(self) -> Observation: ...

    @abstractmethod
    def _act(self, command: Command) -> Command:
        """Send a validated, in-limit command; return what was actually sent."""

    @abstractmethod
    def _stop(self) -> None:
        """Safe stop: zero velocity or hold position; must be fast and never raise if avoidable."""

    @abstractmethod
    def _close(self) -> None: ...

    # ---------------------------------------------------------------- public API
    @property
    def connected(self) -> bool:
        return self._connected and not self._closed

    def connect(self) -> RobotAdapter:
        with self._io:
            if self._closed:
                raise RuntimeError(f"{type(self).__name__} is closed; make a new adapter")
            if not self._connected:
                self._connect()
                self._connected = True
                self._last_sent = self.limits.zero_command()
        return self

    def observe(self) -> Observation:
        with self._io:
            self._require_connected()
            return self._observe()

    def act(self, command: Mapping[str, Any]) -> Command:
        """Send one command, its change since the last sent one clamped to ``max_delta``; returns
        what was sent. Raises a ``SafetyError`` rather than send anything invalid or out of bounds."""
        clean = validate_command(command, self.limits)
        if not self.limits.in_bounds(clean):
            raise SafetyError(f"command {clean} is outside the declared limits {self.limits.to_dict()}")
        with self._io:
            self._require_connected()
            limited = self._limit_change(clean)
            sent = self._act(limited)
            self._last_sent = {k: np.array(v, dtype=np.float64) for k, v in
                               (sent if self.limits.within(sent) else limited).items() if k in self.limits.fields}
            return sent

    def _limit_change(self, command: Command) -> Command:
        out, clamped = {}, False
        for key, f in self.limits.fields.items():
            last = self._last_sent.get(key, np.zeros(f.size))
            out[key] = np.clip(command[key], last - f.max_delta, last + f.max_delta)
            clamped |= not np.array_equal(out[key], command[key])
        self.rate_clamps += clamped
        return out

    def stop(self) -> None:
        """Safe stop; a no-op when not connected. Counted, and its time recorded (monotonic s)."""
        with self._io:
            if not self.connected:
                return
            self._stop()
            self.stop_count += 1
            self.last_stop_time_s = time.monotonic()
            zero = self.limits.zero_command()  # at rest: velocity-like keys ramp up from zero again
            self._last_sent = {k: (self._last_sent.get(k, zero[k]) if f.hold == "last" else zero[k])
                               for k, f in self.limits.fields.items()}

    def close(self) -> None:
        """Safe-stop then release the robot; calling it again does nothing."""
        with self._io:
            if self._closed:
                return
            try:
                if self._connected:
                    self._stop_quietly()
            finally:
                self._closed = True
                self._close()

    def _require_connected(self) -> None:
        if not self.connected:
            raise RuntimeError(f"{type(self).__name__} is not connected; call connect() or use `with`")

    # ---------------------------------------------------------------- context manager
    def __enter__(self) -> RobotAdapter:
        self._signals = stop_on_signals()
        self._signals.__enter__()
        try:
            return self.connect()
        except BaseException:
            self._signals.__exit__(None, None, None)
            raise

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None:
                self._stop_quietly()
            self.close()
        finally:
            self._signals.__exit__(None, None, None)

    def _stop_quietly(self) -> None:
        """The safe stop on the error path: a failing stop must not hide the original error."""
        try:
            self.stop()
        except Exception as err:  # noqa: BLE001 - reported, the original exception propagates
            log.error("safe stop failed on the error path: %r", err)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGINT into KeyboardInterrupt and SIGTERM into :class:`SignalStop` while inside.

    Handlers are installed only in the main thread (Python delivers signals there) and the previous
    handlers are restored on exit, so nesting and use under pytest are safe.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt if signum == signal.SIGINT else SignalStop(signum)

    previous = {s: signal.signal(s, _raise) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
