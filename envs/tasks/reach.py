"""Reach: move the end effector to a target point above the table."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from envs.sim.bullet import Simulator
from envs.tasks.base import GOAL_RGBA, GoalTask

GOAL_LOW = np.array((-0.15, -0.15, 0.0))  # metres, relative to the table centre under the arm
GOAL_HIGH = np.array((0.15, 0.15, 0.3))
SCRIPTED_GAIN = 10.0  # command per metre of error


def sample_goal(rng: np.random.Generator) -> np.ndarray:
    """A reach target above the table, uniform in the ``GOAL_LOW``..``GOAL_HIGH`` box (metres)."""
    return rng.uniform(GOAL_LOW, GOAL_HIGH)


class Reach(GoalTask):
    """Reach a point sampled uniformly in a 30 x 30 x 30 cm box.

    Args:
        sim: The world (used to draw the target).
        ee_position: The robot ability this task needs: end-effector position [3], metres.
        reward_type: ``"sparse"`` or ``"dense"``.
        distance_threshold: Success radius, metres.
    """

    def __init__(self, sim: Simulator, ee_position: Callable[[], np.ndarray], reward_type: str = "sparse",
                 distance_threshold: float = 0.05) -> None:
        super().__init__(reward_type, distance_threshold)
        self.sim = sim
        self.ee_position = ee_position
        self.target = sim.create_sphere(distance_threshold / 2, (0.0, 0.0, 0.1), GOAL_RGBA, ghost=True)

    @property
    def segmentation_ids(self) -> dict[str, int]:
        return {"target": self.target}

    def reset(self, rng: np.random.Generator) -> None:
        self.goal = sample_goal(rng)
        self.sim.set_base_pose(self.target, self.goal)

    def achieved_goal(self) -> np.ndarray:
        return self.ee_position()

    def scripted_command(self) -> np.ndarray:
        error = self.goal - self.ee_position()
        return np.clip(np.append(SCRIPTED_GAIN * error, -1.0), -1.0, 1.0)
