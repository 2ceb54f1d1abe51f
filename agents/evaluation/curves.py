"""Learning curves in env steps for any agent with SB3's ``learn``/``predict`` (sample-efficiency benchmarks)."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

import gymnasium as gym
from stable_baselines3.common.callbacks import BaseCallback

from agents.agent import Agent
from agents.evaluation.episodes import model_policy
from agents.progress import Progress
from world_models.rollouts import run_episodes


class CurvePoint(NamedTuple):
    steps: int
    """Env steps of training so far."""
    mean_return: float
    success_rate: float
    """NaN where the env reports no ``is_success``."""
    seconds: float
    """Wall time since the curve started (training and evaluation)."""


class StepsShown(BaseCallback):
    """Moves ``bar`` to the agent's env steps while it learns: one bar across a curve's chunks."""

    def __init__(self, bar: Progress) -> None:
        super().__init__()
        self.bar = bar

    def _on_step(self) -> bool:
        self.bar.set(self.model.num_timesteps)
        return True


def learning_curve(agent: Agent, make_eval_env: Callable[[], gym.Env], total_steps: int, eval_every: int,
                   eval_episodes: int, seed: int = 10_000, log: Callable[[str], None] | None = None,
                   done: Sequence[CurvePoint] = (),
                   on_point: Callable[[list[CurvePoint]], None] | None = None,
                   progress: bool = True) -> list[CurvePoint]:
    """Alternate ``agent.learn(eval_every)`` and deterministic evaluation until ``total_steps``.

    Args:
        agent: SB3 model or :class:`agents.planning.mpc.PlanningAgent` (``learn`` continues where it stopped).
        make_eval_env: Builds the evaluation env (a separate instance from the training env).
        total_steps: Training budget in env steps.
        eval_every: Env steps between evaluations.
        eval_episodes: Episodes per evaluation (seeds ``seed, seed + 1, ...``, the same at every point).
        seed: First evaluation seed.
        log: Called with one line per point (e.g. ``print``).
        done: Points of a curve this agent was restored into, mid-way (it goes on from the last
            one's steps, and its seconds keep counting from the last one's).
        on_point: Called with the curve so far after each point (a benchmark checkpoints there).
        progress: Show the env steps (a bar on a terminal, a line every 30 s in a log).
    """
    points = list(done)
    steps = points[-1].steps if points else 0
    env, start = make_eval_env(), time.perf_counter() - (points[-1].seconds if points else 0.0)
    policy = model_policy(agent)  # tells predict where episodes start (a planner's warm start)
    bar = Progress(total_steps, f"learn {type(agent).__name__}", initial=steps, enabled=progress)
    while steps < total_steps:
        chunk = min(eval_every, total_steps - steps)
        agent.learn(chunk, callback=StepsShown(bar), reset_num_timesteps=False)
        steps += chunk
        stats = run_episodes(env, policy, eval_episodes, seed, on_reset=policy.reset).summary()
        points.append(CurvePoint(steps, stats["mean_return"], stats["success_rate"], time.perf_counter() - start))
        if log is not None:
            log(f"  {type(agent).__name__:>14} {steps:>7} steps: return {stats['mean_return']:9.2f}, "
                f"success {stats['success_rate']:.2f}, {points[-1].seconds:7.1f} s")
        if on_point is not None:
            on_point(points)
    bar.close()
    env.close()
    return points


def steps_to_reach(curve: list[CurvePoint], target: float, metric: str = "mean_return") -> int | None:
    """First step count at which ``metric`` reaches ``target`` (``None`` if never)."""
    for point in curve:
        if getattr(point, metric) >= target:
            return point.steps
    return None
