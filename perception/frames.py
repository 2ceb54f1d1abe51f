"""Frames collected from any gymnasium env, kept uint8, for self-supervised training and probes.

``collect_frames`` steps an env with a policy (random actions by default) and records
``(frame, action, next frame)`` triples, plus optional per-frame labels (true positions, for the
linear probe). ``FrameDataset`` stores them as uint8 tensors and saves to ``.npz`` (no pickle).
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

from perception.ssl import FrameBatch


@dataclass
class FrameDataset:
    """Transitions between frames.

    Attributes:
        frames: ``[N, C, H, W]`` uint8.
        next_frames: ``[N, C, H, W]`` uint8.
        actions: ``[N, A]`` float32.
        labels: ``[N, L]`` float32 targets for probes (empty ``[N, 0]`` when none were recorded).
    """

    frames: torch.Tensor
    next_frames: torch.Tensor
    actions: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.frames)

    def sample(self, batch_size: int, generator: torch.Generator | None = None, device="cpu") -> FrameBatch:
        """A random batch (with replacement), moved to ``device``; frames stay uint8."""
        idx = torch.randint(len(self), (batch_size,), generator=generator)
        return FrameBatch(
            self.frames[idx].to(device), self.next_frames[idx].to(device), self.actions[idx].to(device)
        )

    def split(self, fraction: float) -> tuple[FrameDataset, FrameDataset]:
        """First ``fraction`` of the transitions and the rest (in collection order, so episodes
        near the cut are the only ones shared)."""
        cut = int(round(fraction * len(self)))
        parts = [FrameDataset(*(t[sl] for t in self._tensors())) for sl in (slice(0, cut), slice(cut, None))]
        return parts[0], parts[1]

    def _tensors(self) -> tuple[torch.Tensor, ...]:
        return self.frames, self.next_frames, self.actions, self.labels

    def save(self, path: str | os.PathLike) -> None:
        names = ("frames", "next_frames", "actions", "labels")
        np.savez_compressed(path, **{n: t.numpy() for n, t in zip(names, self._tensors(), strict=True)})

    @classmethod
    def load(cls, path: str | os.PathLike) -> FrameDataset:
        with np.load(path, allow_pickle=False) as data:
            return cls(*(torch.from_numpy(data[n]) for n in ("frames", "next_frames", "actions", "labels")))


def image_of(observation, image_key: str | None) -> np.ndarray:
    """The ``[H, W, C]`` uint8 image in an observation (a plain array, or ``observation[image_key]``)."""
    image = observation if image_key is None else observation[image_key]
    image = np.asarray(image)
    if image.ndim != 3 or image.dtype != np.uint8:
        raise ValueError(
            f"expected an [H, W, C] uint8 image (key {image_key!r}), got shape {image.shape} dtype {image.dtype}"
        )
    return image


def collect_frames(
    env: gym.Env,
    steps: int,
    image_key: str | None = None,
    policy: Callable[[object], np.ndarray] | None = None,
    labels: Callable[[gym.Env], np.ndarray] | None = None,
    seed: int = 0,
    on_step: Callable[[int], None] | None = None,
) -> FrameDataset:
    """Step ``env`` for ``steps`` transitions and keep the frames (``on_step(n)`` after each: progress).

    Args:
        env: any gymnasium env with an image observation (channels last, uint8).
        steps: number of transitions to record.
        image_key: the image's key when observations are dicts.
        policy: observation -> action; ``None`` samples the action space (seeded).
        labels: env -> ``[L]`` values recorded for each frame (e.g. true object positions).
        seed: seeds the env's first reset and the random actions.
    """
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    frames, next_frames, actions, targets = [], [], [], []
    for step in range(steps):
        action = env.action_space.sample() if policy is None else policy(obs)
        if labels is not None:
            targets.append(np.asarray(labels(env), np.float32))
        next_obs, _, terminated, truncated, _ = env.step(action)
        frames.append(image_of(obs, image_key))
        next_frames.append(image_of(next_obs, image_key))
        actions.append(np.asarray(action, np.float32).reshape(-1))
        obs = env.reset()[0] if terminated or truncated else next_obs
        if on_step is not None:
            on_step(step + 1)
    as_chw = lambda images: torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()  # noqa: E731
    label_array = np.stack(targets) if targets else np.zeros((steps, 0), np.float32)
    return FrameDataset(as_chw(frames), as_chw(next_frames), torch.from_numpy(np.stack(actions)),
                        torch.from_numpy(label_array))  # fmt: skip
