"""What every goal-reaching task shares: batched distances, rewards and success.

Rewards and success take arrays with the goal on the last axis (``[..., G]``), so HER relabelling
and world models evaluate thousands of goals without a simulator.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod

import numpy as np

from foresight_base.checks import check_choice

REWARD_TYPES = ("sparse", "dense")
GOAL_RGBA = (0.1, 0.9, 0.1, 0.4)  # every goal marker is translucent green; randomized colours avoid it


def goal_distance(achieved: np.ndarray, desired: np.ndarray) -> np.ndarray:
    """Euclidean distance over the last axis: ``[..., G], [..., G] -> [...]`` (metres)."""
    return np.linalg.norm(np.asarray(achieved) - np.asarray(desired), axis=-1)


def check_reward_type(reward_type: str) -> str:
    return check_choice("reward_type", reward_type, REWARD_TYPES)


def goal_reward(achieved: np.ndarray, desired: np.ndarray, reward_type: str, distance_threshold: float) -> np.ndarray:
    """``[..., G], [..., G] -> [...]`` float32: sparse -1 until within the threshold, else 0; dense minus the
    distance."""
    distance = goal_distance(achieved, desired)
    if reward_type == "sparse":
        return -(distance >= distance_threshold).astype(np.float32)
    return -distance.astype(np.float32)


def goal_success(achieved: np.ndarray, desired: np.ndarray, distance_threshold: float) -> np.ndarray:
    """``[..., G], [..., G] -> [...]`` bool: within the success radius (metres)."""
    return goal_distance(achieved, desired) < distance_threshold


class GoalTask(ABC):
    """A task owns its goal, reward, success test, reset distribution and scripted expert.

    Args:
        reward_type: ``"sparse"`` (-1 until within ``distance_threshold``, then 0) or ``"dense"``
            (minus the distance in metres).
        distance_threshold: Success radius, metres.
    """

    goal_size: int = 3
    observation_size: int = 0

    def __init__(self, reward_type: str, distance_threshold: float) -> None:
        self.reward_type = check_reward_type(reward_type)
        self.distance_threshold = distance_threshold
        self.goal = np.zeros(self.goal_size)

    @property
    def segmentation_ids(self) -> dict[str, int]:
        """Body ids of the task's things by name (``object``, ``target`` ...)."""
        return {}

    @abstractmethod
    def reset(self, rng: np.random.Generator) -> None:
        """Sample a new goal (and object poses) from ``rng``; the robot is already reset."""

    @abstractmethod
    def achieved_goal(self) -> np.ndarray:
        """[G] the quantity the goal constrains (end-effector or object position)."""

    def observation(self) -> np.ndarray:
        """[observation_size] task state the policy sees besides the robot (objects)."""
        return np.zeros(0)

    @abstractmethod
    def scripted_command(self) -> np.ndarray:
        """Privileged expert: an end-effector command [dx, dy, dz, gripper] in [-1, 1]."""

    def snapshot(self) -> dict[str, np.ndarray]:
        """Task state that lives outside the simulator (copies), for planners' save/restore."""
        return {"goal": self.goal.copy()}

    def restore(self, snapshot: dict[str, np.ndarray]) -> None:
        self.goal = snapshot["goal"].copy()

    def update(self) -> None:  # noqa: B027 - an optional hook, not abstract: most tasks have nothing to read
        """Read task state from the simulator once per step (objects); default: nothing."""

    def is_success(self, achieved: np.ndarray, desired: np.ndarray) -> np.ndarray:
        """``[..., G], [..., G] -> [...]`` bool: within the success radius."""
        return goal_success(achieved, desired, self.distance_threshold)

    def step_outcome(self, achieved: np.ndarray) -> tuple[float, bool]:
        """Reward and success of one step; same values as the batched functions, cheaper for one goal."""
        distance = math.dist(achieved, self.goal)
        success = distance < self.distance_threshold
        if self.reward_type == "sparse":
            return (0.0 if success else -1.0), success
        return float(np.float32(-distance)), success

    def compute_reward(self, achieved: np.ndarray, desired: np.ndarray, info=None) -> np.ndarray:
        """``[..., G], [..., G] -> [...]`` float32 rewards; equals the step rewards."""
        return goal_reward(achieved, desired, self.reward_type, self.distance_threshold)
