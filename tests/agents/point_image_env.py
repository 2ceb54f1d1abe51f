"""A point that must reach a target it can only see: 36x36 RGB observations, nothing else.

Stands in for a camera task where a test must learn from pixels in seconds: the red point and
the green target are 4x4 squares, the reward is the negative distance (dense), so an agent that
reads positions from its image and moves towards the target beats random actions. With
``fixed_target=True`` only the point moves between episodes: a task a unit test learns in seconds.
With ``privileged_state=True`` observations are a dict: the ``image`` and a ``state`` holding both
positions (what a simulator knows and a camera-only robot would not).
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

ENV_ID = "TestPointImage-v0"
SIZE = 36


class PointImageEnv(gym.Env):
    """Point in ``[-1, 1]^2`` moved by at most 0.25 per step towards a target; image ``[36, 36, 3]``."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, render_mode: str | None = None, channels_first: bool = False,
                 fixed_target: bool = False, privileged_state: bool = False) -> None:
        shape = (3, SIZE, SIZE) if channels_first else (SIZE, SIZE, 3)
        self.observation_space = spaces.Box(0, 255, shape, np.uint8)
        if privileged_state:
            self.observation_space = spaces.Dict({"image": self.observation_space,
                                                  "state": spaces.Box(-1.0, 1.0, (4,), np.float32)})
        self.privileged_state = privileged_state
        self.action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.render_mode, self.channels_first, self.fixed_target = render_mode, channels_first, fixed_target

    def _pixel(self, point: np.ndarray) -> tuple[int, int]:
        x, y = np.clip(((point + 1) / 2 * (SIZE - 4)).astype(int), 0, SIZE - 4)
        return int(x), int(y)

    def render(self) -> np.ndarray:
        frame = np.zeros((SIZE, SIZE, 3), np.uint8)
        for point, channel in ((self.target, 1), (self.pos, 0)):
            x, y = self._pixel(point)
            frame[y:y + 4, x:x + 4, channel] = 255
        return frame

    def _obs(self) -> np.ndarray | dict[str, np.ndarray]:
        frame = self.render()
        image = frame.transpose(2, 0, 1).copy() if self.channels_first else frame
        if self.privileged_state:
            return {"image": image, "state": np.concatenate([self.pos, self.target]).astype(np.float32)}
        return image

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(-1, 1, 2).astype(np.float32)
        self.target = (np.full(2, 0.5, np.float32) if self.fixed_target
                       else self.np_random.uniform(-1, 1, 2).astype(np.float32))
        return self._obs(), {}

    def step(self, action):
        self.pos = np.clip(self.pos + 0.25 * np.clip(action, -1, 1), -1, 1).astype(np.float32)
        distance = float(np.linalg.norm(self.pos - self.target))
        return self._obs(), -distance, False, False, {"is_success": distance < 0.15}


def register() -> None:
    if ENV_ID not in gym.registry:
        gym.register(ENV_ID, entry_point=PointImageEnv, max_episode_steps=20)


register()
