"""Distillation: a small policy network trained on a planner's actions (DAgger-style relabelling).

Planning costs tens of milliseconds per action; a distilled MLP acts in microseconds, so a
planner-quality policy can run at a robot's control rate. Round 0 lets the teacher drive; later
rounds let the student drive (the teacher still labels every visited observation), so the student
learns to recover from its own mistakes (DAgger, Ross et al. 2011).

Example:
    >>> import gymnasium as gym
    >>> env = gym.make("Pendulum-v1", max_episode_steps=20)
    >>> teacher = lambda obs: -obs[..., 2:3].clip(-2, 2)          # damp the swing
    >>> student, report = distill(env, teacher, DistillConfig(rounds=2, episodes_per_round=1, epochs=5))
    >>> student.predict(env.reset(seed=0)[0])[0].shape, len(report.dataset_sizes)
    ((1,), 2)
"""
from __future__ import annotations

import os
import pathlib
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from agents.checkpoints import atomic_save
from agents.checkpoints import load as load_checkpoint
from world_models.rollouts import EpisodeStats, run_episodes
from world_models.spaces import space_from_json, space_to_json

Teacher = Callable[[Any], np.ndarray]
"""``observation -> action`` of the expert (e.g. ``lambda o: planning_agent.predict(o)[0]``)."""
STUDENT_FORMAT = "foresight.distilled_policy/1"


@dataclass(frozen=True)
class DistillConfig:
    """How to distil a teacher into a student network."""

    hidden_sizes: tuple[int, ...] = (256, 256)
    rounds: int = 4
    """Round 0: teacher drives; rounds >= 1: student drives, teacher labels (DAgger)."""
    episodes_per_round: int = 5
    teacher_mix: float = 0.0
    """Chance that the teacher, not the student, acts in a DAgger round (beta)."""
    epochs: int = 30
    """Passes over all labelled data after each round."""
    batch_size: int = 256
    learning_rate: float = 1e-3
    seed: int = 0


def observation_vector(obs: Any, space: gym.Space) -> np.ndarray:
    """Flat float32 features ``[..., D]`` of an observation or batch; dict keys in the space's order."""
    if isinstance(space, gym.spaces.Dict):
        parts = [observation_vector(obs[k], s) for k, s in space.spaces.items()]
        return np.concatenate(parts, axis=-1)
    array = np.asarray(obs, dtype=np.float32)
    batch = array.shape[: array.ndim - len(space.shape)]
    return array.reshape(*batch, -1)


class DistilledPolicy(nn.Module):
    """MLP ``features[B, D] -> action[B, A]`` squashed into the action bounds (a plain, exportable module).

    Args:
        observation_space: Box or Dict space (flattened by :func:`observation_vector`).
        action_space: Box action space.
        hidden_sizes: Units per hidden layer.
    """

    def __init__(self, observation_space: gym.Space, action_space: gym.spaces.Box,
                 hidden_sizes: tuple[int, ...] = (256, 256)) -> None:
        super().__init__()
        self.observation_space, self.action_space = observation_space, action_space
        self.hidden_sizes = tuple(hidden_sizes)
        sizes = [observation_vector(observation_space.sample(), observation_space).shape[-1], *hidden_sizes]
        layers: list[nn.Module] = []
        for inputs, outputs in pairwise(sizes):
            layers += [nn.Linear(inputs, outputs), nn.ReLU()]
        self.net = nn.Sequential(*layers, nn.Linear(sizes[-1], int(np.prod(action_space.shape))))
        self.register_buffer("low", torch.as_tensor(action_space.low, dtype=torch.float32).reshape(-1))
        self.register_buffer("high", torch.as_tensor(action_space.high, dtype=torch.float32).reshape(-1))
        self.register_buffer("obs_mean", torch.zeros(sizes[0]))
        self.register_buffer("obs_std", torch.ones(sizes[0]))

    def forward(self, features: torch.Tensor | dict[str, torch.Tensor]) -> torch.Tensor:
        """Actions ``[B, A]`` of flat features ``[B, D]``, or of a dict observation batch (as an
        exported policy receives it: one tensor per key, flattened in the space's key order)."""
        if isinstance(features, dict):
            features = torch.cat([features[k].reshape(features[k].shape[0], -1).float()
                                  for k in self.observation_space.spaces], dim=-1)
        unit = torch.tanh(self.net((features - self.obs_mean) / self.obs_std))
        return self.low + (unit + 1) * (self.high - self.low) / 2

    @torch.no_grad()
    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = True) -> tuple[np.ndarray, None]:
        """SB3-style ``predict`` on one observation (``[A]``) or a batch (``[E, A]``)."""
        features = observation_vector(observation, self.observation_space)
        actions = self(torch.as_tensor(features, device=self.low.device)).cpu().numpy()
        return actions.reshape(*features.shape[:-1], *self.action_space.shape), None

    def save(self, path: str | os.PathLike) -> None:
        """Weights and spaces in one file for ``torch.load(weights_only=True)``, written atomically."""
        atomic_save({"format": STUDENT_FORMAT, "state_dict": self.state_dict(),
                     "observation_space": space_to_json(self.observation_space),
                     "action_space": space_to_json(self.action_space),
                     "hidden_sizes": list(self.hidden_sizes)}, pathlib.Path(path))

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | torch.device = "cpu") -> DistilledPolicy:
        checkpoint = load_checkpoint(pathlib.Path(path))  # digest checked, no code run
        if checkpoint.get("format") != STUDENT_FORMAT:
            raise ValueError(f"{path} is not a distilled policy (format {checkpoint.get('format')!r}, "
                             f"expected {STUDENT_FORMAT!r})")
        policy = cls(space_from_json(checkpoint["observation_space"]), space_from_json(checkpoint["action_space"]),
                     tuple(checkpoint["hidden_sizes"]))
        policy.load_state_dict(checkpoint["state_dict"])
        return policy.to(device)


