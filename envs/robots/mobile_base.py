"""A differential-drive wheeled base (Clearpath Husky from pybullet_data), driven by velocity commands.

Like the Panda, it needs only a :class:`~envs.sim.bullet.Simulator`.
"""
from __future__ import annotations

import numpy as np
from gymnasium import spaces

from envs.sim.bullet import Simulator
from foresight_base.checks import check_choice

LEFT_WHEELS = (2, 4)
RIGHT_WHEELS = (3, 5)
WHEEL_RADIUS = 0.17775  # metres
TRACK_WIDTH = 0.5708  # metres between left and right wheels
MAX_SPEED = 1.0  # m/s forward at action 1
MAX_TURN_RATE = 2.0  # rad/s at action 1
WHEEL_FORCE = 60.0  # N m per wheel motor
BODY_RGBA = (0.85, 0.65, 0.1, 1.0)


def yaw_from_quaternion(quaternion: np.ndarray) -> float:
    """Heading (radians) of an (x, y, z, w) quaternion of a body that stays upright."""
    x, y, z, w = quaternion
    return float(np.arctan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z)))


class MobileBase:
    """Skid-steered four-wheel base.

    Action (float32 in [-1, 1]): [forward speed (x ``MAX_SPEED`` m/s), turn rate
    (x ``MAX_TURN_RATE`` rad/s, positive turns left)].
    Observation [7]: x, y (metres), cos and sin of heading, forward and lateral speed in the
    base frame (m/s), turn rate (rad/s).

    Args:
        sim: The world to live in.
        visuals: ``"low_poly"`` (collision shapes, fast cameras) or ``"full"`` meshes.
    """

    observation_size = 7
    action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)

    def __init__(self, sim: Simulator, visuals: str = "low_poly") -> None:
        check_choice("visuals", visuals, ("low_poly", "full"))
        self.sim = sim
        self.body = sim.load_urdf("husky/husky.urdf", position=(0.0, 0.0, 0.0), low_poly=visuals == "low_poly")
        if visuals == "low_poly":
            for link in range(-1, sim.joint_count(self.body)):
                sim.set_color(self.body, BODY_RGBA, link)
        self._wheels = list(LEFT_WHEELS + RIGHT_WHEELS)
        self._kinematics = np.zeros(13)

    def reset(self, position=(0.0, 0.0), yaw: float = 0.0) -> None:
        """Place the base at ``position`` (metres) facing ``yaw`` (radians), at rest."""
        quaternion = (0.0, 0.0, np.sin(yaw / 2.0), np.cos(yaw / 2.0))
        self.sim.set_base_pose(self.body, (*position, 0.0), quaternion)
        self.sim.reset_joints(self.body, self._wheels, [0.0] * 4)
        self.sim.set_joint_velocities(self.body, self._wheels, [0.0] * 4, [WHEEL_FORCE] * 4)
        self.update()

    def update(self) -> None:
        """Read the base's pose and velocity from the simulator once."""
        self._kinematics = self.sim.base_kinematics(self.body)

    def position(self) -> np.ndarray:
        """[2] x, y of the base in metres."""
        return self._kinematics[:2].copy()

    def yaw(self) -> float:
        return yaw_from_quaternion(self._kinematics[3:7])

    def pose_matrix(self) -> np.ndarray:
        """4x4 world-from-base transform (heading only: the base is treated as upright)."""
        yaw = self.yaw()
        pose = np.eye(4)
        pose[:2, :2] = ((np.cos(yaw), -np.sin(yaw)), (np.sin(yaw), np.cos(yaw)))
        pose[:3, 3] = self._kinematics[:3]
        return pose

    def observation(self) -> np.ndarray:
        yaw = self.yaw()
        c, s = np.cos(yaw), np.sin(yaw)
        vx, vy = self._kinematics[7:9]
        forward, lateral = c * vx + s * vy, -s * vx + c * vy
        return np.array((*self._kinematics[:2], c, s, forward, lateral, self._kinematics[12]))

    def apply_action(self, action: np.ndarray) -> None:
        """Wheel speed targets for one control period from [forward, turn] commands."""
        action = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        speed, turn = action[0] * MAX_SPEED, action[1] * MAX_TURN_RATE
        left = (speed - turn * TRACK_WIDTH / 2.0) / WHEEL_RADIUS
        right = (speed + turn * TRACK_WIDTH / 2.0) / WHEEL_RADIUS
        self.sim.set_joint_velocities(self.body, self._wheels, [left, left, right, right], [WHEEL_FORCE] * 4)

    def action_for(self, command: np.ndarray) -> np.ndarray:
        """Scripted controllers command [forward, turn] directly."""
        return np.clip(np.asarray(command, dtype=np.float32), -1.0, 1.0)
