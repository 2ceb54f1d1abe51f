"""A kinematic point robot for protocol-level tests: position integrates the commanded velocity.

It implements the adapter hooks only, so everything the tests exercise (validation, locking,
safe stop, the network path) is the real code of ``RobotAdapter`` and the server/client.
"""
import time

import numpy as np

from envs.adapters.base import Observation, RobotAdapter
from envs.adapters.limits import CommandField, CommandLimits


class PointRobot(RobotAdapter):
    def __init__(self, dt: float = 0.02) -> None:
        super().__init__(CommandLimits({"velocity": CommandField.box(-1.0, 1.0, 0.5, 2),
                                        "gripper": CommandField.box(-1.0, 1.0, 2.0, 1, hold="last")}))
        self.dt = dt
        self.position = np.zeros(2)
        self.velocity = np.zeros(2)
        self.sent: list[dict] = []

    def _connect(self) -> None:
        self.position[:] = 0.0

    def _observe(self) -> Observation:
        return Observation(time.monotonic(), {"position": self.position.copy(), "velocity": self.velocity.copy()})

    def _act(self, command):
        self.velocity = command["velocity"].copy()
        self.position += self.velocity * self.dt
        self.sent.append(command)
        return command

    def _stop(self) -> None:
        self.velocity[:] = 0.0

    def _close(self) -> None:
        pass

    def reset_to(self, observation) -> None:
        self.position = np.asarray(observation["position"], dtype=np.float64).copy()
        self.velocity = np.asarray(observation["velocity"], dtype=np.float64).copy()

    def home(self) -> None:
        self.position[:] = 0.0
        self.velocity[:] = 0.0
