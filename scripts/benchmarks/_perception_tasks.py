"""Helpers for the perception benchmarks on Foresight Panda envs (not a benchmark section itself).

Kept apart from ``perception.py`` so that file stays one screen per section. Knows the envs'
privileged ground truth (``task``, ``robot``): only benchmarks and tests may.
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np

import envs  # noqa: F401  (registers the Foresight/ ids)


def object_position(env: gym.Env) -> np.ndarray:
    """True position of the task's object: the cube (Push) or the target (Reach), metres."""
    task = env.unwrapped.task
    return task.object_position() if hasattr(task, "object_position") else task.goal.copy()


def gripper_position(env: gym.Env) -> np.ndarray:
    return env.unwrapped.robot.ee_position()


def probe_labels(env: gym.Env) -> np.ndarray:
    """[6]: object xyz then gripper xyz, metres."""
    return np.concatenate([object_position(env), gripper_position(env)]).astype(np.float32)


def noisy_expert(env: gym.Env, expert_fraction: float, seed: int):
    """A policy mixing the task's scripted expert with random actions, for varied frames.

    Random actions come from ``seed`` too (not the unseeded ``action_space.sample()``), so the
    same seed gives the same frames and scenes.
    """
    rng = np.random.default_rng(seed)
    space = env.action_space

    def act(_observation) -> np.ndarray:
        if rng.random() < expert_fraction:
            return env.unwrapped.scripted_action()
        return rng.uniform(space.low, space.high).astype(space.dtype)

    return act


def random_push_scene(env: gym.Env, seed: int, max_steps: int = 40) -> None:
    """Reset with ``seed``, then let a noisy expert act for 0..max_steps steps, so the arm is
    often near (and in front of) the cube."""
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    act = noisy_expert(env, 0.8, seed)
    for _ in range(int(rng.integers(0, max_steps + 1))):
        env.step(act(None))


def mostly_expert(env: gym.Env):
    """``scripts/pretrain_encoder.py --policy`` factory: 70% scripted expert, 30% random actions."""
    return noisy_expert(env, 0.7, seed=0)
