"""A deployment session: run the loop; after any safe stop, reconnect and resume only when told.

A lost robot link, a restarted robot process, a watchdog trip or a fault in the loop all end a run
with the robot safe-stopped (``ControlLoop.run`` does that). This module decides what comes next:
wait until the robot answers again (``adapter.reconnect()`` when it has one), then ask
``confirm_resume`` (the operator, in ``scripts/deploy.py``), and only on a yes clear the
supervisor's latch and run again. Nothing moves between a stop and that explicit yes.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from agents.deploy.control_loop import ControlLoop, LoopStats

log = logging.getLogger(__name__)


def wait_for_robot(adapter: Any, timeout_s: float, every_s: float = 0.5,
                   sleep: Callable[[float], None] = time.sleep) -> bool:
    """Call ``adapter.reconnect()`` until it succeeds or ``timeout_s`` passes; True when back.

    Adapters without ``reconnect`` (a local robot) count as always there.
    """
    reconnect = getattr(adapter, "reconnect", None)
    if reconnect is None:
        return True
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            reconnect()
            return True
        except Exception as err:  # noqa: BLE001 - any failure means "not back yet"; retried until timeout
            if time.monotonic() >= deadline:
                log.error("robot did not come back within %.1f s: %r", timeout_s, err)
                return False
            sleep(every_s)


def run_session(loop: ControlLoop, confirm_resume: Callable[[str], bool] | None, reconnect_timeout_s: float = 60.0,
                max_restarts: int = 10) -> list[LoopStats]:
    """Run ``loop`` until its run length completes, resuming after safe stops on explicit consent.

    Args:
        loop: the control loop (its adapter, supervisor and recorder are used).
        confirm_resume: called with the stop reason once the robot answers again; True resumes.
            None: never resume (the first safe stop ends the session at once).
        reconnect_timeout_s: how long to wait for the robot to come back (seconds).
        max_restarts: bound on resumptions, so a persistent fault cannot loop forever.

    Returns:
        Statistics of every run. Re-raises the last error when resumption is declined or impossible.
    """
    runs: list[LoopStats] = []
    for _ in range(max_restarts + 1):
        try:
            runs.append(loop.run())
            return runs
        except Exception as err:  # noqa: BLE001 - the robot is already stopped; decide what next
            runs.append(loop.stats)
            reason = f"{type(err).__name__}: {err}"
            log.warning("robot safe-stopped: %s", reason)
            if hasattr(loop.recorder, "new_episode"):
                loop.recorder.new_episode()
            if confirm_resume is None or not wait_for_robot(loop.adapter, reconnect_timeout_s) \
                    or not confirm_resume(reason):
                raise
            loop.supervisor.resume()
    raise RuntimeError(f"gave up after {max_restarts} resumptions")
