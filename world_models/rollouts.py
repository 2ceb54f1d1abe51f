"""Running a policy in a gymnasium env for whole episodes, optionally recording them to disk.

One loop serves data collection (``scripts/collect.py``), planning demos (``scripts/plan.py``) and
benchmarks. A policy is any ``obs -> action`` callable: random, scripted, an agent's ``predict``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

from world_models.data import EpisodeWriter

Policy = Callable[[Any], np.ndarray]
"""``observation -> action`` for one env."""


class EpisodeStats(NamedTuple):
    """Per-episode results."""

    returns: list[float]
    lengths: list[int]
    successes: list[float]
    """``info["is_success"]`` at the last step, NaN where the env does not report it."""

    def summary(self) -> dict[str, float]:
        successes = [s for s in self.successes if not np.isnan(s)]
        return {"episodes": len(self.returns), "mean_return": float(np.mean(self.returns)),
                "mean_length": float(np.mean(self.lengths)),
                "success_rate": float(np.mean(successes)) if successes else float("nan")}


def run_episodes(env: gym.Env, policy: Policy, episodes: int, seed: int = 0, writer: EpisodeWriter | None = None,
                 on_reset: Callable[[], None] | None = None,
                 on_episode: Callable[[int], None] | None = None) -> EpisodeStats:
    """Run ``episodes`` episodes with seeds ``seed, seed + 1, ...``; record them if ``writer`` is given.

    Args:
        env: Any gymnasium env (its time limit ends episodes).
        policy: ``obs -> action``.
        episodes: How many.
        seed: Seed of the first reset.
        writer: Dataset writer; each episode is appended.
        on_reset: Called after every reset (e.g. to clear a planner's warm start).
        on_episode: Called with the episodes done after each (a progress bar).
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    stats = EpisodeStats([], [], [])
    for episode in range(episodes):
        obs, info = env.reset(seed=seed + episode)
        if writer is not None:
            writer.reset(obs, info, seed=seed + episode)
        if on_reset is not None:
            on_reset()
        total, length, done = 0.0, 0, False
        while not done:
            action = policy(obs)
            obs, reward, terminated, truncated, info = env.step(action)
            if writer is not None:
                writer.step(action, obs, reward, terminated, truncated, info)
            total, length, done = total + float(reward), length + 1, terminated or truncated
        stats.returns.append(total)
        stats.lengths.append(length)
        stats.successes.append(float(info["is_success"]) if "is_success" in info else float("nan"))
        if on_episode is not None:
            on_episode(episode + 1)
    return stats


def random_policy(action_space: gym.Space, seed: int = 0) -> Policy:
    """Uniform random actions from a seeded copy of ``action_space``."""
    action_space.seed(seed)
    return lambda obs: action_space.sample()


def noisy_policy(policy: Policy, action_space: gym.spaces.Box, std: float, seed: int = 0) -> Policy:
    """``policy`` plus Gaussian noise of ``std`` (fraction of the action range), clipped to the bounds.

    Scripted experts visit a narrow band of states; noise widens the data a model learns from.
    """
    rng = np.random.default_rng(seed)
    low, high = action_space.low, action_space.high

    def act(obs: Any) -> np.ndarray:
        action = np.asarray(policy(obs), dtype=np.float64)
        noise = rng.normal(0.0, std, size=action.shape) * (high - low) / 2
        return np.clip(action + noise, low, high).astype(action_space.dtype)
    return act
