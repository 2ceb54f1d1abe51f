"""One world of a batched world as a plain ``gymnasium.Env``, for ``gymnasium.make`` and N = 1.

It steps the world's pure functions on an unbatched numpy state ``[S]``, where numpy works on
scalars and costs far less per call than torch; ``gymnasium.make`` adds the usual ``TimeLimit``.
"""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch

from envs.batched.ops import NumpyOps
from envs.batched.raster import Canvas
from envs.batched.vector_env import OBS_MODES, observation_space
from envs.batched.world import BatchedWorld
from foresight_base.action_check import check_action
from foresight_base.checks import check_choice


class BatchedWorldEnv(gym.Env):
    """A single world with gymnasium's ``Env`` API (numpy float64 state, float32 observations).

    Args:
        world: The world's parameters and pure functions.
        obs_mode: ``"state"``, ``"rgb"`` (uint8 ``[H, W, 3]`` from the batched rasterizer) or
            ``"rgb+state"`` (a dict of both under ``"image"`` and ``"state"``).
        image_size: ``(H, W)`` of ``"rgb"`` observations and of ``render()``.
        render_mode: ``None`` or ``"rgb_array"``.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(
        self,
        world: BatchedWorld,
        obs_mode: str = "state",
        image_size: int | tuple[int, int] = 64,
        render_mode: str | None = None,
    ):
        check_choice("obs_mode", obs_mode, OBS_MODES)
        check_choice("render_mode", render_mode, (None, "rgb_array"))
        self.world, self.obs_mode, self.render_mode = world, obs_mode, render_mode
        self.image_size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        self.action_space = world.single_action_space
        self.observation_space = observation_space(world, obs_mode, self.image_size)
        self.state: np.ndarray | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.state = self.world.initial_state(NumpyOps(), self.np_random, 1)[0]
        return self._observe(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        action = check_action(action, self.action_space, f"{type(self.world).__name__} env")
        action = self.world.action_input(np.asarray(action, dtype=np.float64))
        self.state, reward = self.world.dynamics(self.state, action)
        return self._observe(), float(reward), bool(self.world.terminated(self.state)), False, {}

    def render(self) -> np.ndarray | None:
        """The current frame, ``uint8 [H, W, 3]`` (``render_mode="rgb_array"``)."""
        if self.render_mode is None or self.state is None:
            return None
        return self._image()

    def _image(self) -> np.ndarray:
        """The current frame, ``uint8 [H, W, 3]`` (observation and ``render()`` alike)."""
        canvas = Canvas(1, self.world.view, self.image_size)
        self.world.draw(canvas, torch.as_tensor(self.state)[None])
        return np.ascontiguousarray(canvas.image[0].permute(1, 2, 0).numpy())

    def _observe(self) -> np.ndarray | dict[str, np.ndarray]:
        if self.obs_mode == "rgb":
            return self._image()
        state = np.asarray(self.world.observe(self.state), dtype=np.float32)
        return {"image": self._image(), "state": state} if self.obs_mode == "rgb+state" else state
