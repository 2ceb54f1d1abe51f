"""Transitions for model fitting: a ring-buffer replay that saves as plain tensors.

States are flat model states (see :class:`world_models.spaces.StateLayout`); the buffer saves to
and restores from a dict of tensors, so it rides inside an agent checkpoint loaded with
``torch.load(weights_only=True)``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from world_models.data import Episode
from world_models.spaces import StateLayout


class Transitions(NamedTuple):
    """A batch of transitions, all float32 tensors with N rows."""

    states: torch.Tensor
    """``[N, S]``."""
    actions: torch.Tensor
    """``[N, A]``."""
    rewards: torch.Tensor
    """``[N]``."""
    next_states: torch.Tensor
    """``[N, S]``."""
    terminations: torch.Tensor
    """``[N]`` 1.0 where the MDP ended at ``next_states``."""

    def __len__(self) -> int:
        return int(self.states.shape[0])

    def index(self, rows: torch.Tensor) -> Transitions:
        return Transitions(*(field[rows] for field in self))


class ReplayBuffer:
    """Fixed-capacity ring buffer of transitions (oldest overwritten first).

    Args:
        state_dim: S, size of a flat model state.
        action_dim: A.
        capacity: Most transitions kept.
    """

    FIELDS = Transitions._fields

    def __init__(self, state_dim: int, action_dim: int, capacity: int = 1_000_000) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        widths = {"states": state_dim, "actions": action_dim, "next_states": state_dim}
        self._data = {f: np.zeros((capacity, widths[f]) if f in widths else (capacity,), np.float32)
                      for f in self.FIELDS}
        self._next, self._size = 0, 0

    def __len__(self) -> int:
        return self._size

    # SB3's buffer vocabulary, so generic checkpointing code written for SB3 buffers works here too
    @property
    def buffer_size(self) -> int:
        return self.capacity

    @property
    def full(self) -> bool:
        return self._size == self.capacity

    @property
    def pos(self) -> int:
        return self._next

    def add(self, states: np.ndarray, actions: np.ndarray, rewards: np.ndarray, next_states: np.ndarray,
            terminations: np.ndarray) -> None:
        """Append a batch ``[n, ...]`` of transitions (n = number of envs, or 1)."""
        batch = [np.asarray(x, np.float32).reshape(-1, *self._data[f].shape[1:])
                 for f, x in zip(self.FIELDS, (states, actions, rewards, next_states, terminations), strict=True)]
        count = batch[0].shape[0]
        rows = (self._next + np.arange(count)) % self.capacity
        for field, values in zip(self.FIELDS, batch, strict=True):
            self._data[field][rows] = values
        self._next = int((self._next + count) % self.capacity)
        self._size = min(self._size + count, self.capacity)

    def add_episode(self, episode: Episode, layout: StateLayout) -> None:
        """Append every transition of a stored episode."""
        states = layout.state(episode.observations)
        self.add(states[:-1], episode.actions, episode.rewards, states[1:], episode.terminations)

    def all(self, device: str | torch.device = "cpu") -> Transitions:
        """Every stored transition as tensors on ``device`` (oldest first)."""
        order = (np.arange(self._size) + (self._next if self._size == self.capacity else 0)) % self.capacity
        return Transitions(*(torch.as_tensor(self._data[f][order], device=device) for f in self.FIELDS))

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Plain tensors (safe for ``torch.load(weights_only=True)``)."""
        data = self.all()
        return {**data._asdict(), "capacity": torch.tensor(self.capacity)}

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor]) -> ReplayBuffer:
        buffer = cls(state["states"].shape[1], state["actions"].shape[1], int(state["capacity"]))
        buffer.add(*(state[f].numpy() for f in cls.FIELDS))
        return buffer


def transitions_from_episodes(episodes: list[Episode], layout: StateLayout) -> Transitions:
    """All transitions of some episodes as one batch."""
    total = sum(len(e) for e in episodes)
    buffer = ReplayBuffer(layout.state_dim, int(np.prod(episodes[0].actions.shape[1:])), max(total, 1))
    for episode in episodes:
        buffer.add_episode(episode, layout)
    return buffer.all()
