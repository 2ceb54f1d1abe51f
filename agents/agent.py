"""The ``Agent`` protocol: what SB3's models and Foresight's own agents have in common.

Every ``model`` parameter in ``agents/`` is typed with it (or with :class:`Predictor` where acting
is all that is needed, or SB3's ``BaseAlgorithm`` where SB3's own internals are read), so a function
that evaluates, checkpoints or exports "a model" says what it needs and works on an SB3 ``SAC`` and
on our planning agents alike.

Example:
    >>> import gymnasium as gym
    >>> from stable_baselines3 import PPO
    >>> isinstance(PPO("MlpPolicy", gym.make("CartPole-v1"), n_steps=8, batch_size=8), Agent)
    True
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from stable_baselines3.common.vec_env import VecEnv


@runtime_checkable
class Predictor(Protocol):
    """Anything that acts like an SB3 model: evaluation and export need no more."""

    def predict(self, observation: Any, state: Any = None, episode_start: np.ndarray | None = None,
                deterministic: bool = False) -> tuple[np.ndarray, Any]:
        """Action ``[A]`` for one observation or ``[E, A]`` for a batch, and a recurrent state (or ``None``)."""
        ...


@runtime_checkable
class Agent(Predictor, Protocol):
    """SB3's model face: ``learn``, ``predict``, ``save``, ``load``, the env-step counter and its env."""

    num_timesteps: int
    """Env steps taken in training so far (all envs together)."""

    def learn(self, total_timesteps: int, callback: Any = None, *args: Any, **kwargs: Any) -> Any:
        """Train for ``total_timesteps`` more env steps; returns the agent."""
        ...

    def get_env(self) -> VecEnv | None:
        """The training env as an SB3 ``VecEnv`` (None after a load without one)."""
        ...

    def save(self, path: str | os.PathLike) -> None:
        """Write the agent to ``path``."""
        ...

    @classmethod
    def load(cls, path: str | os.PathLike, env: Any = None, device: Any = "auto", **kwargs: Any) -> Any:
        """Rebuild an agent written by :meth:`save`."""
        ...
