"""Franka Emika Panda arm on a fixed base: end-effector delta control (default) or joint deltas.

The robot needs only a :class:`~envs.sim.bullet.Simulator`; no task or environment, so the deploy
adapters can drive it on its own.
"""
from __future__ import annotations

import numpy as np
from gymnasium import spaces

from envs.sim.bullet import Simulator
from foresight_base.checks import check_choice

CONTROLS = ("ee", "joints")
VISUALS = ("low_poly", "full")

ARM_JOINTS = (0, 1, 2, 3, 4, 5, 6)
FINGER_JOINTS = (9, 10)
EE_LINK = 11  # panda_grasptarget: between the fingertips
ARM_FORCES = (87.0, 87.0, 87.0, 87.0, 12.0, 120.0, 120.0)  # N m
FINGER_FORCE = 100.0  # N per finger
JOINTS = ARM_JOINTS + FINGER_JOINTS  # every actuated joint, arm first
FORCES = ARM_FORCES + (FINGER_FORCE,) * 2  # their motor limits
HOME_ARM = (0.0, 0.41, 0.0, -1.85, 0.0, 2.26, 0.79)  # radians, gripper above the table centre
GRIPPER_DOWN = (1.0, 0.0, 0.0, 0.0)  # x, y, z, w: fingers pointing at the table
MAX_EE_STEP = 0.05  # metres per step at |action| = 1
MAX_JOINT_STEP = 0.05  # radians per step at |action| = 1
MAX_FINGER_STEP = 0.2  # metres of gripper opening per step at |action| = 1
MAX_WIDTH = 0.08  # metres between the fingers, fully open
ARM_RGBA = (0.92, 0.92, 0.92, 1.0)
HAND_RGBA = (0.25, 0.25, 0.28, 1.0)
HAND_LINKS = (7, 8, 9, 10)


