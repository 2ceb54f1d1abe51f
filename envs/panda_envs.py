"""The Panda tabletop environments registered as ``Foresight/Panda*-v0``."""
from __future__ import annotations

from envs.core import RobotTaskEnv
from envs.observations import ObsLayout
from envs.randomization import Randomization, make_randomizer
from envs.robots.panda import Panda
from envs.sim.bullet import PhysicsConfig, Simulator
from envs.tasks.base import GoalTask
from envs.tasks.pick_and_place import PickAndPlace
from envs.tasks.push import Push
from envs.tasks.reach import Reach
from envs.tasks.scene import ARM_CAMERA, build_table_scene


class PandaEnv(RobotTaskEnv):
    """A Panda on a table performing the task built by ``make_task``.

    Args:
        obs_mode: See :data:`envs.observations.OBS_MODES`.
        reward_type: ``"sparse"`` or ``"dense"``.
        control: ``"ee"`` (end-effector deltas) or ``"joints"`` (joint deltas).
        render_mode: None, ``"rgb_array"`` or ``"human"`` (PyBullet GUI).
        renderer: ``"tiny"`` (TinyRenderer) or ``"egl"``.
        timestep: Physics step, seconds.
        substeps: Physics steps per control step (default 0.004 s x 10 = 25 Hz control).
        image_size: Observation image side, pixels.
        render_size: ``render()`` image side, pixels.
        randomize: False, True (default randomization) or a ``Randomization`` config.
        visuals: ``"low_poly"`` (fast cameras) or ``"full"`` (detailed robot meshes).
    """

    block_gripper = False

    def __init__(self, obs_mode: str = "state", reward_type: str = "sparse", control: str = "ee",
                 render_mode: str | None = None, renderer: str = "tiny", timestep: float = 0.004,
                 substeps: int = 10, solver_iterations: int = 20, image_size: int = 84, render_size: int = 240,
                 randomize: bool | Randomization = False,
                 visuals: str = "low_poly") -> None:
        randomizer = make_randomizer(randomize)
        ObsLayout.parse(obs_mode)  # fail before opening a simulator
        sim = Simulator(PhysicsConfig(timestep, substeps, solver_iterations=solver_iterations),
                        gui=render_mode == "human", renderer=renderer)
        try:
            scene = build_table_scene(sim)
            robot = Panda(sim, control=control, block_gripper=self.block_gripper, visuals=visuals)
            task = self.make_task(sim, robot, reward_type)
            super().__init__(sim, robot, task, obs_mode, ARM_CAMERA, image_size=image_size,
                             render_mode=render_mode, render_size=render_size, randomizer=randomizer,
                             scene_ids=scene)
        except Exception:
            sim.close()
            raise

    def make_task(self, sim: Simulator, robot: Panda, reward_type: str) -> GoalTask:
        raise NotImplementedError


class PandaReachEnv(PandaEnv):
    """Move the end effector to a target point; the gripper stays closed (3-D action)."""

    block_gripper = True

    def make_task(self, sim: Simulator, robot: Panda, reward_type: str) -> GoalTask:
        return Reach(sim, robot.ee_position, reward_type)


class PandaPushEnv(PandaEnv):
    """Push a cube to a target on the table with the closed gripper (3-D action)."""

    block_gripper = True

    def make_task(self, sim: Simulator, robot: Panda, reward_type: str) -> GoalTask:
        return Push(sim, robot.ee_position, robot.gripper_width, reward_type)


class PandaPickAndPlaceEnv(PandaEnv):
    """Grasp a cube and bring it to a target on or above the table (4-D action with gripper)."""

    def make_task(self, sim: Simulator, robot: Panda, reward_type: str) -> GoalTask:
        return PickAndPlace(sim, robot.ee_position, robot.gripper_width, reward_type)
