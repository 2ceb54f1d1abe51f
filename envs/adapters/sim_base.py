"""``SimRobotAdapter``: what every PyBullet robot behind the ``RobotAdapter`` interface shares.

One simulator per adapter, one control period per ``act``, ``time_s`` on the simulated clock. The
robots themselves are in ``sim_panda`` and ``sim_mobile``; ``sim.make_sim_robot`` picks one by name.
"""
from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import Any

import numpy as np

from envs.adapters.base import Command, Observation, RobotAdapter
from envs.adapters.limits import CommandLimits
from envs.sim.bullet import PhysicsConfig, Simulator


class SimRobotAdapter(RobotAdapter):
    """What every simulated robot shares: its own simulator, stepping one control period per ``act``.

    Subclasses build the scene and robot (``_build``), hold still (``_hold``), read
    (``_readings``) and restore a logged state (``reset_to``); the robot object follows the
    ``envs.robots`` interface (``reset``, ``update``, ``observation``, ``apply_action``).
    """

    def __init__(self, limits: CommandLimits, physics: PhysicsConfig) -> None:
        super().__init__(limits)
        self.physics = physics
        self.period_s = physics.timestep * physics.substeps
        self.sim: Simulator | None = None
        self.robot: Any = None
        self.sim_time_s = 0.0

    @abstractmethod
    def _build(self, sim: Simulator) -> Any:
        """Create the scene and return the robot."""

    @abstractmethod
    def _hold(self) -> None:
        """Motor targets that keep the robot where it is (the safe stop)."""

    @abstractmethod
    def _readings(self) -> dict[str, np.ndarray]: ...

    @abstractmethod
    def reset_to(self, observation: Mapping[str, np.ndarray]) -> None:
        """Put the robot in a logged state (its readings), holding still."""

    def _connect(self) -> None:
        self.sim = Simulator(self.physics)
        try:
            self.robot = self._build(self.sim)
        except Exception:
            self.sim.close()
            raise
        self.home()

    def home(self) -> None:
        """The robot's reset pose, holding still."""
        self.robot.reset()
        self._hold()

    def _observe(self) -> Observation:
        return Observation(self.sim_time_s, self._readings())

    def _act(self, command: Command) -> Command:
        self.robot.apply_action(self.limits.join(command))
        self.sim.step()
        self.robot.update()
        self.sim_time_s += self.period_s
        return command

    def _stop(self) -> None:
        self._hold()

    def _close(self) -> None:
        if self.sim is not None:
            self.sim.close()
