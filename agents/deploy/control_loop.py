"""The fixed-rate control loop: observation -> policy -> safety supervisor -> robot, logged.

It takes its parts as plain objects (any adapter with ``observe/act/stop``, any supervisor with
``supervise/latch_stop``), so it runs unchanged on the PyBullet robot, a robot across the network,
or a real one. Any exception, including ``KeyboardInterrupt`` and the SIGTERM exception raised by
``with adapter:``, safe-stops the robot first and only then unwinds (log flushing is slow).
"""
from __future__ import annotations

import logging
import os
import select
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)

Policy = Callable[[Mapping[str, np.ndarray]], np.ndarray]


class Adapter(Protocol):
    def observe(self) -> Any: ...
    def act(self, command: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]: ...
    def stop(self) -> None: ...


class Supervisor(Protocol):
    interventions: tuple[str, ...]
    def supervise(self, command: Any, uncertainty: float | None = None) -> Any: ...
    def latch_stop(self, reason: str) -> bool: ...


@dataclass(frozen=True)
class LoopConfig:
    """Attributes:
        rate_hz: control rate (Hz); each step starts on a fixed grid ``t0 + k / rate_hz``.
        max_steps: stop after this many steps (None: until interrupted or ``duration_s``).
        duration_s: stop after this many seconds (None: no limit).
    """

    rate_hz: float = 50.0
    max_steps: int | None = None
    duration_s: float | None = None

    def __post_init__(self) -> None:
        if not self.rate_hz > 0:
            raise ValueError(f"rate_hz must be > 0, got {self.rate_hz}")
        if self.max_steps is not None and self.max_steps < 0:
            raise ValueError(f"max_steps must be >= 0 or None, got {self.max_steps}")


@dataclass
class StepRecord:
    """One control step as logged: times in seconds on the loop clock, arrays as sent/seen."""

    time_s: float
    observation: Mapping[str, np.ndarray]
    action: np.ndarray
    command: dict[str, np.ndarray]
    interventions: int
    compute_s: float
    robot_time_s: float = float("nan")
    """The reading's timestamp on the robot's own clock (simulated time for a simulated robot)."""


@dataclass
class LoopStats:
    """Step start times and per-step compute latency, summarised as percentiles in milliseconds."""

    period_s: float
    starts_s: list[float] = field(default_factory=list)
    compute_s: list[float] = field(default_factory=list)
    overruns: int = 0

    def summary(self) -> dict[str, float]:
        periods = np.diff(self.starts_s) if len(self.starts_s) > 1 else np.zeros(1)
        jitter = np.abs(periods - self.period_s)
        compute = np.asarray(self.compute_s or [0.0])
        ms = lambda a, q: float(np.percentile(a, q) * 1e3)  # noqa: E731
        return {"steps": len(self.starts_s), "rate_hz": 1.0 / float(np.mean(periods)) if periods.any() else 0.0,
                "period_p50_ms": ms(periods, 50), "period_p99_ms": ms(periods, 99),
                "jitter_p50_ms": ms(jitter, 50), "jitter_p99_ms": ms(jitter, 99),
                "compute_p50_ms": ms(compute, 50), "compute_p99_ms": ms(compute, 99),
                "overruns": self.overruns}


