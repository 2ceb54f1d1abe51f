"""A planar arm of revolute joints reaching a target with its tip."""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import gymnasium as gym
import numpy as np

from envs.batched.geometry import split
from envs.batched.ops import Array, NumpyOps, TorchOps, ops_for
from envs.batched.raster import Canvas
from envs.batched.world import BatchedWorld


@dataclasses.dataclass(frozen=True)
class ArmReach(BatchedWorld):
    """Move the tip of an L-link planar arm (base at the origin) onto a reachable goal.

    State ``[joint angles L (rad, relative to the previous link), goal 2 (m)]``; observation
    ``[cos q L, sin q L, tip 2, goal 2]``. Action: joint velocities ``[L]`` in ``[-1, 1]`` times
    ``max_joint_speed`` (kinematic control). Reward ``-distance from tip to goal`` (m) per step;
    the episode ends on reaching the goal. Goals are the tips of random configurations, so always
    reachable.
    """

    default_max_episode_steps = 100

    num_links: int = 3
    """L, the number of links (and joints)."""
    link_length: float = 1.0 / 3.0
    """Length of every link, m."""
    max_joint_speed: float = 2.0
    """Joint speed at full action, rad/s."""
    joint_limit: float = math.pi
    """Joint angles are clipped to ``[-joint_limit, joint_limit]``, rad."""
    goal_radius: float = 0.05
    """Reaching the goal within this distance ends the episode, m."""
    dt: float = 0.05
    """Time step, s."""

    def __post_init__(self) -> None:
        if self.num_links < 1:
            raise ValueError(f"num_links must be >= 1, got {self.num_links}")

    @property
    def view(self) -> tuple[float, float, float, float]:  # type: ignore[override]
        reach = 1.1 * self.num_links * self.link_length
        return (-reach, reach, -reach, reach)

    @property
    def state_size(self) -> int:
        return self.num_links + 2

    @property
    def single_action_space(self) -> gym.spaces.Box:
        return gym.spaces.Box(-1.0, 1.0, shape=(self.num_links,), dtype=np.float32)

    @property
    def single_observation_space(self) -> gym.spaces.Box:
        reach = self.num_links * self.link_length
        high = np.array([1.0] * (2 * self.num_links) + [reach] * 4, dtype=np.float32)
        return gym.spaces.Box(-high, high, dtype=np.float32)

    def joints(self, angles: Array) -> tuple[Array, Array]:
        """Forward kinematics: angles ``[..., L]`` -> joint ends x, y ``[..., L]`` (last is the tip)."""
        ops = ops_for(angles)
        absolute = ops.cumsum(angles)
        return ops.cumsum(self.link_length * ops.cos(absolute)), ops.cumsum(self.link_length * ops.sin(absolute))

    def tip(self, state: Array) -> Array:
        """Tip position ``[..., 2]`` of ``state [..., S]``, metres."""
        xs, ys = self.joints(state[..., :self.num_links])
        return ops_for(state).stack((xs[..., -1], ys[..., -1]))

    def initial_state(self, ops: NumpyOps | TorchOps, rng: Any, n: int) -> Array:
        limit = self.joint_limit
        angles, goal_angles = split(ops.uniform(rng, -limit, limit, (n, 2 * self.num_links)), (self.num_links,) * 2)
        xs, ys = self.joints(goal_angles)
        return ops.concat((angles, ops.stack((xs[..., -1], ys[..., -1]))))

    def dynamics(self, state: Array, action: Array) -> tuple[Array, Array]:
        ops = ops_for(state)
        angles, goal = split(state, (self.num_links, 2))
        speed = ops.clip(action, -1.0, 1.0) * self.max_joint_speed
        angles = ops.clip(angles + speed * self.dt, -self.joint_limit, self.joint_limit)
        next_state = ops.concat((angles, goal))
        return next_state, -ops.norm(self.tip(next_state) - goal)

    def terminated(self, state: Array) -> Array:
        return ops_for(state).norm(self.tip(state) - state[..., -2:]) < self.goal_radius

    def observe(self, state: Array) -> Array:
        ops = ops_for(state)
        angles = state[..., :self.num_links]
        return ops.concat((ops.cos(angles), ops.sin(angles), self.tip(state), state[..., -2:]))

    def draw(self, canvas: Canvas, state: Array) -> None:
        xs, ys = self.joints(state[:, :self.num_links])
        zero = xs[:, :1] * 0.0
        starts_x, starts_y = ops_for(xs).concat((zero, xs[:, :-1])), ops_for(ys).concat((zero, ys[:, :-1]))
        canvas.circles(state[:, -2], state[:, -1], 1.5 * self.goal_radius, (40, 200, 60))
        canvas.segments(starts_x, starts_y, xs, ys, 0.4 * self.link_length, (220, 220, 220), self.link_length)
        canvas.circles(starts_x, starts_y, 0.25 * self.link_length, (240, 160, 40))
