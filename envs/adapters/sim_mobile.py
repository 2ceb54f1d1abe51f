"""``SimMobileBaseAdapter``: the simulated wheeled base behind the ``RobotAdapter`` interface.

Commands: ``base_velocity`` [2] in the base's action units ([-1, 1]: forward speed and turn rate,
scaled by the robot to m/s and rad/s), holding at zero. Readings: ``observation`` [7] (the sim
env's: x, y m, cos/sin heading, forward/lateral speed m/s, turn rate rad/s) and ``base_pose`` [3]
(x, y m, heading rad). The safe stop sets zero wheel speeds.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from envs.adapters.limits import CommandField, CommandLimits
from envs.adapters.sim_base import SimRobotAdapter
from envs.robots.mobile_base import MobileBase
from envs.sim.bullet import PhysicsConfig, Simulator
from envs.tasks.scene import build_floor_scene


def mobile_base_limits(max_delta: float = 0.5) -> CommandLimits:
    """[forward, turn] in [-1, 1], changing at most ``max_delta`` per step."""
    return CommandLimits({"base_velocity": CommandField.box(-1.0, 1.0, max_delta, 2)})


class SimMobileBaseAdapter(SimRobotAdapter):
    """The wheeled base on ``MobilePointNav``'s floor (without the task's pillars)."""

    def __init__(self, physics: PhysicsConfig = PhysicsConfig(), max_delta: float = 0.5) -> None:
        super().__init__(mobile_base_limits(max_delta), physics)

    def _build(self, sim: Simulator) -> MobileBase:
        build_floor_scene(sim)  # MobilePointNav's floor
        return MobileBase(sim)

    def _hold(self) -> None:
        self.robot.apply_action(np.zeros(2))

    def _readings(self) -> dict[str, np.ndarray]:
        position = self.robot.position()
        return {"observation": self.robot.observation(), "base_pose": np.array((*position, self.robot.yaw()))}

    def reset_to(self, observation: Mapping[str, np.ndarray]) -> None:
        x, y, yaw = np.asarray(observation["base_pose"], dtype=np.float64)
        self.robot.reset(position=(x, y), yaw=yaw)
        self._hold()
