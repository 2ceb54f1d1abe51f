"""Input checks shared by perception modules, so bad shapes fail with a clear message."""
from __future__ import annotations

import torch


def check_images(images: torch.Tensor, channels: int | None = None) -> None:
    """Raise if ``images`` is not a ``[B, C, H, W]`` batch (with ``channels`` channels if given)."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a torch.Tensor [B, C, H, W], got {type(images).__name__}")
    if images.dim() != 4:
        raise ValueError(f"images must be [B, C, H, W], got shape {tuple(images.shape)}")
    if channels is not None and images.shape[1] != channels:
        raise ValueError(
            f"expected {channels} channels (images are [B, C, H, W], channels first), "
            f"got shape {tuple(images.shape)}"
        )
