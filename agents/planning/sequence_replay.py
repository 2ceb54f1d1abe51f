"""Replay of E envs' transitions, sampled as H-step sub-sequences of one episode, with hindsight goals.

Rows are steps and columns are envs (``[T, E, ...]``, a ring over T), so one env's consecutive
steps are consecutive rows and a sub-sequence is a slice. Each row keeps its episode id; a
sub-sequence is valid when its first and last rows share one (ids only grow down a column). Rows
written for one column only (demonstrations go into column 0) leave the others at id -1: never valid.

Hindsight relabelling (goal envs): with probability ``her_ratio`` a sampled sub-sequence's goal
becomes the goal achieved at a later step of the same episode, and its rewards are recomputed by
the env's own batched ``compute_reward(achieved [N, G], desired [N, G], info)``, so relabelled
rewards equal what the env would have paid. A row that holds an action for k env steps
(:mod:`agents.planning.action_repeat`) keeps k as ``repeats`` and is paid k times the reward at its
end: exact except on the step during which the goal was reached. Steps taken by a demonstrator are flagged: a batch
draws ``demo_ratio`` of its sub-sequences from them (MoDem's oversampling, Hansen et al. 2023, so a
few expert episodes keep their weight in a replay of 100k steps) and marks them for the policy's
behaviour-cloning term. Arrays are the dicts of
:class:`world_models.observation_coding.ObservationCoding` (``vector``, ``image:<key>``, ``goal``,
``achieved``); images stay uint8.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import torch

from agents.checkpoints import to_numpy, to_tensors

RewardFn = Callable[[np.ndarray, np.ndarray, Any], np.ndarray]


class SequenceBatch(NamedTuple):
    """B sub-sequences of H steps, tensors on the learner's device."""

    obs: dict[str, torch.Tensor]
    """``{name: [H + 1, B, ...]}``: the observation before each step and after the last one."""
    actions: torch.Tensor
    """``[H, B, A]``."""
    rewards: torch.Tensor
    """``[H, B]`` (recomputed for relabelled goals)."""
    terminated: torch.Tensor
    """``[H, B]`` 1.0 where the MDP ended after that step."""
    goal: torch.Tensor
    """``[B, G]`` (``G = 0`` without goals), constant over the sub-sequence."""
    demo: torch.Tensor | None = None
    """``[H, B]`` 1.0 where a demonstrator took the step towards this (not relabelled) goal."""
    achieved: torch.Tensor | None = None
    """``[H + 1, B, G]`` the achieved goal at each observation (goal envs; ``None`` otherwise)."""