class DistillReport(NamedTuple):
    """Per round: labelled transitions so far, the driving policy's episodes, the final imitation loss."""

    dataset_sizes: list[int]
    episodes: list[EpisodeStats]
    losses: list[float]


def distill(env: gym.Env, teacher: Teacher, config: DistillConfig = DistillConfig(),
            on_reset: Callable[[], None] | None = None) -> tuple[DistilledPolicy, DistillReport]:
    """Train a :class:`DistilledPolicy` to imitate ``teacher`` in ``env`` with DAgger relabelling.

    Args:
        env: The env to collect observations in.
        teacher: Expert ``obs -> action``; it labels every visited observation.
        config: Rounds, episodes and network sizes.
        on_reset: Called at each episode start (e.g. a planning teacher's ``planner.reset``).
    """
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    student = DistilledPolicy(env.observation_space, env.action_space, config.hidden_sizes)
    optimiser = torch.optim.Adam(student.parameters(), lr=config.learning_rate)
    features, labels, report = [], [], DistillReport([], [], [])
    for round_index in range(config.rounds):
        teacher_drives = round_index == 0

        def policy(obs: Any) -> np.ndarray:
            label = np.asarray(teacher(obs), dtype=np.float32)
            features.append(observation_vector(obs, env.observation_space))
            labels.append(label.reshape(-1))
            if teacher_drives or rng.random() < config.teacher_mix:  # noqa: B023 - called within this round only
                return label
            return student.predict(obs)[0]

        seed = config.seed + round_index * config.episodes_per_round
        report.episodes.append(run_episodes(env, policy, config.episodes_per_round, seed, on_reset=on_reset))
        report.dataset_sizes.append(len(features))
        report.losses.append(_fit_student(student, optimiser, np.stack(features), np.stack(labels), config, rng))
    return student.eval(), report


def _fit_student(student: DistilledPolicy, optimiser: torch.optim.Optimizer, features: np.ndarray,
                 labels: np.ndarray, config: DistillConfig, rng: np.random.Generator) -> float:
    """Regress the student onto all labels so far (MSE in action units); returns the last epoch's loss."""
    x, y = torch.as_tensor(features), torch.as_tensor(labels)
    student.obs_mean.copy_(x.mean(0))
    student.obs_std.copy_(x.std(0).clamp_min(1e-6) if len(x) > 1 else torch.ones_like(student.obs_std))
    student.train()
    loss_value = float("nan")
    for _ in range(config.epochs):
        order, total = torch.as_tensor(rng.permutation(len(x))), 0.0
        for start in range(0, len(x), config.batch_size):
            rows = order[start:start + config.batch_size]
            loss = ((student(x[rows]) - y[rows]) ** 2).mean()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(rows)
        loss_value = total / len(x)
    student.eval()
    return loss_value
