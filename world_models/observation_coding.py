"""Any gymnasium observation as the tensors a latent model encodes: vectors, images and a goal.

Latent agents must run on envs nobody here wrote, so :class:`ObservationCoding` reads the space
once and says how each observation splits:

- ``vector`` ``[B, V]`` float32: every non-image ``Box`` (flattened and concatenated in key order);
- ``image:<key>`` ``[B, C, H, W]`` uint8: every 3-d ``uint8`` ``Box``; ``[H, W, C]`` spaces (PyBullet,
  gymnasium's convention) are transposed here, ``[C, H, W]`` ones (batched worlds) pass through;
- ``goal`` ``[B, G]`` and ``achieved`` ``[B, G]``: a goal dict's ``desired_goal`` and
  ``achieved_goal``. The goal stays outside the latent (it does not evolve; hindsight relabelling
  swaps it freely), while the achieved goal is also part of ``vector``;
- ``privileged`` ``[B, P]`` float32: the dict entries named ``privileged`` (e.g. a simulator's
  ``state`` beside its camera image). They are never model inputs: :meth:`ObservationCoding.numpy`
  returns them only when asked (the replay, for training targets), so acting reads pixels alone.

Example:
    >>> import numpy as np
    >>> from gymnasium import spaces
    >>> space = spaces.Dict({"observation": spaces.Box(-1, 1, (4,)), "achieved_goal": spaces.Box(-1, 1, (3,)),
    ...                      "desired_goal": spaces.Box(-1, 1, (3,))})
    >>> coding = ObservationCoding(space)
    >>> coding.vector_dim, coding.goal_dim
    (7, 3)
    >>> sorted(coding.numpy(space.sample()).keys())
    ['achieved', 'goal', 'vector']
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from world_models.spaces import is_goal_space

IMAGE_PREFIX = "image:"
MAX_CHANNELS = 12
"""Largest channel count read as an image's channel axis (RGB-D is 4; a few stacked RGB frames fit)."""


def image_layout(space: spaces.Box) -> str:
    """``"hwc"`` or ``"chw"`` for a 3-d ``uint8`` image space; a clear error when neither fits."""
    shape = space.shape
    if len(shape) != 3:
        raise ValueError(f"an image space must be [H, W, C] or [C, H, W], got shape {shape}")
    if shape[-1] <= MAX_CHANNELS < min(shape[:2]):
        return "hwc"
    if shape[0] <= MAX_CHANNELS < min(shape[1:]):
        return "chw"
    raise ValueError(f"image shape {shape} has no channel axis of at most {MAX_CHANNELS} beside two larger "
                     "spatial axes; valid: [H, W, C] or [C, H, W] with H, W > 12 (resize tiny images first)")


def is_image_space(space: spaces.Space) -> bool:
    """A 3-d ``uint8`` ``Box``: what cameras give."""
    return isinstance(space, spaces.Box) and space.dtype == np.uint8 and len(space.shape) == 3


