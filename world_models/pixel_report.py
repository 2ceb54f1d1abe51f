"""Fit the latent pixel model on image episodes and report it against copying the last frame.

Used by ``scripts/fit_world_model.py`` when the dataset's observations are images (or a dict with
an image entry). The report gives open-loop frame MSE after k imagined steps for the model and for
"copy the last seen frame", and a PNG strip of real (top) vs predicted (bottom) frames.
"""
from __future__ import annotations

import pathlib
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from perception.augment import to_float
from perception.encoders import make_encoder
from world_models.data import Episode
from world_models.latent import (
    LatentConfig,
    LatentDynamics,
    Sequences,
    frame_strip,
    sequences_from_episodes,
    train_latent,
)


def image_key(space: spaces.Space) -> str | None:
    """``None`` if ``space`` itself is an image ``Box`` (uint8, 3 dims), else the first image entry of a Dict."""
    if _is_image(space):
        return None
    if isinstance(space, spaces.Dict):
        for key, sub in space.spaces.items():
            if _is_image(sub):
                return key
    raise ValueError(f"no image in observation space {space}; valid: a uint8 [H, W, C] or [C, H, W] Box "
                     "or a Dict holding one")


def has_image(space: spaces.Space) -> bool:
    """Whether ``space`` is an image or a Dict holding one."""
    return _is_image(space) or (isinstance(space, spaces.Dict) and any(_is_image(s) for s in space.spaces.values()))


def _is_image(space: spaces.Space) -> bool:
    return isinstance(space, spaces.Box) and space.dtype == np.uint8 and len(space.shape) == 3


def channels_first(frames: np.ndarray) -> torch.Tensor:
    """``[T, H, W, C]`` or ``[T, C, H, W]`` uint8 -> ``[T, C, H, W]`` (channels are the small axis)."""
    tensor = torch.as_tensor(frames)
    return tensor.permute(0, 3, 1, 2).contiguous() if tensor.shape[-1] <= 4 < tensor.shape[1] else tensor


def episode_sequences(episodes: list[Episode], key: str | None, length: int) -> Sequences:
    """Training sequences of ``length`` frames from stored episodes."""
    frames = [channels_first(e.observations if key is None else e.observations[key]) for e in episodes]
    actions = [torch.as_tensor(e.actions, dtype=torch.float32).reshape(len(e), -1) for e in episodes]
    rewards = [torch.as_tensor(e.rewards, dtype=torch.float32) for e in episodes]
    return sequences_from_episodes(frames, actions, rewards, length)


def make_pixel_model(frame_shape: tuple[int, int, int], action_dim: int, encoder: str = "nature",
                     features_dim: int = 256, config: LatentConfig = LatentConfig()) -> LatentDynamics:
    """A latent model whose encoder is one of ``perception``'s (``nature``, ``impala``, ``keypoints``)."""
    cnn = make_encoder(encoder, frame_shape[0], features_dim, image_size=frame_shape[1:])
    return LatentDynamics(cnn, cnn.features_dim, frame_shape, action_dim, config)


@torch.no_grad()
def frame_errors(model: LatentDynamics, test: Sequences, context: int) -> dict[str, dict[int, float]]:
    """Mean squared frame error (pixels in [0, 1]) k steps after the ``context`` filtered frames."""
    device = next(model.parameters()).device
    predicted = model.predict_frames(test.frames.to(device), test.actions.to(device), context).cpu()
    real = to_float(test.frames[:, context:])
    last = to_float(test.frames[:, context - 1:context])
    steps = range(1, real.shape[1] + 1)
    return {"model": {k: float(((predicted[:, k - 1] - real[:, k - 1]) ** 2).mean()) for k in steps},
            "copy_last": {k: float(((last[:, 0] - real[:, k - 1]) ** 2).mean()) for k in steps}}


def fit_pixel_model(train: Sequences, test: Sequences, model: LatentDynamics, steps: int, context: int,
                    strip_path: str | pathlib.Path, batch_size: int = 16, seed: int = 0) -> dict[str, Any]:
    """Train, then report open-loop frame errors vs copy-last and draw the first test sequence's strip."""
    losses = train_latent(model, train, steps, batch_size=batch_size, seed=seed)
    errors = frame_errors(model, test, context)
    device = next(model.parameters()).device
    predicted = model.predict_frames(test.frames[:1].to(device), test.actions[:1].to(device), context).cpu()
    strip = frame_strip(test.frames[0, context:], predicted[0])
    _write_png(strip, strip_path)
    beaten = all(errors["model"][k] < errors["copy_last"][k] for k in errors["model"])
    return {"train_sequences": int(train.frames.shape[0]), "steps": steps, "final_loss": float(np.mean(losses[-10:])),
            "frame_mse": errors, "strip": str(strip_path),
            "verdict": "model beats copy-last at every k" if beaten else "model does NOT beat copy-last at every k"}


def _write_png(image: torch.Tensor, path: str | pathlib.Path) -> None:
    import imageio.v3 as iio
    array = image.numpy()
    iio.imwrite(path, array[..., 0] if array.shape[-1] == 1 else array)