class Panda:
    """The Panda arm with a parallel gripper.

    Action (float32 in [-1, 1]):
        ``control="ee"``: [dx, dy, dz] end-effector displacement (x ``MAX_EE_STEP`` metres),
        ``control="joints"``: [7] arm joint displacements (x ``MAX_JOINT_STEP`` radians);
        then, unless ``block_gripper``, one gripper value (+1 opens, -1 closes).
    Observation [7]: end-effector position (metres), its velocity (m/s), gripper opening (metres).

    Args:
        sim: The world to live in.
        control: ``"ee"`` or ``"joints"``.
        block_gripper: Keep the fingers closed and drop the gripper action (reaching tasks).
        base_position: World position of the robot base [3], metres.
        visuals: ``"low_poly"`` draws the collision meshes (~3k triangles, fast cameras),
            ``"full"`` the detailed visual meshes (~100k triangles).
    """

    def __init__(self, sim: Simulator, control: str = "ee", block_gripper: bool = False,
                 base_position=(-0.6, 0.0, 0.0), visuals: str = "low_poly") -> None:
        check_choice("control", control, CONTROLS)
        check_choice("visuals", visuals, VISUALS)
        self.sim = sim
        self.control = control
        self.block_gripper = block_gripper
        low_poly = visuals == "low_poly"
        self.body = sim.load_urdf("franka_panda/panda.urdf", position=base_position, fixed=True, low_poly=low_poly)
        if low_poly:
            for link in range(-1, sim.joint_count(self.body)):
                sim.set_color(self.body, HAND_RGBA if link in HAND_LINKS else ARM_RGBA, link)
        for finger in FINGER_JOINTS:
            sim.set_dynamics(self.body, finger, lateralFriction=1.0, spinningFriction=0.001)
        if not block_gripper:
            # Without the coupling both finger motors saturate on a grasped object, which then slides
            # freely between them. A blocked gripper grasps nothing and skips its ~10% physics cost.
            sim.couple_joints(self.body, *FINGER_JOINTS, max_force=FINGER_FORCE)
        self._joints = list(JOINTS)
        self._forces = list(FORCES)
        n_action = (3 if control == "ee" else len(ARM_JOINTS)) + (0 if block_gripper else 1)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(n_action,), dtype=np.float32)
        self._kinematics = np.zeros(7)
        self._ee_orientation = np.array(GRIPPER_DOWN)
        self._joint_positions = [0.0] * len(self._joints)

    @property
    def observation_size(self) -> int:
        return 7

    def reset(self) -> None:
        """Home pose, gripper closed if blocked else open."""
        width = 0.0 if self.block_gripper else MAX_WIDTH
        self.sim.reset_joints(self.body, self._joints, (*HOME_ARM, width / 2, width / 2))
        self.update()

    def update(self) -> None:
        """Read the robot's state from the simulator once; call after anything moves it."""
        position, orientation, velocity = self.sim.link_pose_velocity(self.body, EE_LINK)
        positions = self.sim.joint_positions(self.body, self._joints)
        self._joint_positions = positions
        self._ee_orientation = orientation
        self._kinematics = np.array((*position, *velocity, positions[-2] + positions[-1]))

    def observation(self) -> np.ndarray:
        """[7] end-effector position, velocity and gripper opening, as of the last ``update``."""
        return self._kinematics.copy()

    def ee_position(self) -> np.ndarray:
        """[3] end-effector position in metres."""
        return self._kinematics[:3].copy()

    def gripper_width(self) -> float:
        """Distance between the fingers in metres."""
        return float(self._kinematics[6])

    def apply_action(self, action: np.ndarray) -> None:
        """Set motor targets for one control period (does not step the simulator)."""
        action = np.clip(action, -1.0, 1.0).tolist()
        if self.control == "ee":
            arm = self._arm_targets_for_ee(action[0] * MAX_EE_STEP, action[1] * MAX_EE_STEP, action[2] * MAX_EE_STEP)
        else:
            arm = [q + a * MAX_JOINT_STEP for q, a in zip(self._joint_positions[: len(ARM_JOINTS)],
                                                          action[: len(ARM_JOINTS)], strict=True)]
        width = 0.0 if self.block_gripper else self.gripper_width() + action[-1] * MAX_FINGER_STEP
        width = min(max(width, 0.0), MAX_WIDTH)
        self.sim.set_joint_targets(self.body, self._joints, [*arm, width / 2, width / 2], self._forces)

    def _arm_targets_for_ee(self, dx: float, dy: float, dz: float) -> list[float]:
        """Arm joint targets [7] that move the end effector by (dx, dy, dz) metres, gripper down.

        Plain floats, not small numpy arrays: this runs every step and numpy's per-call overhead
        would cost more than the arithmetic. ``_joint_positions`` lists all 9 movable joints; the
        fingers do not move the grasp point, so their Jacobian columns are zero and they stay put.
        """
        x, y, z = self._kinematics[:3].tolist()
        target = (x + dx, y + dy, max(z + dz, 0.0))  # never aim below the table top
        link_pose = (self._kinematics[:3].tolist(), self._ee_orientation)
        return self.sim.inverse_kinematics(self.body, EE_LINK, target, GRIPPER_DOWN, self._joint_positions, link_pose)[
            : len(ARM_JOINTS)
        ]

    def action_for(self, ee_command: np.ndarray) -> np.ndarray:
        """This robot's action that realises an end-effector command [dx, dy, dz, gripper] in [-1, 1].

        Lets scripted controllers think in end-effector space whatever the control mode.
        """
        ee_command = np.clip(np.asarray(ee_command, dtype=np.float64), -1.0, 1.0)
        if self.control == "ee":
            arm = ee_command[:3]
        else:
            target = self._arm_targets_for_ee(*(ee_command[:3] * MAX_EE_STEP).tolist())
            arm = np.clip((np.array(target) - self._joint_positions[: len(ARM_JOINTS)]) / MAX_JOINT_STEP, -1.0, 1.0)
        gripper = () if self.block_gripper else (ee_command[3],)
        return np.array((*arm, *gripper), dtype=np.float32)
