"""Multi-input fusion: encode each image of a dict observation and concatenate with vectors.

The usual visuomotor input is a camera image plus proprioception (joint angles, gripper width):
``DictEncoder`` runs one image encoder per image key, flattens every vector key, and concatenates
them in sorted key order into ``[B, features_dim]``. It knows nothing of SB3 or of our envs.
"""
from __future__ import annotations

import torch
from torch import nn


class DictEncoder(nn.Module):
    """``{key: [B, C, H, W] image | [B, ...] vector}`` -> ``[B, D]``.

    Args:
        image_encoders: one encoder per image key, each with a ``features_dim`` attribute.
        vector_sizes: number of values per sample of each vector key (flattened).
    """

    def __init__(self, image_encoders: dict[str, nn.Module], vector_sizes: dict[str, int]) -> None:
        super().__init__()
        overlap = set(image_encoders) & set(vector_sizes)
        if overlap:
            raise ValueError(f"keys {sorted(overlap)} are given both as images and as vectors")
        if not image_encoders and not vector_sizes:
            raise ValueError("DictEncoder needs at least one image or vector key")
        self.image_encoders = nn.ModuleDict(image_encoders)
        self.vector_sizes = dict(vector_sizes)
        self.keys = sorted([*image_encoders, *vector_sizes])
        self.features_dim = sum(e.features_dim for e in image_encoders.values()) + sum(vector_sizes.values())

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        """Encode and concatenate in sorted key order; extra keys in ``observations`` are ignored."""
        missing = [k for k in self.keys if k not in observations]
        if missing:
            raise KeyError(f"observation lacks keys {missing}; it has {sorted(observations)}")
        parts = []
        for key in self.keys:
            if key in self.image_encoders:
                parts.append(self.image_encoders[key](observations[key]))
            else:
                parts.append(observations[key].flatten(1).float())
        return torch.cat(parts, dim=1)
