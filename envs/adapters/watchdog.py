"""The watchdog thread: safe-stops the robot when no valid command arrived within the deadline.

It runs beside the control loop, so a policy that hangs (or a loop stuck anywhere) still gets the
robot stopped. The deadline is the supervisor's (``SafetyConfig.watchdog_s``) and time is the
supervisor's clock, so tests drive it with a fake clock by calling :meth:`Watchdog.check`.
"""
from __future__ import annotations

import logging
import threading

from envs.adapters.base import RobotAdapter
from envs.adapters.safety import SafetySupervisor

log = logging.getLogger(__name__)


class Watchdog:
    """Polls ``supervisor.watchdog_expired()`` every ``poll_s`` seconds; on expiry latches the stop
    in the supervisor (so no new goal is sent until an explicit resume) and calls ``adapter.stop()``.

    Args:
        supervisor: whose deadline and clock are used.
        adapter: the robot to stop.
        poll_s: real seconds between checks; the stop comes at most this late after the deadline.
    """

    def __init__(self, supervisor: SafetySupervisor, adapter: RobotAdapter, poll_s: float = 0.005) -> None:
        if not poll_s > 0:
            raise ValueError(f"poll_s must be > 0 seconds, got {poll_s}")
        self.supervisor = supervisor
        self.adapter = adapter
        self.poll_s = poll_s
        self.trip_times_s: list[float] = []
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> bool:
        """One check; returns True when it issued the safe stop."""
        if not self.supervisor.watchdog_expired() or not self.supervisor.latch_stop("watchdog"):
            return False
        self.trip_times_s.append(self.supervisor.clock())
        try:
            self.adapter.stop()
        except Exception as err:  # noqa: BLE001 - the thread must survive to stop again later
            log.error("watchdog safe stop failed: %r", err)
        return True

    def _run(self) -> None:
        while not self._halt.wait(self.poll_s):
            self.check()

    def start(self) -> Watchdog:
        if self._thread is None:
            self._halt.clear()
            self._thread = threading.Thread(target=self._run, name="robot-watchdog", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop the thread (not the robot); safe to call twice."""
        self._halt.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None

    def __enter__(self) -> Watchdog:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
