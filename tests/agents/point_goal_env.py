"""A tiny goal-conditioned env (a point pushed towards a goal in the plane) for fast HER tests.

Real gymnasium env, seeded through ``self.np_random``; stands in for a PyBullet task where a test
needs hundreds of episodes in a second.
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

ENV_ID = "TestPointGoal-v0"
NO_PYGAME_ID = "TestPointGoalNoPygame-v0"


class PointGoalEnv(gym.Env):
    """Point in ``[-1, 1]^2``; action moves it by at most 0.2; success within 0.1 of the goal."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, render_mode: str | None = None) -> None:
        box = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.observation_space = spaces.Dict({"observation": box, "achieved_goal": box, "desired_goal": box})
        self.action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.render_mode = render_mode

    def _obs(self) -> dict:
        return {"observation": self.pos.copy(), "achieved_goal": self.pos.copy(), "desired_goal": self.goal.copy()}

    def compute_reward(self, achieved, desired, info) -> np.ndarray:
        return -(np.linalg.norm(achieved - desired, axis=-1) > 0.1).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(-1, 1, 2).astype(np.float32)
        self.goal = self.np_random.uniform(-1, 1, 2).astype(np.float32)
        return self._obs(), {}

    def step(self, action):
        self.pos = np.clip(self.pos + 0.2 * np.clip(action, -1, 1), -1, 1).astype(np.float32)
        success = bool(np.linalg.norm(self.pos - self.goal) <= 0.1)
        reward = float(self.compute_reward(self.pos, self.goal, {}))
        return self._obs(), reward, success, False, {"is_success": success}

    def render(self) -> np.ndarray:
        frame = np.zeros((32, 32, 3), np.uint8)
        for point, channel in ((self.pos, 0), (self.goal, 1)):
            x, y = ((point + 1) * 15.5).astype(int)
            frame[y, x, channel] = 255
        return frame


class NoPygamePointGoalEnv(PointGoalEnv):
    """The same env whose renderer needs a package that is missing, as gymnasium's classic-control
    envs do on a machine without pygame (``Pendulum-v1``: ``DependencyNotInstalled`` at ``render``)."""

    def render(self) -> np.ndarray:
        raise gym.error.DependencyNotInstalled(
            'pygame is not installed, run `pip install "gymnasium[classic-control]"`')


def register() -> None:
    if ENV_ID not in gym.registry:
        gym.register(ENV_ID, entry_point=PointGoalEnv, max_episode_steps=20)
    if NO_PYGAME_ID not in gym.registry:
        gym.register(NO_PYGAME_ID, entry_point=NoPygamePointGoalEnv, max_episode_steps=20)


register()
