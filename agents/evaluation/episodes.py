"""Seeded evaluation of any policy on any gymnasium env: success rate, returns, per-episode rows.

Episode ``i`` starts from ``env.reset(seed=seed + i)``, so two policies evaluated with the same
seed meet the same start states, and a slice of episodes can run anywhere (a Ray worker) and give
the same numbers as running them here. A policy is ``obs -> action``; one that keeps state
between steps (:class:`ModelPolicy`) has a ``reset()`` that the loop calls after every env reset.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from agents.agent import Predictor
from agents.evaluation.statistics import wilson_interval

Policy = Callable[[Any], np.ndarray]


@dataclasses.dataclass(frozen=True)
class Episode:
    """One evaluation episode. ``success`` is ``None`` when the env reports no ``is_success``."""

    seed: int
    episode_return: float
    length: int
    success: bool | None


@dataclasses.dataclass(frozen=True)
class EvalSummary:
    """Aggregate of episodes: success rate with a 95% Wilson interval, return mean/std."""

    n_episodes: int
    success_rate: float | None
    success_ci: tuple[float, float] | None
    return_mean: float
    return_std: float
    length_mean: float

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def line(self) -> str:
        """One human-readable line, e.g. for the end of ``train.py``."""
        text = f"return {self.return_mean:.2f} +/- {self.return_std:.2f} over {self.n_episodes} episodes"
        if self.success_rate is not None:
            low, high = self.success_ci
            text = f"success {self.success_rate:.0%} (95% CI {low:.0%}-{high:.0%}), " + text
        return text


class ModelPolicy:
    """An SB3-like model (``predict``) as ``obs -> action`` that tells it when an episode starts.

    The first call after :meth:`reset` passes ``episode_start=[True]``, as SB3's ``evaluate_policy``
    does, so a model that carries state between steps (a planner's warm-start plan) starts every
    episode afresh instead of from the previous episode's last plan. The state ``predict`` returns
    (a recurrent policy's, or a held action) goes back into the next call, as there.
    """

    def __init__(self, model: Predictor, deterministic: bool = True, obs_transform: Callable | None = None) -> None:
        self.model, self.deterministic, self.obs_transform = model, deterministic, obs_transform
        self._episode_start = True
        self._state: Any = None

    def reset(self, seed: int | None = None) -> None:
        """The env was just reset (with ``seed``): the next observation is an episode's first.

        A model with random streams of its own (a planner's sampling) exposes ``reseed(seed)``;
        reseeding from the episode's seed makes each episode depend on its seed alone, so any
        slice of episodes gives the same numbers wherever it runs (locally, on Ray workers).
        """
        self._episode_start, self._state = True, None
        if seed is not None and hasattr(self.model, "reseed"):
            self.model.reseed(seed)

    def __call__(self, obs: Any) -> np.ndarray:
        if self.obs_transform is not None:
            obs = self.obs_transform(obs)
        start = np.array([self._episode_start])
        self._episode_start = False
        action, self._state = self.model.predict(obs, state=self._state, episode_start=start,
                                                 deterministic=self.deterministic)
        return action


def model_policy(model: Predictor, deterministic: bool = True, obs_transform: Callable | None = None) -> ModelPolicy:
    """Wrap an SB3-like model (``predict``) as ``obs -> action``; ``obs_transform`` e.g. normalises."""
    return ModelPolicy(model, deterministic, obs_transform)


def run_episode(env: gym.Env, policy: Policy, seed: int, frames: list | None = None) -> Episode:
    """Play one episode from ``reset(seed=seed)``; append ``env.render()`` frames if a list is given."""
    obs, info = env.reset(seed=seed)
    if isinstance(policy, ModelPolicy):
        policy.reset(seed)
    elif hasattr(policy, "reset"):
        policy.reset()
    total, length, done = 0.0, 0, False
    while not done:
        if frames is not None:
            frames.append(env.render())
        obs, reward, terminated, truncated, info = env.step(policy(obs))
        total += float(reward)
        length += 1
        done = terminated or truncated
    if frames is not None:
        frames.append(env.render())
    success = info.get("is_success")
    return Episode(seed, total, length, None if success is None else bool(success))


def evaluate(
    env: gym.Env, policy: Policy, n_episodes: int, seed: int = 0, frames_of_first: int = 0,
    on_episode: Callable[[int], None] | None = None,
) -> tuple[list[Episode], list[np.ndarray]]:
    """Run ``n_episodes`` seeded episodes; return them and the frames of the first ones.

    Args:
        frames_of_first: record ``env.render()`` (needs ``render_mode="rgb_array"``) for this many
            leading episodes, as ``[T, H, W, 3]`` uint8 frames concatenated.
        on_episode: called with the episodes done after each (a progress bar).
    """
    if n_episodes < 1:
        raise ValueError(f"n_episodes must be >= 1, got {n_episodes}")
    episodes, frames = [], []
    for i in range(n_episodes):
        episodes.append(run_episode(env, policy, seed + i, frames if i < frames_of_first else None))
        if on_episode is not None:
            on_episode(i + 1)
    return episodes, frames


def summarize(episodes: list[Episode]) -> EvalSummary:
    """Success rate (with a Wilson interval) and return statistics of ``episodes``."""
    returns = np.array([e.episode_return for e in episodes], dtype=float)
    known = [e.success for e in episodes if e.success is not None]
    rate = ci = None
    if known:
        rate = float(np.mean(known))
        ci = wilson_interval(int(sum(known)), len(known))
    std = float(returns.std(ddof=1)) if len(returns) > 1 else 0.0
    length = float(np.mean([e.length for e in episodes]))
    return EvalSummary(len(episodes), rate, ci, float(returns.mean()), std if math.isfinite(std) else 0.0, length)


def score(summary: EvalSummary) -> tuple[float, float]:
    """Sort key for "best": success rate first (when known), then mean return."""
    return (summary.success_rate if summary.success_rate is not None else 0.0, summary.return_mean)
