"""Cart-pole with the dynamics, limits and rewards of gymnasium's ``CartPole-v1``, batched."""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import gymnasium as gym
import numpy as np

from envs.batched.ops import Array, NumpyOps, TorchOps, ops_for
from envs.batched.raster import Canvas
from envs.batched.world import BatchedWorld


@dataclasses.dataclass(frozen=True)
class CartPole(BatchedWorld):
    """Balance a pole on a cart pushed left or right (Barto, Sutton and Anderson, 1983).

    State ``[x (m), x_dot (m/s), theta (rad, 0 is upright, positive leans right), theta_dot (rad/s)]``
    is also the observation. Action 0 pushes left, 1 pushes right with ``force_mag`` newtons; a float
    action in ``[0, 1]`` gives the relaxed force ``(2a - 1) * force_mag`` for gradient planners.
    Reward 1 per step, including the failing one; the episode ends when the cart leaves
    ``+-x_threshold`` or the pole leans past ``+-theta_threshold``.
    """

    default_max_episode_steps = 500
    view = (-2.4, 2.4, -0.6, 1.4)

    gravity: float = 9.8
    """Gravitational acceleration, m/s^2."""
    masscart: float = 1.0
    """Cart mass, kg."""
    masspole: float = 0.1
    """Pole mass, kg."""
    length: float = 0.5
    """Half the pole's length, m."""
    force_mag: float = 10.0
    """Push force, N."""
    tau: float = 0.02
    """Time step, s (explicit Euler, as gymnasium's default integrator)."""
    x_threshold: float = 2.4
    """Cart position limit, m."""
    theta_threshold: float = 12 * 2 * math.pi / 360
    """Pole angle limit, rad (12 degrees)."""
    reset_bound: float = 0.05
    """Initial state components are uniform in ``[-reset_bound, reset_bound]``."""

    @property
    def state_size(self) -> int:
        return 4

    @property
    def single_action_space(self) -> gym.spaces.Discrete:
        return gym.spaces.Discrete(2)

    @property
    def single_observation_space(self) -> gym.spaces.Box:
        high = np.array([self.x_threshold * 2, np.inf, self.theta_threshold * 2, np.inf], np.float32)
        return gym.spaces.Box(-high, high, dtype=np.float32)

    def initial_state(self, ops: NumpyOps | TorchOps, rng: Any, n: int) -> Array:
        return ops.uniform(rng, -self.reset_bound, self.reset_bound, (n, 4))

    def dynamics(self, state: Array, action: Array) -> tuple[Array, Array]:
        ops = ops_for(state)
        theta, x_dot, theta_dot = state[..., 2], state[..., 1], state[..., 3]
        force = action[..., 0] * (2.0 * self.force_mag) - self.force_mag
        cos, sin = ops.cos(theta), ops.sin(theta)
        total_mass = self.masspole + self.masscart
        polemass_length = self.masspole * self.length
        temp = (force + polemass_length * theta_dot * theta_dot * sin) / total_mass
        theta_acc = (self.gravity * sin - cos * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * cos * cos / total_mass)
        )
        x_acc = temp - polemass_length * theta_acc * cos / total_mass
        derivative = ops.stack((x_dot, x_acc, theta_dot, theta_acc))
        return state + self.tau * derivative, ops.full_like(theta, 1.0)  # explicit Euler

    def terminated(self, state: Array) -> Array:
        ops = ops_for(state)
        return (ops.abs(state[..., 0]) > self.x_threshold) | (ops.abs(state[..., 2]) > self.theta_threshold)

    def observe(self, state: Array) -> Array:
        return state

    def draw(self, canvas: Canvas, state: Array) -> None:
        x, theta = state[:, 0], state[:, 2]
        pole = 2.0 * self.length
        canvas.boxes(x * 0.0, x * 0.0 - 0.15, 2.4, 0.01, colour=(90, 90, 90))
        canvas.boxes(x, x * 0.0, 0.25, 0.15, colour=(40, 90, 200))
        tip_x, tip_y = x + pole * theta.sin(), pole * theta.cos()
        canvas.segments(x, x * 0.0, tip_x, tip_y, 0.15, (200, 140, 60), max_length=pole)
