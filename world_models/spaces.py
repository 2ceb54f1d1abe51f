"""Gymnasium spaces as JSON (Minari's encoding) and the flat model state of an observation.

Models predict flat vectors. :class:`StateLayout` turns any supported observation into one:
a ``Box`` is flattened; a goal dict (``observation``, ``achieved_goal``, ``desired_goal``) becomes
``concat(observation, achieved_goal)`` while ``desired_goal`` stays outside the model (it does not
evolve), so the env's own ``compute_reward(achieved_goal, desired_goal, info)`` scores predictions.
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np
from gymnasium import spaces

from foresight_base.checks import check_choice

GOAL_KEYS = ("observation", "achieved_goal", "desired_goal")
SPACE_TYPES = ("Box", "Discrete", "Dict")  # what the dataset metadata can describe


def space_to_dict(space: spaces.Space) -> dict[str, Any]:
    """JSON-ready description of a ``Box``, ``Discrete`` or ``Dict`` space, in Minari's encoding."""
    if isinstance(space, spaces.Box):
        return {"type": "Box", "dtype": str(space.dtype), "shape": list(space.shape),
                "low": space.low.tolist(), "high": space.high.tolist()}
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "dtype": "int64", "start": int(space.start), "n": int(space.n)}
    if isinstance(space, spaces.Dict):
        return {"type": "Dict", "subspaces": {k: space_to_dict(s) for k, s in space.spaces.items()}}
    raise TypeError(f"cannot serialise {type(space).__name__}; supported: {', '.join(SPACE_TYPES)}")


def space_from_dict(data: dict[str, Any]) -> spaces.Space:
    """Inverse of :func:`space_to_dict`."""
    kind = check_choice("space type", data.get("type"), SPACE_TYPES)
    if kind == "Box":
        low = np.asarray(data["low"], dtype=data["dtype"]).reshape(data["shape"])
        high = np.asarray(data["high"], dtype=data["dtype"]).reshape(data["shape"])
        return spaces.Box(low=low, high=high, dtype=np.dtype(data["dtype"]))
    if kind == "Discrete":
        return spaces.Discrete(int(data["n"]), start=int(data["start"]))
    return spaces.Dict({k: space_from_dict(v) for k, v in data["subspaces"].items()})


def space_to_json(space: spaces.Space) -> str:
    return json.dumps(space_to_dict(space))


def space_from_json(text: str) -> spaces.Space:
    return space_from_dict(json.loads(text))


def is_goal_space(space: spaces.Space) -> bool:
    """True for HER-style goal dicts with ``observation``, ``achieved_goal`` and ``desired_goal``."""
    return isinstance(space, spaces.Dict) and set(GOAL_KEYS) <= set(space.spaces)


class StateLayout:
    """How observations map to flat model states ``[..., S]`` and, for goal envs, goals ``[..., G]``.

    Args:
        observation_space: A ``Box`` (any shape, flattened) or a goal ``Dict`` of ``Box`` entries.
    """

    def __init__(self, observation_space: spaces.Space) -> None:
        self.observation_space = observation_space
        self.is_goal = is_goal_space(observation_space)
        if self.is_goal:
            obs, achieved, desired = (observation_space[k] for k in GOAL_KEYS)
            self.goal_dim = int(np.prod(achieved.shape))
            if int(np.prod(desired.shape)) != self.goal_dim:
                raise ValueError(f"achieved_goal {achieved.shape} and desired_goal {desired.shape} differ in size")
            self.state_dim = int(np.prod(obs.shape)) + self.goal_dim
        elif isinstance(observation_space, spaces.Box):
            self.goal_dim = 0
            self.state_dim = int(np.prod(observation_space.shape))
        else:
            raise TypeError(f"observation space {observation_space} is not supported by state models; valid: "
                            "a Box, or a Dict with keys observation, achieved_goal, desired_goal")

    def batch_shape(self, obs: Any) -> tuple[int, ...]:
        """Leading batch dimensions of ``obs`` (``()`` for a single observation)."""
        if self.is_goal:
            array, space = np.asarray(obs["observation"]), self.observation_space["observation"]
        else:
            array, space = np.asarray(obs), self.observation_space
        return array.shape[: array.ndim - len(space.shape)]

    def state(self, obs: Any) -> np.ndarray:
        """Flat float32 state ``[..., S]`` of one observation or a batch of them."""
        batch = self.batch_shape(obs)
        if not self.is_goal:
            return np.asarray(obs, dtype=np.float32).reshape(*batch, self.state_dim)
        parts = [np.asarray(obs[k], dtype=np.float32).reshape(*batch, -1) for k in GOAL_KEYS[:2]]
        return np.concatenate(parts, axis=-1)

    def desired_goal(self, obs: Any) -> np.ndarray:
        """Desired goal ``[..., G]`` of a goal observation."""
        if not self.is_goal:
            raise ValueError("desired_goal needs a goal observation space (observation/achieved_goal/desired_goal)")
        return np.asarray(obs["desired_goal"], dtype=np.float32).reshape(*self.batch_shape(obs), self.goal_dim)

    def achieved_goal(self, states: Any) -> Any:
        """The achieved goal part ``[..., G]`` of model states ``[..., S]`` (numpy or torch)."""
        return states[..., self.state_dim - self.goal_dim:]
