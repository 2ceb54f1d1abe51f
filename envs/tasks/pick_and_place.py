"""PickAndPlace: grasp the cube and carry it to a target that may float above the table."""
from __future__ import annotations

import numpy as np

from envs.tasks.tabletop import OBJECT_RANGE, TabletopObjectTask

GOAL_MAX_HEIGHT = 0.2  # metres above the table
GAIN = 12.0  # command per metre of error
HOVER = 0.06  # metres above the cube before descending
CENTRED = 0.008  # metres: fingertips are around the cube
OPEN, CLOSE = 1.0, -1.0


def _toward(position: np.ndarray, target: np.ndarray) -> np.ndarray:
    return np.clip(GAIN * (target - position), -1.0, 1.0)


class PickAndPlace(TabletopObjectTask):
    """Pick a 4 cm cube and place it at a goal up to 20 cm above the table (half of goals in the air)."""

    def sample_goal(self, rng: np.random.Generator) -> np.ndarray:
        xy = rng.uniform(-OBJECT_RANGE, OBJECT_RANGE, size=2)
        lift = rng.uniform(0.0, GOAL_MAX_HEIGHT) if rng.random() < 0.5 else 0.0
        return np.array((*xy, self.object_half_size + lift))

    def holding(self) -> bool:
        """The cube sits between closed fingers."""
        ee, cube = self.ee_position(), self.object_position()
        closed_on_it = self.gripper_width() < 2 * self.object_half_size + 0.01
        return closed_on_it and np.linalg.norm(ee - cube) < self.object_half_size

    def scripted_command(self) -> np.ndarray:
        """Hover above the cube, descend open, close, then carry it to the goal."""
        ee, cube = self.ee_position(), self.object_position()
        if self.holding():
            return np.append(_toward(cube, self.goal), CLOSE)  # steer the cube, not the fingertips
        above = np.linalg.norm(ee[:2] - cube[:2]) < CENTRED
        at_cube = above and abs(ee[2] - cube[2]) < 0.01
        if at_cube:
            return np.append(_toward(ee, cube), CLOSE)
        if above:
            return np.append(_toward(ee, cube), OPEN)
        return np.append(_toward(ee, np.array((*cube[:2], cube[2] + HOVER))), OPEN)