class ObservationCoding:
    """How observations of ``space`` split into ``vector``, ``image:<key>``, ``goal`` and ``achieved`` arrays.

    Args:
        space: A ``Box`` (vector or image) or a flat ``Dict`` of ``Box`` entries (a goal dict
            with ``observation``/``achieved_goal``/``desired_goal``, or images beside proprioception).
        privileged: Vector entries of a ``Dict`` space kept out of the model's inputs, coded as
            ``privileged`` for training targets only (state the real robot will not have).
    """

    def __init__(self, space: spaces.Space, privileged: Sequence[str] = ()) -> None:
        self.space = space
        self.is_goal = is_goal_space(space)
        entries = self._entries(space)
        self.privileged_keys = _check_privileged(space, entries, privileged)
        entries = [(key, sub) for key, sub in entries if key not in self.privileged_keys]
        self.image_keys = [key for key, sub in entries if is_image_space(sub)]
        self.vector_keys = [key for key, sub in entries if not is_image_space(sub) and key != "desired_goal"]
        self.layouts = {key: image_layout(sub) for key, sub in entries if key in self.image_keys}
        self.image_shapes = {key: _chw(sub.shape, self.layouts[key]) for key, sub in entries if key in self.image_keys}
        subspaces = dict(entries)
        self.vector_dim = sum(int(np.prod(subspaces[k].shape)) for k in self.vector_keys)
        self.goal_dim = int(np.prod(space["desired_goal"].shape)) if self.is_goal else 0
        self.privileged_dim = sum(int(np.prod(space[k].shape)) for k in self.privileged_keys)
        if not self.image_keys and not self.vector_dim:
            raise ValueError(f"observation space {space} has nothing to encode")

    @staticmethod
    def _entries(space: spaces.Space) -> list[tuple[str, spaces.Box]]:
        subspaces = space.spaces if isinstance(space, spaces.Dict) else {"": space}
        for key, sub in subspaces.items():
            if not isinstance(sub, spaces.Box):
                raise TypeError(f"observation entry {key or 'space'!r} is {sub}; latent agents read Box entries "
                                "(vectors, or uint8 images [H, W, C] / [C, H, W]), alone or in a flat Dict")
        return sorted(subspaces.items())

    def _get(self, obs: Any, key: str) -> np.ndarray:
        return np.asarray(obs[key] if key else obs)

    def batch_shape(self, obs: Any) -> tuple[int, ...]:
        """Leading batch dimensions of ``obs`` (``()`` for a single observation)."""
        key = (self.image_keys + self.vector_keys)[0]  # an entry every observation has (not a privileged one)
        sub = self.space_of(key)
        array = self._get(obs, key)
        return array.shape[: array.ndim - len(sub.shape)]

    def numpy(self, obs: Any, privileged: bool = False) -> dict[str, np.ndarray]:
        """``obs`` (one, or a batch with leading dims) -> flat-batch arrays ``{name: [B, ...]}``.

        ``privileged``: also return the privileged entries (training targets; acting never asks).
        """
        batch = int(np.prod(self.batch_shape(obs), dtype=int))
        out: dict[str, np.ndarray] = {}
        if self.vector_keys:
            parts = [self._get(obs, k).reshape(batch, -1).astype(np.float32) for k in self.vector_keys]
            out["vector"] = np.concatenate(parts, axis=1)
        for key in self.image_keys:
            image = self._get(obs, key).reshape(batch, *self.space_of(key).shape)
            out[IMAGE_PREFIX + key] = image.transpose(0, 3, 1, 2) if self.layouts[key] == "hwc" else image
        if self.is_goal:
            out["goal"] = self._get(obs, "desired_goal").reshape(batch, -1).astype(np.float32)
            out["achieved"] = self._get(obs, "achieved_goal").reshape(batch, -1).astype(np.float32)
        if privileged and self.privileged_keys:
            parts = [self._get(obs, k).reshape(batch, -1).astype(np.float32) for k in self.privileged_keys]
            out["privileged"] = np.concatenate(parts, axis=1)
        return out

    def from_tensors(self, obs: torch.Tensor | dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """:meth:`numpy` for a batch of tensors ``[B, ...]`` (traceable: used by exported policies).

        Images may arrive as any dtype holding 0-255 values; they leave as float in [0, 1].
        """
        out: dict[str, torch.Tensor] = {}
        if self.vector_keys:
            out["vector"] = torch.cat([(obs[k] if k else obs).flatten(1).float() for k in self.vector_keys], dim=1)
        for key in self.image_keys:
            image = (obs[key] if key else obs).float() / 255.0
            out[IMAGE_PREFIX + key] = image.permute(0, 3, 1, 2) if self.layouts[key] == "hwc" else image
        if self.is_goal:
            out["goal"] = obs["desired_goal"].flatten(1).float()
        return out

    def space_of(self, key: str) -> spaces.Box:
        return self.space[key] if key else self.space

    def tensors(self, obs: Any, device: torch.device) -> dict[str, torch.Tensor]:
        """:meth:`numpy` as tensors on ``device`` (images stay uint8 until the network)."""
        return {name: torch.as_tensor(np.ascontiguousarray(array), device=device)
                for name, array in self.numpy(obs).items()}


def _check_privileged(space: spaces.Space, entries: list[tuple[str, spaces.Box]],
                      privileged: Sequence[str]) -> list[str]:
    """The privileged keys, sorted, after checking each names a vector entry that is not a goal."""
    if isinstance(privileged, str):
        privileged = [privileged]
    if privileged and not isinstance(space, spaces.Dict):
        raise ValueError(f"privileged entries {list(privileged)} need a Dict observation space (e.g. obs_mode "
                         f"'rgb+state'); this one is {space}")
    valid = sorted(key for key, sub in entries
                   if not is_image_space(sub) and key not in ("desired_goal", "achieved_goal"))
    for key in privileged:
        if key not in valid:
            raise ValueError(f"privileged entry {key!r} is not a vector entry of the observation; valid: {valid} "
                             "(images and goals are model inputs)")
    return sorted(privileged)


def _chw(shape: tuple[int, ...], layout: str) -> tuple[int, int, int]:
    return (shape[2], shape[0], shape[1]) if layout == "hwc" else (shape[0], shape[1], shape[2])
