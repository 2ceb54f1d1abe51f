"""``SimPandaAdapter``: the simulated Panda on the table behind the ``RobotAdapter`` interface.

Commands: ``ee_delta`` [3] or ``joint_delta`` [7] in the robot's action units ([-1, 1], scaled by the
robot to metres / radians), plus ``gripper`` [1] unless blocked. Readings use the sim env's keys and
units: ``observation`` [7] (end-effector position m, velocity m/s, gripper opening m),
``ee_position`` [3] m, ``joint_positions`` [9] rad / m, and with ``image_size`` the env's camera:
``rgb`` [H, W, 3] uint8 and ``depth`` [H, W, 1] metres. The safe stop holds the joints where they are.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from envs.adapters.gym_env import GoalSpec
from envs.adapters.limits import CommandField, CommandLimits
from envs.adapters.sim_base import SimRobotAdapter
from envs.robots import panda as panda_robot
from envs.sim.bullet import PhysicsConfig, Simulator
from envs.sim.camera import look_at_pose
from envs.tasks import reach
from envs.tasks.base import check_reward_type, goal_reward, goal_success
from envs.tasks.scene import ARM_CAMERA, build_table_scene
from foresight_base.checks import check_choice

CONTROLS = panda_robot.CONTROLS
PANDA_JOINTS = list(panda_robot.JOINTS)
PANDA_FORCES = list(panda_robot.FORCES)


def panda_limits(control: str = "ee", block_gripper: bool = False, max_delta: float = 0.5) -> CommandLimits:
    """The Panda's commands in its action units ([-1, 1], scaled by the robot to metres/radians).

    Args:
        control: ``"ee"`` -> ``ee_delta`` [3]; ``"joints"`` -> ``joint_delta`` [7].
        block_gripper: drop the ``gripper`` [1] command (reaching tasks).
        max_delta: largest change of any entry between consecutive commands (action units).
    """
    check_choice("control", control, CONTROLS)
    arm = ("ee_delta", 3) if control == "ee" else ("joint_delta", len(panda_robot.ARM_JOINTS))
    fields = {arm[0]: CommandField.box(-1.0, 1.0, max_delta, arm[1])}
    if not block_gripper:
        fields["gripper"] = CommandField.box(-1.0, 1.0, 2 * max_delta, 1)
    return CommandLimits(fields)


class SimPandaAdapter(SimRobotAdapter):
    """The simulated Panda on the table scene.

    Args:
        control: ``"ee"`` or ``"joints"``.
        block_gripper: keep the gripper closed (matches ``PandaReach``).
        physics: timestep and substeps; the control period is ``timestep * substeps``.
        max_delta: per-step change limit declared to the supervisor (action units).
        image_size: also read the sim env's observation camera at this many pixels square.
    """

    def __init__(self, control: str = "ee", block_gripper: bool = False,
                 physics: PhysicsConfig = PhysicsConfig(), max_delta: float = 0.5,
                 image_size: int | None = None) -> None:
        super().__init__(panda_limits(control, block_gripper, max_delta), physics)
        if image_size is not None and not (isinstance(image_size, int) and image_size > 0):
            raise ValueError(f"image_size must be a positive number of pixels or None, got {image_size!r}")
        self.control, self.block_gripper, self.image_size = control, block_gripper, image_size

    def _build(self, sim: Simulator) -> panda_robot.Panda:
        build_table_scene(sim)
        return panda_robot.Panda(sim, control=self.control, block_gripper=self.block_gripper)

    def _hold(self) -> None:
        positions, _ = self.sim.joint_states(self.robot.body, PANDA_JOINTS)
        self.sim.set_joint_targets(self.robot.body, PANDA_JOINTS, positions, PANDA_FORCES)

    def _readings(self) -> dict[str, np.ndarray]:
        positions, _ = self.sim.joint_states(self.robot.body, PANDA_JOINTS)
        readings = {"observation": self.robot.observation(), "joint_positions": positions,
                    "ee_position": self.robot.ee_position()}
        if self.image_size is not None:  # the sim env's observation camera, channel-last like the env
            pose = look_at_pose(ARM_CAMERA.eye, ARM_CAMERA.target, ARM_CAMERA.up)
            frames = self.sim.render(ARM_CAMERA, pose, self.image_size, self.image_size)
            readings.update(rgb=frames.rgb, depth=frames.depth)
        return readings

    def reset_to(self, observation: Mapping[str, np.ndarray]) -> None:
        positions = np.asarray(observation["joint_positions"], dtype=np.float64)
        if positions.shape != (len(PANDA_JOINTS),):
            raise ValueError(f"joint_positions must have shape ({len(PANDA_JOINTS)},), got {positions.shape}")
        self.sim.reset_joints(self.robot.body, PANDA_JOINTS, positions)
        self.robot.update()
        self._hold()


def panda_reach_goal(distance_threshold: float = 0.05, reward_type: str = "sparse") -> GoalSpec:
    """``PandaReach``'s goal on robot readings: reach a point above the table with the gripper."""
    check_reward_type(reward_type)
    return GoalSpec(achieved=lambda data: np.asarray(data["ee_position"]), sample=reach.sample_goal,
                    reward=lambda a, d: goal_reward(a, d, reward_type, distance_threshold),
                    success=lambda a, d: goal_success(a, d, distance_threshold))