class SequenceReplay:
    """Ring buffer of ``capacity`` transitions over ``num_envs`` columns.

    Args:
        capacity: Transitions kept in all (rounded down to a multiple of ``num_envs``).
        num_envs: E, the columns.
        horizon: H, steps per sampled sub-sequence.
        compute_reward: The env's batched goal reward, for relabelling (``None``: no relabelling).
        her_ratio: Fraction of sampled sub-sequences whose goal is relabelled.
        seed: Seeds sampling.
        demo_ratio: Fraction of each batch drawn from demonstration steps while any are held.
        clone_relabelled: Flag demonstrated steps for cloning under relabelled goals too (GCSL: the
            demonstrator's action does lead to the state it later reached); ``False`` flags only
            those whose goal is the one the demonstrator pursued.
    """

    def __init__(self, capacity: int, num_envs: int, horizon: int, compute_reward: RewardFn | None = None,
                 her_ratio: float = 0.8, seed: int = 0, demo_ratio: float = 0.0,
                 clone_relabelled: bool = False) -> None:
        if not 0.0 <= demo_ratio <= 1.0:
            raise ValueError(f"demo_ratio must lie in [0, 1], got {demo_ratio}")
        if capacity < num_envs * (horizon + 1):
            raise ValueError(f"capacity {capacity} is below num_envs * (horizon + 1) = {num_envs * (horizon + 1)}")
        self.rows, self.num_envs, self.horizon = capacity // num_envs, num_envs, horizon
        self.compute_reward, self.her_ratio, self.demo_ratio = compute_reward, her_ratio, demo_ratio
        self.clone_relabelled = clone_relabelled
        self.rng = np.random.default_rng(seed)
        self.data: dict[str, np.ndarray] = {}
        self.pos, self.size = 0, 0
        self.episode_of_env = np.arange(num_envs)  # current episode id per column
        self.next_episode = num_envs
        self.episode_length = np.zeros(num_envs, dtype=np.int64)  # rows written per episode id

    def __len__(self) -> int:
        return self.size * self.num_envs

    # ----------------------------------------------------------------- writing
    def _allocate(self, row: dict[str, np.ndarray]) -> None:
        self.data = {key: np.zeros((self.rows, self.num_envs, *value.shape[1:]), dtype=value.dtype)
                     for key, value in row.items()}
        self.data["episode"] = np.full((self.rows, self.num_envs), -1, dtype=np.int64)
        self.data["step"] = np.zeros((self.rows, self.num_envs), dtype=np.int64)
        self.data["demo"] = np.zeros((self.rows, self.num_envs), dtype=bool)

    def add(self, obs: dict[str, np.ndarray], actions: np.ndarray, rewards: np.ndarray,
            next_obs: dict[str, np.ndarray], terminated: np.ndarray, columns: slice = slice(None),
            demo: bool = False, repeats: float | np.ndarray = 1.0) -> None:
        """One step of the envs in ``columns`` (all E by default): arrays ``[E, ...]``; ``demo``: a
        demonstrator's; ``repeats``: env steps the action was held for (its reward sums them)."""
        row = {**{f"obs/{k}": v for k, v in obs.items()}, **{f"next/{k}": v for k, v in next_obs.items()},
               "action": np.asarray(actions, np.float32), "reward": np.asarray(rewards, np.float32),
               "terminated": np.asarray(terminated, np.float32),
               "repeats": np.broadcast_to(np.asarray(repeats, np.float32), np.shape(rewards))}
        if not self.data:
            self._allocate({k: np.asarray(v)[:1] for k, v in row.items()})
        for key, value in row.items():
            self.data[key][self.pos, columns] = value
        self.data["episode"][self.pos] = -1
        self.data["demo"][self.pos] = False
        self.data["demo"][self.pos, columns] = demo
        episodes = self.episode_of_env[columns]
        self.data["episode"][self.pos, columns] = episodes
        self.data["step"][self.pos, columns] = self.episode_length[episodes]
        self.episode_length[episodes] += 1
        self.pos = (self.pos + 1) % self.rows
        self.size = min(self.size + 1, self.rows)

    def end_episodes(self, mask: np.ndarray | None = None) -> None:
        """The columns where ``mask[E]`` is True (all if ``None``) start new episodes."""
        columns = np.arange(self.num_envs) if mask is None else np.flatnonzero(mask)
        fresh = np.arange(self.next_episode, self.next_episode + len(columns))
        self.episode_of_env[columns] = fresh
        self.next_episode += len(columns)
        self.episode_length = np.concatenate([self.episode_length, np.zeros(len(columns), dtype=np.int64)])

    def add_episode(self, obs: dict[str, np.ndarray], actions: np.ndarray, rewards: np.ndarray,
                    terminated: np.ndarray, demo: bool = True, repeats: np.ndarray | None = None) -> None:
        """A whole recorded episode (``obs`` rows T+1, the rest T, ``repeats`` [T] or 1) into column 0."""
        self.end_episodes(np.arange(self.num_envs) == 0)
        repeats = np.ones(len(actions), np.float32) if repeats is None else repeats
        for t in range(len(actions)):
            self.add({k: v[t:t + 1] for k, v in obs.items()}, actions[t:t + 1], rewards[t:t + 1],
                     {k: v[t + 1:t + 2] for k, v in obs.items()}, terminated[t:t + 1], columns=slice(0, 1),
                     demo=demo, repeats=repeats[t:t + 1])
        self.end_episodes(np.arange(self.num_envs) == 0)

    # ----------------------------------------------------------------- sampling
    def _valid(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Start rows whose H steps are written, in order, in one episode."""
        last = (rows + self.horizon - 1) % self.rows
        ahead = (self.pos - rows - 1) % self.rows if self.size == self.rows else self.pos - rows - 1
        episode = self.data["episode"]
        return (ahead >= self.horizon - 1) & (episode[rows, cols] >= 0) & (episode[rows, cols] == episode[last, cols])

    def _starts(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Valid start (row, column) pairs: ``demo_ratio`` of them demonstration steps while any are held."""
        demos = np.flatnonzero(self.data["demo"][:self.size]) if self.demo_ratio else np.empty(0, np.int64)
        count = int(round(self.demo_ratio * batch_size)) if len(demos) else 0
        demo_rows, demo_cols = self._draw(count, lambda n: np.divmod(self.rng.choice(demos, n), self.num_envs))
        rows, cols = self._draw(batch_size - count, lambda n: (self.rng.integers(0, self.size, n),
                                                               self.rng.integers(0, self.num_envs, n)))
        return np.concatenate([demo_rows, rows]), np.concatenate([demo_cols, cols])

    def _draw(self, count: int, propose: Callable[[int], tuple[np.ndarray, np.ndarray]]
              ) -> tuple[np.ndarray, np.ndarray]:
        """``count`` valid starts out of batches of proposals ``propose(n) -> (rows [n], cols [n])``."""
        rows, cols = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        for _ in range(100):
            if len(rows) >= count:
                return rows[:count], cols[:count]
            r, c = propose(2 * count)
            keep = self._valid(r, c)
            rows, cols = np.concatenate([rows, r[keep]]), np.concatenate([cols, c[keep]])
        raise RuntimeError(f"replay holds too few {self.horizon}-step sub-sequences ({len(self)} transitions)")

    def _hindsight(self, rows: np.ndarray, cols: np.ndarray, steps: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Relabelled goals ``[B, G]``, rewards ``[H, B]`` (rows not relabelled keep theirs), relabelled ``[B]``."""
        goal = self.data["obs/goal"][rows, cols].copy()
        rewards = self.data["reward"][steps, cols[None]].copy()
        relabel = self.rng.random(len(rows)) < self.her_ratio
        chosen = np.flatnonzero(relabel)
        if self.compute_reward is None or not len(chosen):
            return goal, rewards, np.zeros(len(rows), dtype=bool)
        episodes = self.data["episode"][rows[chosen], cols[chosen]]
        first = self.data["step"][rows[chosen], cols[chosen]]
        remaining = self.episode_length[episodes] - first - self.horizon  # later steps to pick from, >= 0
        offset = self.horizon - 1 + np.floor(self.rng.random(len(chosen)) * (remaining + 1)).astype(np.int64)
        goal[chosen] = self.data["next/achieved"][(rows[chosen] + offset) % self.rows, cols[chosen]]
        achieved = self.data["next/achieved"][steps[:, chosen], cols[None, chosen]]  # [H, b, G]
        desired = np.broadcast_to(goal[chosen][None], achieved.shape)
        relabelled = self.compute_reward(achieved.reshape(-1, achieved.shape[-1]),
                                         desired.reshape(-1, desired.shape[-1]), {})
        relabelled = np.asarray(relabelled, dtype=np.float32).reshape(self.horizon, len(chosen))
        rewards[:, chosen] = relabelled * self.data["repeats"][steps[:, chosen], cols[None, chosen]]
        return goal, rewards, relabel

    def sample(self, batch_size: int, device: torch.device) -> SequenceBatch:
        """B sub-sequences (see :class:`SequenceBatch`)."""
        rows, cols = self._starts(batch_size)
        steps = (rows[None] + np.arange(self.horizon)[:, None]) % self.rows  # [H, B]
        names = [k[4:] for k in self.data if k.startswith("obs/") and k[4:] not in ("goal", "achieved")]
        obs = {n: np.concatenate([self.data[f"obs/{n}"][rows, cols][None], self.data[f"next/{n}"][steps, cols[None]]])
               for n in names}
        if "obs/goal" in self.data:
            goal, rewards, relabelled = self._hindsight(rows, cols, steps)
        else:
            goal, relabelled = np.zeros((batch_size, 0), np.float32), np.zeros(batch_size, dtype=bool)
            rewards = self.data["reward"][steps, cols[None]]
        cloned = self.data["demo"][steps, cols[None]]
        demo = (cloned if self.clone_relabelled else cloned & ~relabelled[None]).astype(np.float32)
        def put(x: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(np.ascontiguousarray(x), device=device)
        achieved = (put(np.concatenate([self.data["obs/achieved"][rows, cols][None],
                                        self.data["next/achieved"][steps, cols[None]]]))
                    if "obs/achieved" in self.data else None)
        return SequenceBatch({n: put(v) for n, v in obs.items()}, put(self.data["action"][steps, cols[None]]),
                             put(rewards), put(self.data["terminated"][steps, cols[None]]), put(goal), put(demo),
                             achieved)

    # ----------------------------------------------------------------- persistence
    def state_dict(self) -> dict[str, Any]:
        """Filled rows and counters as tensors and plain data (``torch.load(weights_only=True)``)."""
        filled = self.rows if self.size == self.rows else self.pos
        return {"data": {k: to_tensors(v[:filled]) for k, v in self.data.items()}, "pos": self.pos,
                "size": self.size, "episode_of_env": to_tensors(self.episode_of_env),
                "next_episode": self.next_episode, "episode_length": to_tensors(self.episode_length),
                "rng": json.dumps(self.rng.bit_generator.state)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`state_dict` into a buffer of the same capacity and columns."""
        saved = to_numpy(state["data"])
        if saved:
            self._allocate({k: v[0] for k, v in saved.items() if k not in ("episode", "step", "demo")})
            for key, value in saved.items():
                self.data[key][:len(value)] = value
            if "repeats" not in saved:  # saved before action repeat: one env step per row
                self.data["repeats"] = np.ones((self.rows, self.num_envs), np.float32)
        self.pos, self.size, self.next_episode = int(state["pos"]), int(state["size"]), int(state["next_episode"])
        self.episode_of_env = to_numpy(state["episode_of_env"]).copy()
        self.episode_length = to_numpy(state["episode_length"]).copy()
        self.rng.bit_generator.state = json.loads(state["rng"])
