"""Push: slide the cube along the table to a target with the closed gripper."""
from __future__ import annotations

import numpy as np

from envs.tasks.tabletop import TabletopObjectTask

GAIN = 20.0  # command per metre of error
HOVER = 0.08  # metres above the table when travelling to the pushing position
CONTACT_GAP = 0.025  # metres between the fingertips and the cube face before pushing
ALIGNED = 0.012  # metres: close enough to the pushing position to descend
PUSH_LATERAL = 0.025  # metres of lateral error tolerated while pushing
PUSH_STEP = 0.04  # metres the cube is pushed per control step
FINGER_HALF_THICKNESS = 0.008  # metres from the end-effector point to the finger surface


def _toward(position: np.ndarray, target: np.ndarray, gain: float = GAIN) -> np.ndarray:
    return np.clip(gain * (target - position), -1.0, 1.0)


class Push(TabletopObjectTask):
    """Push a 4 cm cube to a goal on the table (goal and object xy in a 30 x 30 cm square)."""

    def scripted_command(self) -> np.ndarray:
        """Go behind the cube on the goal-to-cube line, lower, push through; re-align when off line."""
        ee, cube = self.ee_position(), self.object_position()
        to_goal = self.goal[:2] - cube[:2]
        distance = np.linalg.norm(to_goal)
        if distance < 1e-3:
            return np.array((0.0, 0.0, 0.0, -1.0))
        direction = to_goal / distance
        behind = cube[:2] - direction * (self.object_half_size + CONTACT_GAP)
        offset = ee[:2] - cube[:2]
        along = offset @ direction
        lateral = np.linalg.norm(offset - along * direction)
        low = self.object_half_size  # push at the middle of the face
        in_contact_line = along < 0 and lateral < PUSH_LATERAL and ee[2] < low + 0.01
        if in_contact_line and -along < self.object_half_size + CONTACT_GAP + 0.01:
            # Aim just behind the cube's current face plus one push increment: corrects drift each step.
            contact = cube[:2] - direction * (self.object_half_size + FINGER_HALF_THICKNESS)
            target = np.array((*(contact + direction * min(PUSH_STEP, distance)), low))
            command = _toward(ee, target)
        elif np.linalg.norm(ee[:2] - behind) < ALIGNED:
            command = _toward(ee, np.array((*behind, low)))
        elif ee[2] < low + HOVER / 2 and np.linalg.norm(offset) < 0.1:
            command = _toward(ee, np.array((*ee[:2], low + HOVER)))  # lift clear of the cube first
        else:
            command = _toward(ee, np.array((*behind, low + HOVER)))
        return np.append(command, -1.0)
