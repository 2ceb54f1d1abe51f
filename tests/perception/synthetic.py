"""A tiny pixel env with known geometry: a coloured square that the action moves."""
import gymnasium as gym
import numpy as np

SIZE, SQUARE = 40, 8


class MovingSquare(gym.Env):
    """Observation: ``[40, 40, 3]`` uint8 with a red square; action ``[2]`` in [-1, 1] moves it by
    up to 4 pixels per axis. ``square_position`` is the label a probe should recover."""

    def __init__(self):
        self.observation_space = gym.spaces.Box(0, 255, (SIZE, SIZE, 3), np.uint8)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)

    def _observe(self):
        image = np.full((SIZE, SIZE, 3), 40, np.uint8)
        r, c = np.round(self.position).astype(int)
        image[r : r + SQUARE, c : c + SQUARE] = (230, 30, 30)
        return image

    @property
    def square_position(self) -> np.ndarray:
        return self.position.astype(np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.position = self.np_random.uniform(0, SIZE - SQUARE, 2)
        self.t = 0
        return self._observe(), {}

    def step(self, action):
        self.position = np.clip(self.position + 4 * np.asarray(action), 0, SIZE - SQUARE)
        self.t += 1
        return self._observe(), 0.0, False, self.t >= 20, {}
