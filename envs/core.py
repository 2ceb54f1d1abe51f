"""``RobotTaskEnv``: a simulator, a robot and a task composed into one gymnasium environment.

The robot owns actuation and proprioception, the task owns goal, reward, success, reset
distribution and scripted expert, the simulator owns physics and cameras. ``step`` is: act,
simulate, read state once, observe.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from envs.observations import ObsLayout, assemble, observation_space
from envs.sim.bullet import Frames, SimState, Simulator, display_available
from envs.sim.camera import CameraSpec, intrinsics, look_at_pose
from foresight_base.action_check import check_action
from foresight_base.checks import check_choice

RENDER_MODES = ("rgb_array", "human")


@dataclass(frozen=True)
class EnvState:
    """A full snapshot for planners: simulator state plus the task's own state (goal ...)."""

    sim: SimState
    task: dict[str, np.ndarray]


def validate_image_size(image_size: int) -> int:
    if not isinstance(image_size, (int, np.integer)) or image_size < 1:
        raise ValueError(f"image_size must be a positive integer (pixels), got {image_size!r}; e.g. 64, 84, 128")
    return int(image_size)


class RobotTaskEnv(gym.Env):
    """A goal-reaching task performed by a robot in a PyBullet world.

    Args:
        sim: The world; closed with the environment.
        robot: Actuation and proprioception (``apply_action``, ``update``, ``observation``, ``action_for``).
        task: A :class:`~envs.tasks.base.GoalTask` built on the same ``sim``.
        obs_mode: One of :data:`envs.observations.OBS_MODES`.
        camera: The observation camera (also used by ``render``).
        camera_mount: World-from-mount 4x4 pose for cameras that ride on the robot; None: fixed.
        image_size: Side of the square observation images, pixels.
        render_mode: None, ``"rgb_array"`` or ``"human"`` (the GUI must have been opened by ``sim``).
        render_size: Side of the square ``render()`` images, pixels.
        randomizer: Called as ``randomizer(env, rng)`` at every reset; returns True when it replaced
            bodies. None: no randomization.
        scene_ids: Body ids of the static scene by name (``table``, ``floor``), for segmentation.
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": 25}

    def __init__(
        self,
        sim: Simulator,
        robot: Any,
        task: Any,
        obs_mode: str,
        camera: CameraSpec,
        camera_mount: Callable[[], np.ndarray] | None = None,
        image_size: int = 84,
        render_mode: str | None = None,
        render_size: int = 240,
        randomizer: Callable[[RobotTaskEnv, np.random.Generator], bool] | None = None,
        scene_ids: dict[str, int] | None = None,
    ) -> None:
        check_choice("render_mode", render_mode, (None, *RENDER_MODES))
        self.layout = ObsLayout.parse(obs_mode)
        self.image_size = validate_image_size(image_size)
        self.render_size = validate_image_size(render_size)
        self.sim, self.robot, self.task = sim, robot, task
        self.render_mode = render_mode
        self.camera = camera
        self.camera_mount = camera_mount
        self.randomizer = randomizer
        self.scene_ids = dict(scene_ids or {})
        self.light_direction: np.ndarray | None = None
        self.camera_offset = np.eye(4)  # camera pose jitter, applied in the mount's frame
        # Advertise only what renders here: gymnasium's check_env builds every advertised mode, and
        # "human" needs a display (asking for it without one fails at make, saying what to use).
        modes = [m for m in RENDER_MODES if m != "human" or display_available()]
        self.metadata = {**type(self).metadata, "render_fps": int(round(1.0 / sim.dt)), "render_modes": modes}
        sizes = {"robot": robot.observation_size, "task": task.observation_size, "goal": task.goal_size}
        self.observation_space = observation_space(self.layout, sizes, self.image_size, camera.far)
        self.action_space = robot.action_space
        self._closed = False
        self._initial_state = self._settled_snapshot()

    # --- gymnasium API --------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self._require_open("reset")
        super().reset(seed=seed)
        # Contact caches and solver warm starts survive teleports; start every episode from one snapshot.
        self.sim.restore_state(self._initial_state)
        if self.randomizer is not None and self.randomizer(self, self.np_random):
            self._initial_state = self._settled_snapshot()  # bodies were replaced
        self.robot.reset()
        self.task.reset(self.np_random)
        self._refresh()
        return self._observe(), {"is_success": self._is_success()}

    def step(self, action: np.ndarray):
        """Act, simulate, observe. Raises ``InvalidActionError`` for an action outside the space's
        shape and dtype or holding NaN/inf (finite values beyond the bounds are clipped)."""
        self._require_open("step")
        action = check_action(action, self.action_space, type(self).__name__)
        self.robot.apply_action(action)
        self.sim.step()
        self._refresh()
        achieved = self.task.achieved_goal()
        reward, success = self.task.step_outcome(achieved)
        info = {"is_success": success}
        # Goal tasks continue until the time limit (truncation): HER relabels goals, so success
        # must not end an episode.
        return self._observe(achieved), reward, False, False, info

    @property
    def compute_reward(self) -> Callable[..., np.ndarray]:
        """Batched reward ``(achieved [..., G], desired [..., G], info) -> [...]`` float32.

        Equal to the step rewards. Present in ``obs_mode="goal"`` only, because SB3 treats any env
        with ``compute_reward`` as a goal env; other modes reach it as ``env.unwrapped.task.compute_reward``.
        """
        if self.layout.mode != "goal":
            raise AttributeError(
                f"compute_reward exists in obs_mode='goal' only (this env has obs_mode={self.layout.mode!r}); "
                "use env.unwrapped.task.compute_reward"
            )
        return self.task.compute_reward

    def render(self) -> np.ndarray | None:
        """``rgb_array``: [render_size, render_size, 3] uint8 from the observation camera."""
        if self.render_mode != "rgb_array":
            return None
        return self.render_frames(self.render_size).rgb

    def close(self) -> None:
        self._closed = True
        self.sim.close()

    def _require_open(self, call: str) -> None:
        if self._closed:
            raise gym.error.ClosedEnvironmentError(f"{call}() on a closed {type(self).__name__}; make a new env")

    # --- privileged helpers for planners, perception and demonstrations -------------------------
    def scripted_action(self) -> np.ndarray:
        """The task's expert action for the current state, in this env's action space."""
        return self.robot.action_for(self.task.scripted_command())

    def save_state(self) -> EnvState:
        """Snapshot for ``restore_state`` (same episode: randomized dynamics are not part of it)."""
        return EnvState(sim=self.sim.save_state(), task=self.task.snapshot())

    def restore_state(self, state: EnvState) -> None:
        self.sim.restore_state(state.sim)
        self.task.restore(state.task)
        self._refresh()

    @property
    def camera_pose(self) -> np.ndarray:
        """4x4 world-from-camera pose; OpenCV axes (x right, y down, z forward), metres."""
        spec = self.camera
        pose = look_at_pose(spec.eye, spec.target, spec.up) @ self.camera_offset
        return pose if self.camera_mount is None else self.camera_mount() @ pose

    @property
    def camera_intrinsics(self) -> np.ndarray:
        """3x3 K in pixels for the observation images (``image_size`` square)."""
        return intrinsics(self.camera.fov_deg, self.image_size, self.image_size)

    @property
    def segmentation_ids(self) -> dict[str, int]:
        """Body id of each named thing in segmentation images, e.g. ``robot``, ``table``, ``object``."""
        return {**self.scene_ids, "robot": self.robot.body, **self.task.segmentation_ids}

    def render_frames(self, size: int | None = None) -> Frames:
        """RGB, depth and segmentation from the observation camera at ``size`` pixels square."""
        size = self.image_size if size is None else size
        return self.sim.render(self.camera, self.camera_pose, size, size, self.light_direction)

    # --- internals ------------------------------------------------------------------------------
    def _settled_snapshot(self) -> SimState:
        """A state with contacts established: restoring it wipes every contact cache of the last episode."""
        self.robot.reset()
        self.task.reset(np.random.default_rng(0))
        self.sim.step()
        return self.sim.save_state()

    def _refresh(self) -> None:
        self.robot.update()
        self.task.update()

    def _is_success(self) -> bool:
        return bool(self.task.is_success(self.task.achieved_goal(), self.task.goal))

    def _observe(self, achieved: np.ndarray | None = None):
        achieved = self.task.achieved_goal() if achieved is None else achieved
        frames = self.render_frames() if self.layout.images else None
        return assemble(self.layout, self.robot.observation(), self.task.observation(), achieved, self.task.goal,
                        frames)
