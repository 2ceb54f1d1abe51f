"""The contract every batched world fulfils: pure functions of a state batch, no hidden state.

A world is a frozen dataclass of physical parameters. It owns no state: the state is a tensor
``[..., S]`` passed in and returned, so the same world serves N environments in a
``BatchedVectorEnv``, thousands of imagined rollouts in a planner (``dynamics`` is differentiable
under torch) and a single world on the CPU (under numpy). Everything works along the last axis.
"""
from __future__ import annotations

import abc
import dataclasses
import functools
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

from envs.batched.ops import Array, NumpyOps, TorchOps

if TYPE_CHECKING:
    from envs.batched.raster import Canvas


@dataclasses.dataclass(frozen=True)
class BatchedWorld(abc.ABC):
    """Base of the batched worlds: subclasses give the three properties and five methods below."""

    #: Episode length used when the env is made without ``max_episode_steps``.
    default_max_episode_steps = 200
    #: World rectangle drawn into the image: (x_min, x_max, y_min, y_max), metres.
    view = (-1.0, 1.0, -1.0, 1.0)

    @property
    @abc.abstractmethod
    def state_size(self) -> int:
        """S, the length of a state vector."""

    @property
    @abc.abstractmethod
    def single_action_space(self) -> gym.spaces.Space:
        """Action space of one world (a ``Discrete`` or a ``Box``)."""

    @property
    @abc.abstractmethod
    def single_observation_space(self) -> gym.spaces.Box:
        """State-observation space of one world (float32 ``Box``)."""

    @abc.abstractmethod
    def initial_state(self, ops: NumpyOps | TorchOps, rng: Any, n: int) -> Array:
        """Draw ``n`` states ``[n, S]`` from the reset distribution with ``rng`` (seeded)."""

    @abc.abstractmethod
    def dynamics(self, state: Array, action: Array) -> tuple[Array, Array]:
        """One step: ``state [..., S]``, ``action [..., A]`` (float) -> ``next_state [..., S]``, ``reward [...]``.

        Pure and differentiable under torch; the reward is the one earned by this transition.
        """

    @abc.abstractmethod
    def terminated(self, state: Array) -> Array:
        """Whether each state ends its episode (failure or success), ``[..., S] -> bool [...]``."""

    @abc.abstractmethod
    def observe(self, state: Array) -> Array:
        """State observation ``[..., S] -> [..., O]``."""

    @abc.abstractmethod
    def draw(self, canvas: Canvas, state: Array) -> None:
        """Draw each world of ``state [N, S]`` (torch) onto ``canvas`` (its N images)."""

    # -- shared helpers ----------------------------------------------------------------------------

    @functools.cached_property
    def discrete_actions(self) -> bool:
        """Whether actions are indices of a ``Discrete`` space (cached: spaces are built per call)."""
        return isinstance(self.single_action_space, gym.spaces.Discrete)

    @property
    def action_size(self) -> int:
        """A, the length of the float action vector that ``dynamics`` takes."""
        return 1 if self.discrete_actions else int(np.prod(self.single_action_space.shape))

    def action_input(self, action: Array) -> Array:
        """Env action already in float (``[N]`` for ``Discrete``, ``[N, A]`` for ``Box``) -> ``[N, A]``."""
        return action[..., None] if self.discrete_actions else action

    def step(self, state: Array, action: Array) -> tuple[Array, Array, Array]:
        """``dynamics`` plus termination: ``(next_state [..., S], reward [...], terminated [...])``."""
        next_state, reward = self.dynamics(state, action)
        return next_state, reward, self.terminated(next_state)

    @classmethod
    def fields(cls) -> list[str]:
        """Names of the parameters this world accepts (its dataclass fields)."""
        return [f.name for f in dataclasses.fields(cls)]
