"""Tasks about one cube on the table: its state, its target marker and how both are reset."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from envs.sim.bullet import Simulator
from envs.tasks.base import GOAL_RGBA, GoalTask

OBJECT_HALF_SIZE = 0.02  # metres: a 4 cm cube
OBJECT_MASS = 0.1  # kg: a dense plastic 4 cm cube (1 kg would be twice as dense as steel)
OBJECT_RGBA = (0.1, 0.3, 0.9, 1.0)
OBJECT_RANGE = 0.15  # metres: object and goal xy sampled in [-range, range]^2


class TabletopObjectTask(GoalTask):
    """Shared machinery for tasks that move a cube to a goal position.

    Task observation [12]: object position (metres), orientation as roll/pitch/yaw (radians),
    linear velocity (m/s), angular velocity (rad/s). The achieved goal is the object position.

    Args:
        sim: The world.
        ee_position: End-effector position [3] (metres), a robot ability.
        gripper_width: Gripper opening (metres), a robot ability.
        reward_type: ``"sparse"`` or ``"dense"``.
        distance_threshold: Success radius, metres.
    """

    observation_size = 12

    def __init__(self, sim: Simulator, ee_position: Callable[[], np.ndarray], gripper_width: Callable[[], float],
                 reward_type: str = "sparse", distance_threshold: float = 0.05) -> None:
        super().__init__(reward_type, distance_threshold)
        self.sim = sim
        self.ee_position = ee_position
        self.gripper_width = gripper_width
        self.object_half_size = OBJECT_HALF_SIZE
        self.object = self._create_object(OBJECT_HALF_SIZE)
        self.target = sim.create_box([OBJECT_HALF_SIZE] * 3, (0.0, 0.0, OBJECT_HALF_SIZE), GOAL_RGBA, ghost=True)
        self._object_state = np.zeros(13)

    def _create_object(self, half_size: float) -> int:
        body = self.sim.create_box([half_size] * 3, (0.0, 0.0, half_size), OBJECT_RGBA, mass=OBJECT_MASS)
        self.sim.set_dynamics(body, lateralFriction=1.0)  # no torsional friction: it costs ~7% of physics
        return body

    def scale_object(self, scale: float) -> None:
        """Replace the cube by one ``scale`` times the nominal 4 cm (domain randomization)."""
        half_size = OBJECT_HALF_SIZE * scale
        if half_size != self.object_half_size:
            self.sim.remove_body(self.object)
            self.object = self._create_object(half_size)
            self.object_half_size = half_size

    @property
    def segmentation_ids(self) -> dict[str, int]:
        return {"object": self.object, "target": self.target}

    def reset(self, rng: np.random.Generator) -> None:
        xy = rng.uniform(-OBJECT_RANGE, OBJECT_RANGE, size=2)
        self.sim.set_base_pose(self.object, (*xy, self.object_half_size))
        self.goal = self.sample_goal(rng)
        self.sim.set_base_pose(self.target, self.goal)

    def sample_goal(self, rng: np.random.Generator) -> np.ndarray:
        """[3] goal position; the default is on the table."""
        return np.array((*rng.uniform(-OBJECT_RANGE, OBJECT_RANGE, size=2), self.object_half_size))

    def update(self) -> None:
        self._object_state = self.sim.base_kinematics(self.object)

    def object_position(self) -> np.ndarray:
        """[3] true object position in metres (ground truth for perception)."""
        return self._object_state[:3].copy()

    def achieved_goal(self) -> np.ndarray:
        return self.object_position()

    def observation(self) -> np.ndarray:
        state = self._object_state
        euler = self.sim.euler_from_quaternion(state[3:7])
        return np.concatenate((state[:3], euler, state[7:]))
