"""A thruster ship steering to a target under a planet's gravity (a forward-model planning task)."""
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
class Spaceship(BatchedWorld):
    """Fly a ship to a target while a planet pulls it in (inverse-square gravity, softened).

    State and observation ``[position 2, velocity 2, target 2, planet 2]`` (metres, m/s). Action:
    thrust ``[2]`` in ``[-1, 1]`` times ``max_thrust`` (m/s^2). Reward per step: progress towards
    the target (m) minus ``fuel_cost * |action|^2``, plus ``success_bonus`` on arrival, minus
    ``crash_penalty`` for hitting the planet or leaving the arena; each of those ends the episode.
    Progress telescopes, so an early crash never pays better than flying on.
    """

    default_max_episode_steps = 200

    gm: float = 0.1
    """Planet's gravitational parameter, m^3/s^2."""
    planet_radius: float = 0.15
    """Touching the planet within this distance is a crash, m."""
    softening: float = 0.05
    """Gravity softening length, m (keeps the pull finite at the centre)."""
    max_thrust: float = 1.0
    """Thrust at full action, m/s^2."""
    target_radius: float = 0.08
    """Arriving within this distance of the target ends the episode, m."""
    arena: float = 1.0
    """Half side of the arena, m; beyond ``1.2 * arena`` the ship is lost."""
    fuel_cost: float = 0.01
    """Reward cost per unit of squared action."""
    success_bonus: float = 1.0
    """Reward for arriving."""
    crash_penalty: float = 1.0
    """Reward lost for a crash or for leaving the arena."""
    dt: float = 0.05
    """Time step, s."""

    @property
    def state_size(self) -> int:
        return 8

    @property
    def single_action_space(self) -> gym.spaces.Box:
        return gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)

    @property
    def single_observation_space(self) -> gym.spaces.Box:
        return gym.spaces.Box(-np.inf, np.inf, shape=(8,), dtype=np.float32)

    def initial_state(self, ops: NumpyOps | TorchOps, rng: Any, n: int) -> Array:
        planet = ops.uniform(rng, -0.3 * self.arena, 0.3 * self.arena, (n, 2))
        position, target = split(ops.uniform(rng, -0.9 * self.arena, 0.9 * self.arena, (n, 4)), (2, 2))
        position = push_out(position, planet, 2.5 * self.planet_radius)[0]
        target = push_out(target, planet, 2.0 * self.planet_radius)[0]
        return ops.concat((position, position * 0.0, target, planet))

    def gravity(self, position: Array, planet: Array) -> Array:
        """Acceleration ``[..., 2]`` (m/s^2) of ships at ``position`` towards ``planet``."""
        ops = ops_for(position)
        offset = position - planet
        distance2 = ops.sum(offset * offset)[..., None] + self.softening**2
        return -self.gm * offset / (distance2 * ops.sqrt(distance2))

    def dynamics(self, state: Array, action: Array) -> tuple[Array, Array]:
        ops = ops_for(state)
        position, velocity, target, planet = split(state, (2, 2, 2, 2))
        thrust = ops.clip(action, -1.0, 1.0)
        velocity = velocity + (self.gravity(position, planet) + thrust * self.max_thrust) * self.dt
        next_position = position + velocity * self.dt
        next_state = ops.concat((next_position, velocity, target, planet))
        progress = ops.norm(position - target) - ops.norm(next_position - target)
        arrived, failed = self._arrived(next_state), self._failed(next_state)
        reward = progress - self.fuel_cost * ops.sum(thrust * thrust)
        reward = reward + self.success_bonus * (arrived * 1.0) - self.crash_penalty * (failed * 1.0)
        return next_state, reward

    def _arrived(self, state: Array) -> Array:
        return ops_for(state).norm(state[..., 0:2] - state[..., 4:6]) < self.target_radius

    def _failed(self, state: Array) -> Array:
        ops = ops_for(state)
        crashed = ops.norm(state[..., 0:2] - state[..., 6:8]) < self.planet_radius
        lost = ops.maximum(ops.abs(state[..., 0]), ops.abs(state[..., 1])) > 1.2 * self.arena
        return crashed | lost

    def terminated(self, state: Array) -> Array:
        return self._arrived(state) | self._failed(state)

    def observe(self, state: Array) -> Array:
        return state

    def draw(self, canvas: Canvas, state: Array) -> None:
        x, y, velocity = state[:, 0], state[:, 1], state[:, 2:4]
        heading = 0.15 * velocity / velocity.norm(dim=-1, keepdim=True).clamp(min=0.5)  # <= 0.15 m
        canvas.circles(state[:, 6], state[:, 7], self.planet_radius, (220, 130, 50))
        canvas.circles(state[:, 4], state[:, 5], self.target_radius, (40, 200, 60))
        canvas.segments(x, y, x + heading[:, 0], y + heading[:, 1], 0.03, (90, 200, 230), max_length=0.15)
        canvas.circles(x, y, 0.05, (240, 240, 240))
