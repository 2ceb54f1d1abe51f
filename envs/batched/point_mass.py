"""A point mass reaching a goal in 2D or 3D among spherical obstacles."""
from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np

from envs.batched.geometry import push_out, split
from envs.batched.ops import Array, NumpyOps, TorchOps, ops_for
from envs.batched.raster import Canvas
from envs.batched.world import BatchedWorld


@dataclasses.dataclass(frozen=True)
class PointMassReach(BatchedWorld):
    """Accelerate a point mass to a goal; obstacles block it, walls bound the arena.

    State and observation ``[position D, velocity D, goal D, obstacle centres K*D]`` (metres, m/s),
    D = ``dim``, K = ``num_obstacles``. Action: acceleration ``[D]`` in ``[-1, 1]`` times
    ``max_accel``. Reward ``-distance to goal`` (m) per step; the episode ends on reaching the goal.
    A mass that would enter an obstacle is put back on its surface and loses its inward velocity.
    """

    default_max_episode_steps = 100

    dim: int = 2
    """Number of spatial dimensions, 2 or 3 (images show the x-y plane seen from above)."""
    num_obstacles: int = 3
    """K, spherical obstacles per world, placed at random each episode."""
    obstacle_radius: float = 0.15
    """Obstacle radius, m."""
    goal_radius: float = 0.05
    """Reaching the goal within this distance ends the episode, m."""
    arena: float = 1.0
    """Half side of the arena, m (positions are clipped to ``[-arena, arena]``)."""
    max_accel: float = 4.0
    """Acceleration at full action, m/s^2."""
    drag: float = 2.0
    """Linear drag, 1/s."""
    dt: float = 0.05
    """Time step, s."""

    def __post_init__(self) -> None:
        if self.dim not in (2, 3):
            raise ValueError(f"dim must be 2 or 3, got {self.dim}")
        if self.num_obstacles < 0:
            raise ValueError(f"num_obstacles must be >= 0, got {self.num_obstacles}")

    @property
    def _sizes(self) -> tuple[int, ...]:
        return (self.dim, self.dim, self.dim, self.dim * self.num_obstacles)

    @property
    def state_size(self) -> int:
        return sum(self._sizes)

    @property
    def single_action_space(self) -> gym.spaces.Box:
        return gym.spaces.Box(-1.0, 1.0, shape=(self.dim,), dtype=np.float32)

    @property
    def single_observation_space(self) -> gym.spaces.Box:
        high = np.full(self.state_size, self.arena, dtype=np.float32)
        high[self.dim:2 * self.dim] = np.inf
        return gym.spaces.Box(-high, high, dtype=np.float32)

    def obstacles(self, state: Array) -> list[Array]:
        """Obstacle centres of ``state [..., S]``: K arrays ``[..., D]``."""
        return split(split(state, self._sizes)[3], (self.dim,) * self.num_obstacles)

    def initial_state(self, ops: NumpyOps | TorchOps, rng: Any, n: int) -> Array:
        d, k = self.dim, self.num_obstacles
        obstacles = ops.uniform(rng, -0.6 * self.arena, 0.6 * self.arena, (n, k * d))
        position, goal = split(ops.uniform(rng, -0.9 * self.arena, 0.9 * self.arena, (n, 2 * d)), (d, d))
        state = ops.concat((position, position * 0.0, goal, obstacles))
        clearance = self.obstacle_radius + 2 * self.goal_radius
        for centre in self.obstacles(state):
            position = push_out(position, centre, clearance)[0]
            goal = push_out(goal, centre, clearance)[0]
        return ops.concat((position, position * 0.0, goal, obstacles))

    def dynamics(self, state: Array, action: Array) -> tuple[Array, Array]:
        ops = ops_for(state)
        position, velocity, goal, obstacles = split(state, self._sizes)
        accel = ops.clip(action, -1.0, 1.0) * self.max_accel
        velocity = velocity + (accel - self.drag * velocity) * self.dt
        position = ops.clip(position + velocity * self.dt, -self.arena, self.arena)
        for centre in self.obstacles(state):
            position, inside, normal = push_out(position, centre, self.obstacle_radius)
            inward = ops.minimum(ops.sum(velocity * normal), 0.0)[..., None]
            velocity = ops.where(inside[..., None], velocity - inward * normal, velocity)
        next_state = ops.concat((position, velocity, goal, obstacles))
        return next_state, -ops.norm(position - goal)

    def terminated(self, state: Array) -> Array:
        position, _, goal, _ = split(state, self._sizes)
        return ops_for(state).norm(position - goal) < self.goal_radius

    def observe(self, state: Array) -> Array:
        return state

    def draw(self, canvas: Canvas, state: Array) -> None:
        position, _, goal, obstacles = split(state, self._sizes)
        d = self.dim
        if self.num_obstacles:
            canvas.circles(obstacles[:, 0::d], obstacles[:, 1::d], self.obstacle_radius, (120, 120, 120))
        canvas.circles(goal[:, 0], goal[:, 1], 1.5 * self.goal_radius, (40, 200, 60))
        height = (position[:, 2] / self.arena + 1) / 2 if d == 3 else 0.5  # 3D: higher looks bigger
        canvas.circles(position[:, 0], position[:, 1], 0.04 + 0.04 * height, (60, 120, 240), max_radius=0.08)
