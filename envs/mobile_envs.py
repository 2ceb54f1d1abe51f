"""The mobile-base environment registered as ``Foresight/MobilePointNav-v0``."""
from __future__ import annotations

from envs.core import RobotTaskEnv
from envs.observations import ObsLayout
from envs.randomization import Randomization, make_randomizer
from envs.robots.mobile_base import MobileBase
from envs.sim.bullet import PhysicsConfig, Simulator
from envs.sim.camera import CameraSpec
from envs.tasks.point_nav import OBSTACLE_OBS, PointNav
from envs.tasks.scene import build_floor_scene
from foresight_base.checks import check_choice

# Egocentric camera above the front bumper, in the base frame, tilted slightly down.
EGO_CAMERA = CameraSpec(eye=(0.45, 0.0, 0.55), target=(1.45, 0.0, 0.3), fov_deg=70.0, near=0.05, far=8.0)


class MobilePointNavEnv(RobotTaskEnv):
    """Drive a Husky base to a goal among pillars; the camera rides on the robot.

    Keyword arguments as for :class:`envs.panda_envs.PandaEnv` (``control`` accepts ``"velocity"`` only),
    plus ``obstacle_obs``: ``"world"`` (default: the pillars' centres are observed), ``"none"`` (a
    blind base; zeros in their place) or ``"lidar"`` (a 24-beam range scanner on the base; see
    :class:`envs.tasks.point_nav.PointNav`).
    """

    def __init__(self, obs_mode: str = "state", reward_type: str = "sparse", control: str = "velocity",
                 render_mode: str | None = None, renderer: str = "tiny", timestep: float = 0.004,
                 substeps: int = 10, solver_iterations: int = 20, image_size: int = 84, render_size: int = 240,
                 randomize: bool | Randomization = False,
                 visuals: str = "low_poly", obstacle_obs: str = "world") -> None:
        randomizer = make_randomizer(randomize)
        ObsLayout.parse(obs_mode)
        check_choice("control", control, ("velocity",), context=" for the mobile base")
        check_choice("obstacle_obs", obstacle_obs, OBSTACLE_OBS)
        sim = Simulator(PhysicsConfig(timestep, substeps, solver_iterations=solver_iterations),
                        gui=render_mode == "human", renderer=renderer)
        try:
            scene = build_floor_scene(sim)
            robot = MobileBase(sim, visuals=visuals)
            task = PointNav(sim, robot.position, robot.yaw, reward_type, obstacle_obs=obstacle_obs)
            super().__init__(sim, robot, task, obs_mode, EGO_CAMERA, camera_mount=robot.pose_matrix,
                             image_size=image_size, render_mode=render_mode, render_size=render_size,
                             randomizer=randomizer, scene_ids=scene)
        except Exception:
            sim.close()
            raise
