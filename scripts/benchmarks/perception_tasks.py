"""Helpers for the perception benchmarks on Foresight Panda envs (not a benchmark section itself).

Kept apart from ``perception.py`` so that file stays one screen per section. Knows the envs'
privileged ground truth (``task``, ``robot``): only benchmarks and tests may.
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np

import envs  # noqa: F401  (registers the Foresight/ ids)

OBJECT_HALF_SIZE = 0.02  # Push's cube, metres
REACH_TARGET_RADIUS = 0.025  # Reach's target sphere, metres


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
    """A policy mixing the task's scripted expert with random actions, for varied frames."""
    rng = np.random.default_rng(seed)

    def act(_observation) -> np.ndarray:
        if rng.random() < expert_fraction:
            return env.unwrapped.scripted_action()
        return env.action_space.sample()

    return act
