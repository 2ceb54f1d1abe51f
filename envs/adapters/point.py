"""``PointRobotAdapter``: the smallest complete adapter, a point integrating its commanded velocity.

Use it to dry-run the deploy path (control loop, supervisor, robot server, logs) without PyBullet
or hardware, and read it as the template for a driver: declare limits, implement the five hooks;
the base class adds validation, locking, and the safe stop on exceptions and signals.

Commands: ``velocity`` [2] (m/s, within +-1, change <= 0.5 per step, holds at zero) and
``gripper`` [1] (a position-like setpoint, holds its last value). Readings: ``position`` [2]
(metres) and ``velocity`` [2] (m/s). ``time_s`` is simulated time (``dt`` per ``act``).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from envs.adapters.base import Command, Observation, RobotAdapter
from envs.adapters.limits import CommandField, CommandLimits


class PointRobotAdapter(RobotAdapter):
    """A planar point robot.

    Args:
        dt: simulated seconds per ``act``.
    """

    def __init__(self, dt: float = 0.02) -> None:
        super().__init__(CommandLimits({"velocity": CommandField.box(-1.0, 1.0, 0.5, 2),
                                        "gripper": CommandField.box(-1.0, 1.0, 2.0, 1, hold="last")}))
        if not dt > 0:
            raise ValueError(f"dt must be > 0 seconds, got {dt}")
        self.dt = self.period_s = dt
        self.position = np.zeros(2)
        self.velocity = np.zeros(2)
        self.time_s = 0.0
        self.acts = 0
        self.last_command: Command | None = None

    def _connect(self) -> None:
        self.home()

    def home(self) -> None:
        """Back to the origin, at rest."""
        self.position[:] = 0.0
        self.velocity[:] = 0.0

    def reset_to(self, observation: Mapping[str, np.ndarray]) -> None:
        """Put the point in a logged state (for replay)."""
        self.position = np.asarray(observation["position"], dtype=np.float64).copy()
        self.velocity = np.asarray(observation["velocity"], dtype=np.float64).copy()

    def _observe(self) -> Observation:
        return Observation(self.time_s, {"position": self.position.copy(), "velocity": self.velocity.copy()})

    def _act(self, command: Command) -> Command:
        self.velocity = command["velocity"].copy()
        self.position += self.velocity * self.dt
        self.time_s += self.dt
        self.acts += 1
        self.last_command = command
        return command

    def _stop(self) -> None:
        self.velocity[:] = 0.0

    def _close(self) -> None:
        """Nothing to release."""
