"""PNG pictures of what an encoder learned: reconstructions and nearest neighbours."""
from __future__ import annotations

import os
import pathlib

import cv2
import numpy as np
import torch
from torch import nn

from perception.probe import encode_frames


def to_rgb(frames: torch.Tensor) -> np.ndarray:
    """``[N, C, H, W]`` uint8 or float in [0, 1] -> ``[N, H, W, 3]`` uint8 (the last RGB frame of a
    stack; one channel is shown as gray)."""
    frames = frames.detach().cpu()
    if frames.is_floating_point():
        frames = (frames.clamp(0, 1) * 255).round().to(torch.uint8)
    images = frames[:, -3:] if frames.shape[1] >= 3 else frames[:, -1:].repeat(1, 3, 1, 1)
    return images.permute(0, 2, 3, 1).numpy()


def image_grid(rows: list[np.ndarray], gap: int = 2) -> np.ndarray:
    """Rows of ``[N, H, W, 3]`` uint8 images -> one ``[rows*(H+gap), N*(W+gap), 3]`` picture."""
    padded = [np.pad(r, ((0, 0), (0, gap), (0, gap), (0, 0)), constant_values=255) for r in rows]
    return np.concatenate([np.concatenate(list(r), axis=1) for r in padded], axis=0)


def save_png(image: np.ndarray, path: str | os.PathLike) -> pathlib.Path:
    """Write an ``[H, W, 3]`` uint8 RGB image."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write PNG {path}")
    return path


@torch.no_grad()
def reconstruction_png(objective: nn.Module, frames: torch.Tensor, path: str | os.PathLike) -> pathlib.Path:
    """Top row: frames; bottom row: the autoencoder's reconstructions."""
    objective.eval()
    device = next(objective.parameters()).device
    reconstructions = objective.reconstruct(frames.to(device))
    return save_png(image_grid([to_rgb(frames), to_rgb(reconstructions)]), path)


def neighbours_png(
    encoder: nn.Module, frames: torch.Tensor, path: str | os.PathLike, queries: int = 6, k: int = 5
) -> pathlib.Path:
    """Each row: a query frame, then its ``k`` nearest other frames by cosine similarity of features."""
    features = torch.from_numpy(encode_frames(encoder, frames))
    features = torch.nn.functional.normalize(features, dim=1)
    query_idx = torch.linspace(0, len(frames) - 1, queries).long()
    similarity = features[query_idx] @ features.T
    similarity[torch.arange(queries), query_idx] = -2.0  # not itself
    nearest = similarity.topk(k, dim=1).indices
    rows = [to_rgb(frames[torch.cat([q.view(1), n])]) for q, n in zip(query_idx, nearest, strict=True)]
    return save_png(image_grid(rows), path)