class ControlLoop:
    """Runs ``policy`` on ``adapter`` at a fixed rate through ``supervisor``.

    Args:
        adapter: the robot (``observe() -> Observation(time_s, data)``, ``act``, ``stop``).
        policy: observation dict -> flat action [A] (an exported policy, or any callable).
        supervisor: the safety gate; its decision is what gets sent.
        config: rate and run length.
        uncertainty: optional (observation dict, action) -> scalar disagreement for the gate.
        recorder: optional object with ``append(StepRecord)``, e.g. a :class:`DeployLog`.
        clock, sleep: time source and sleeper in seconds (injectable for tests); the default sleep
            wakes on SIGINT/SIGTERM (see :class:`SignalAwareSleep`).
    """

    def __init__(self, adapter: Adapter, policy: Policy, supervisor: Supervisor, config: LoopConfig | None = None,
                 uncertainty: Callable[[Mapping[str, np.ndarray], np.ndarray], float] | None = None,
                 recorder: Any | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] | None = None) -> None:
        self.adapter, self.policy, self.supervisor = adapter, policy, supervisor
        self.config = config or LoopConfig()
        self.uncertainty, self.recorder = uncertainty, recorder
        self.clock, self.sleep = clock, sleep
        self.period_s = 1.0 / self.config.rate_hz
        self.stats = LoopStats(self.period_s)

    def step(self) -> StepRecord:
        """One observation -> command cycle (no waiting)."""
        start = self.clock()
        obs = self.adapter.observe()
        action = self.policy(obs.data)
        score = self.uncertainty(obs.data, action) if self.uncertainty is not None else None
        decision = self.supervisor.supervise(action, score)
        sent = self.adapter.act(decision.command)
        mask = sum(1 << self.supervisor.interventions.index(n) for n in decision.interventions)
        record = StepRecord(start, obs.data, _flat_or_nan(action, sent), sent, mask, self.clock() - start,
                            float(obs.time_s))
        self.stats.starts_s.append(start)
        self.stats.compute_s.append(record.compute_s)
        if self.recorder is not None:
            self.recorder.append(record)
        return record

    def run(self) -> LoopStats:
        """Step on the fixed grid until ``max_steps``/``duration_s``; any exception safe-stops first.

        Returns this run's statistics (each run starts new ones).
        """
        self.stats = LoopStats(self.period_s)
        try:
            if self.sleep is None:
                with SignalAwareSleep() as sleeper:
                    self._run(sleeper.sleep)
            else:
                self._run(self.sleep)
        except BaseException as err:
            self._safe_stop(f"{type(err).__name__}: {err}")
            raise
        return self.stats

    def _run(self, sleep: Callable[[float], None]) -> None:
        t0 = next_t = self.clock()
        steps = 0
        while not self._done(steps, t0):
            self.step()
            steps += 1
            next_t += self.period_s
            now = self.clock()
            if now > next_t + self.period_s:  # fell a whole period behind: skip, do not burst
                self.stats.overruns += 1
                next_t = now
            elif next_t > now:
                sleep(next_t - now)

    def _done(self, steps: int, t0: float) -> bool:
        cfg = self.config
        if cfg.max_steps is not None and steps >= cfg.max_steps:
            return True
        return cfg.duration_s is not None and self.clock() - t0 >= cfg.duration_s

    def _safe_stop(self, reason: str) -> None:
        """Stop the robot before anything slow; never let a failing stop hide the first error."""
        try:
            self.adapter.stop()
        except Exception as err:  # noqa: BLE001 - reported; the original exception propagates
            log.error("safe stop failed after %s: %r", reason, err)
        self.supervisor.latch_stop("loop_error")
        log.warning("control loop stopped: %s", reason)


class SignalAwareSleep:
    """Sleeps that end as soon as a signal arrives, so Ctrl-C stops the robot within microseconds.

    Any thread may receive SIGINT/SIGTERM, and Python runs the handler in the main thread only
    when that thread next runs bytecode: a main thread in ``time.sleep`` would notice up to a whole
    period late. Inside this context (main thread only) the C-level handler also writes to a pipe
    (``signal.set_wakeup_fd``) that :meth:`sleep` waits on, so the handler runs at once.
    """

    def __enter__(self) -> SignalAwareSleep:
        self._fds: tuple[int, int] | None = None
        if threading.current_thread() is threading.main_thread():
            read, write = os.pipe()
            os.set_blocking(read, False)
            os.set_blocking(write, False)
            self._previous = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
            self._fds = (read, write)
        return self

    def sleep(self, seconds: float) -> None:
        if self._fds is None:
            time.sleep(seconds)
            return
        ready, _, _ = select.select([self._fds[0]], [], [], seconds)
        if ready:
            os.read(self._fds[0], 512)  # drain; the pending handler runs right after this returns

    def __exit__(self, *exc) -> None:
        if self._fds is not None:
            signal.set_wakeup_fd(self._previous)
            for fd in self._fds:
                os.close(fd)


def _flat_or_nan(action: Any, like: Mapping[str, np.ndarray]) -> np.ndarray:
    """The policy's raw action as float64 [A] for the log; NaNs when it was not a valid vector."""
    size = sum(np.asarray(v).size for v in like.values())
    try:
        flat = np.asarray(action, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        flat = np.empty(0)
    return flat if flat.shape == (size,) else np.full(size, np.nan)
