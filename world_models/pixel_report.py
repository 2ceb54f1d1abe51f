"""Fit the latent pixel model on image episodes and report it against copying the last frame.

Used by ``scripts/fit_world_model.py`` when the dataset's observations are images (or a dict with
an image entry). The report gives open-loop frame MSE after k imagined steps for the model and for
"copy the last seen frame", and a PNG strip of real (top) vs predicted (bottom) frames.
"""
from __future__ import annotations

import copy
import dataclasses
import pathlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from perception.augment import to_float
from perception.encoders import make_encoder
from world_models.data import Episode
from world_models.latent import (
    LATENT_FORMAT,
    LatentConfig,
    LatentDynamics,
    Sequences,
    frame_strip,
    latent_update,
    sequences_from_episodes,
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


def episode_sequences(episodes: list[Episode], key: str | None, length: int, stride: int | None = None) -> Sequences:
    """Sequences of ``length`` frames from stored episodes, one every ``stride`` frames (default: ``length``)."""
    frames = [channels_first(e.observations if key is None else e.observations[key]) for e in episodes]
    actions = [torch.as_tensor(e.actions, dtype=torch.float32).reshape(len(e), -1) for e in episodes]
    rewards = [torch.as_tensor(e.rewards, dtype=torch.float32) for e in episodes]
    return sequences_from_episodes(frames, actions, rewards, length, stride)


@dataclass(frozen=True)
class PixelFitConfig:
    """How ``scripts/fit_world_model.py`` fits the latent pixel model.

    The defaults take about a minute of CPU (one thread) for 10 episodes of 64x64 PandaReach
    frames, and there beat copying the last frame at every k (``docs/benchmarks.md``): a small
    RSSM drawing over the last real frame, trained open loop, kept at its best held-out error.
    """

    steps: int = 300
    """Gradient updates at most."""
    batch_size: int = 8
    """Sequences per update (each ``seq_len`` frames: the frames per update set the cost)."""
    seq_len: int = 12
    """Frames per training sequence."""
    stride: int = 3
    """A training sequence starts every this many frames (overlapping windows: more sequences from few episodes)."""
    test_len: int = 16
    """Frames per held-out sequence: ``context`` filtered, the rest imagined and reported."""
    context: int = 5
    """Real frames filtered before imagining."""
    learning_rate: float = 3e-3
    holdout_fraction: float = 0.25
    """Share of the training episodes that decide which weights to keep (and when to stop)."""
    eval_every: int = 25
    """Updates between held-out evaluations."""
    patience: int = 6
    """Evaluations without a better held-out error before stopping."""
    encoder: str = "nature"
    """perception encoder: ``nature``, ``impala`` or ``keypoints``."""
    features_dim: int = 64
    latent: LatentConfig = LatentConfig(deterministic_size=64, stochastic_size=16, hidden_size=64, decoder_depth=16)
    """Latent sizes (PlaNet's 200/30 take about 5x longer per update on a CPU)."""


def make_pixel_model(frame_shape: tuple[int, int, int], action_dim: int, encoder: str = "nature",
                     features_dim: int = 64, config: LatentConfig = PixelFitConfig.latent) -> LatentDynamics:
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


def _mean_error(model: LatentDynamics, data: Sequences, context: int) -> float:
    errors = frame_errors(model, data, context)["model"]
    return sum(errors.values()) / len(errors)


def fit_latent(model: LatentDynamics, train: Sequences, holdout: Sequences, config: PixelFitConfig, seed: int = 0,
               on_step: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Adam on random minibatches; keep the weights with the best open-loop error on ``holdout``.

    Returns ``steps`` (updates run), ``best_step``, ``holdout_mse`` (mean over k, best) and
    ``final_loss`` (the last updates' mean training loss). ``on_step(n)`` follows each update.
    """
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    best, best_step, best_state = _mean_error(model, holdout, config.context), 0, copy.deepcopy(model.state_dict())
    losses: list[float] = []
    stale = step = 0
    for step in range(1, config.steps + 1):
        losses.append(latent_update(model, optimiser, train, config.batch_size, generator))
        if on_step is not None:
            on_step(step)
        if step % config.eval_every == 0 or step == config.steps:
            error = _mean_error(model, holdout, config.context)
            if error < best:
                best, best_step, best_state, stale = error, step, copy.deepcopy(model.state_dict()), 0
            elif (stale := stale + 1) >= config.patience:
                break
    model.load_state_dict(best_state)
    return {"steps": step, "best_step": best_step, "holdout_mse": best, "final_loss": float(np.mean(losses[-10:]))}


def pixel_datasets(episodes: list[Episode], key: str | None, config: PixelFitConfig, test_fraction: float,
                   seed: int) -> tuple[Sequences, Sequences, Sequences]:
    """(train, holdout, test) sequences, split by episode: test for the report, holdout to pick weights."""
    from world_models.report import split_episodes

    train_episodes, test_episodes = split_episodes(episodes, test_fraction, seed)
    fit_episodes, holdout_episodes = split_episodes(train_episodes, config.holdout_fraction, seed + 1)
    test_len = min(config.test_len, min(len(e) + 1 for e in episodes))  # short episodes: shorter tests
    if test_len <= config.context:
        raise ValueError(f"episodes of {test_len} frames leave nothing to imagine after context={config.context}; "
                         "collect longer episodes or lower --context")
    return (episode_sequences(fit_episodes, key, config.seq_len, config.stride),
            episode_sequences(holdout_episodes, key, test_len), episode_sequences(test_episodes, key, test_len))


def fit_pixel_model(train: Sequences, holdout: Sequences, test: Sequences, model: LatentDynamics,
                    config: PixelFitConfig = PixelFitConfig(), seed: int = 0,
                    on_step: Callable[[int], None] | None = None) -> tuple[dict[str, Any], torch.Tensor]:
    """Fit (:func:`fit_latent`), then report open-loop frame errors vs copy-last on ``test``.

    Returns the report and the first test sequence's strip ``[2H, T W, C]`` uint8 (real frames on
    top, predictions below) for the caller to write: a PNG is an optional output.
    """
    fitted = fit_latent(model, train, holdout, config, seed, on_step)
    errors = frame_errors(model, test, config.context)
    device = next(model.parameters()).device
    predicted = model.predict_frames(test.frames[:1].to(device), test.actions[:1].to(device), config.context).cpu()
    strip = frame_strip(test.frames[0, config.context:], predicted[0])
    beaten = all(errors["model"][k] < errors["copy_last"][k] for k in errors["model"])
    report = {"train_sequences": int(train.frames.shape[0]), "config": dataclasses.asdict(config), **fitted,
              "frame_mse": errors,
              "verdict": "model beats copy-last at every k" if beaten else "model does NOT beat copy-last at every k"}
    return report, strip


def load_pixel_model(path: str | pathlib.Path) -> LatentDynamics:
    """The latent model ``scripts/fit_world_model.py`` saved (weights and plain data only)."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if checkpoint.get("format") != LATENT_FORMAT:
        raise ValueError(f"{path} is not a latent pixel model (format {checkpoint.get('format')!r}, "
                         f"expected {LATENT_FORMAT!r}; fit it again with scripts/fit_world_model.py)")
    model = make_pixel_model(tuple(checkpoint["frame_shape"]), checkpoint["action_dim"], checkpoint["encoder"],
                             checkpoint["features_dim"], LatentConfig(**checkpoint["latent_config"]))
    model.load_state_dict(checkpoint["model"])
    return model.eval()


def write_png(image: torch.Tensor, path: str | pathlib.Path) -> None:
    """Write a ``[H, W, C]`` uint8 image (C = 1 or 3)."""
    import imageio.v3 as iio
    array = image.numpy()
    iio.imwrite(path, array[..., 0] if array.shape[-1] == 1 else array)
