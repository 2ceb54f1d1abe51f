"""Torque-limited pendulum swing-up with the dynamics and cost of gymnasium's ``Pendulum-v1``."""
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
class Pendulum(BatchedWorld):
    """Swing a pendulum up and hold it there with a weak motor.

    State ``[theta (rad, 0 is upright), theta_dot (rad/s)]``; observation
    ``[cos theta, sin theta, theta_dot]``; action ``[torque]`` in N m, clipped to ``+-max_torque``.
    Reward ``-(normalized theta^2 + 0.1 theta_dot^2 + 0.001 torque^2)``; never terminates.
    """

    default_max_episode_steps = 200
    view = (-1.2, 1.2, -1.2, 1.2)

    g: float = 10.0
    """Gravitational acceleration, m/s^2."""
    m: float = 1.0
    """Mass, kg."""
    l: float = 1.0  # noqa: E741  (gymnasium's name)
    """Length, m."""
    dt: float = 0.05
    """Time step, s."""
    max_speed: float = 8.0
    """Angular speed limit, rad/s."""
    max_torque: float = 2.0
    """Torque limit, N m."""

    @property
    def state_size(self) -> int:
        return 2

    @property
    def single_action_space(self) -> gym.spaces.Box:
        return gym.spaces.Box(-self.max_torque, self.max_torque, shape=(1,), dtype=np.float32)

    @property
    def single_observation_space(self) -> gym.spaces.Box:
        high = np.array([1.0, 1.0, self.max_speed], dtype=np.float32)
        return gym.spaces.Box(-high, high, dtype=np.float32)

    def initial_state(self, ops: NumpyOps | TorchOps, rng: Any, n: int) -> Array:
        return ops.stack((ops.uniform(rng, -math.pi, math.pi, (n,)), ops.uniform(rng, -1.0, 1.0, (n,))))

    def dynamics(self, state: Array, action: Array) -> tuple[Array, Array]:
        ops = ops_for(state)
        theta, theta_dot = state[..., 0], state[..., 1]
        torque = ops.clip(action[..., 0], -self.max_torque, self.max_torque)
        upright_error = (theta + math.pi) % (2 * math.pi) - math.pi
        cost = upright_error**2 + 0.1 * theta_dot**2 + 0.001 * torque**2
        accel = 3 * self.g / (2 * self.l) * ops.sin(theta) + 3.0 / (self.m * self.l**2) * torque
        new_theta_dot = ops.clip(theta_dot + accel * self.dt, -self.max_speed, self.max_speed)
        return ops.stack((theta + new_theta_dot * self.dt, new_theta_dot)), -cost

    def terminated(self, state: Array) -> Array:
        return state[..., 0] != state[..., 0]  # never (False unless the state is NaN)

    def observe(self, state: Array) -> Array:
        ops = ops_for(state)
        theta = state[..., 0]
        return ops.stack((ops.cos(theta), ops.sin(theta), state[..., 1]))

    def draw(self, canvas: Canvas, state: Array) -> None:
        theta = state[:, 0]
        zero = theta * 0.0
        canvas.segments(zero, zero, self.l * theta.sin(), self.l * theta.cos(), 0.2, (200, 80, 80), self.l)
        canvas.circles(zero, zero, 0.06, (230, 230, 230))
