"""Rebuild an env's current episode in a fresh process: the key to exact resume.

A simulator's state cannot be saved generically, but an episode can be replayed: the env's RNG
state just before its last ``reset`` plus the actions taken since determine the state exactly for a
deterministic simulator (PyBullet is one, run in the same order of calls). ``EpisodeRecorder``
keeps both; a checkpoint stores them (plain arrays and JSON) and ``replay`` rebuilds the env.
"""
from __future__ import annotations

import json
from typing import Any

import gymnasium as gym
import numpy as np


class EpisodeRecorder(gym.Wrapper):
    """Records the RNG state before each reset and every action since, to replay the episode."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._rng_state: str = ""
        self._reset_seed: int | None = None
        self._actions: list[np.ndarray] = []

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self._rng_state = json.dumps(self.unwrapped.np_random.bit_generator.state)
        self._reset_seed = seed
        self._actions = []
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        self._actions.append(np.array(action, copy=True))
        return self.env.step(action)

    def episode_snapshot(self) -> dict[str, Any]:
        """What :meth:`replay` needs: ``{"rng": json, "seed": int | -1, "actions": [T, A]}``."""
        shape = self.action_space.shape or ()
        actions = np.stack(self._actions) if self._actions else np.zeros((0, *shape), self.action_space.dtype)
        return {"rng": self._rng_state, "seed": -1 if self._reset_seed is None else self._reset_seed,
                "actions": actions}

    def replay(self, snapshot: dict[str, Any]) -> bool:
        """Reset as recorded and re-apply the actions; True if every replayed step stayed inside
        the episode (comparing observations with the recorded run is the caller's job)."""
        seed = int(snapshot["seed"])
        if seed < 0:
            self.unwrapped.np_random.bit_generator.state = json.loads(snapshot["rng"])
        self.reset(seed=None if seed < 0 else seed)
        for action in np.asarray(snapshot["actions"]):
            _, _, terminated, truncated, _ = self.step(action)
            if terminated or truncated:
                return False
        return True
