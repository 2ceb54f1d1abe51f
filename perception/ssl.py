"""Self-supervised objectives that train an image encoder without rewards or labels.

Three choices, each an ``nn.Module`` around the encoder with ``loss(batch) -> scalar`` and
``after_step()`` (called after each optimiser step):

* ``"autoencoder"``: reconstruct the frame from the features of an augmented copy (a small
  deconvolution decoder, L2 on the latents as in RAE; Yarats et al. 2019).
* ``"contrastive"``: CURL (Laskin et al. 2020): InfoNCE with a bilinear similarity between the
  features of two random shifts of each frame, keys from a momentum (EMA) copy of the encoder.
* ``"inverse"``: inverse dynamics: predict the action taken between two consecutive frames.

Frames arrive as uint8 ``[B, C, H, W]`` and stay uint8 until the encoder.
"""
from __future__ import annotations

import copy
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from foresight_base.checks import check_choice
from perception.augment import RandomShift, to_float


class FrameBatch(NamedTuple):
    """A batch of transitions between frames.

    Attributes:
        frames: ``[B, C, H, W]`` uint8 observations.
        next_frames: ``[B, C, H, W]`` uint8 observations one step later.
        actions: ``[B, A]`` float actions taken between them.
    """

    frames: torch.Tensor
    next_frames: torch.Tensor
    actions: torch.Tensor


class Decoder(nn.Module):
    """Features ``[B, D]`` -> image ``[B, C, H, W]`` in [0, 1]: linear, three x2 transposed convs, resize."""

    def __init__(self, features_dim: int, out_channels: int, image_size: tuple[int, int], width: int = 32) -> None:
        super().__init__()
        self.image_size = tuple(image_size)
        self.seed_shape = (width, -(-image_size[0] // 8), -(-image_size[1] // 8))
        self.linear = nn.Linear(features_dim, width * self.seed_shape[1] * self.seed_shape[2])
        self.deconv = nn.Sequential(
            nn.ReLU(),
            nn.ConvTranspose2d(width, width, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(width, width, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(width, out_channels, 4, stride=2, padding=1),
        )  # fmt: skip

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = self.deconv(self.linear(features).view(-1, *self.seed_shape))
        return torch.sigmoid(F.interpolate(x, size=self.image_size, mode="bilinear", align_corners=False))


class AutoencoderObjective(nn.Module):
    """Reconstruction of the un-augmented frame from the features of a shifted copy."""

    def __init__(self, encoder: nn.Module, image_size: tuple[int, int], latent_penalty: float = 1e-6) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = Decoder(encoder.features_dim, encoder.in_channels, image_size)
        self.shift = RandomShift(pad=2)
        self.latent_penalty = latent_penalty

    def reconstruct(self, frames: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W]`` uint8 -> float reconstructions in [0, 1]."""
        return self.decoder(self.encoder(frames))

    def loss(self, batch: FrameBatch) -> torch.Tensor:
        features = self.encoder(self.shift(batch.frames))
        error = F.mse_loss(self.decoder(features), to_float(batch.frames).float())
        return error + self.latent_penalty * features.pow(2).sum(dim=1).mean()

    def after_step(self) -> None:
        pass


class ContrastiveObjective(nn.Module):
    """CURL: InfoNCE between a query (encoder) and key (EMA encoder) of two shifts of each frame.

    Args:
        encoder: the encoder being trained.
        momentum: EMA rate of the key encoder (CURL uses 0.95 for the encoder).
        pad: random-shift size in pixels for the two views.
    """

    def __init__(self, encoder: nn.Module, momentum: float = 0.95, pad: int = 4) -> None:
        super().__init__()
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.encoder = encoder
        self.key_encoder = copy.deepcopy(encoder).requires_grad_(False)
        self.bilinear = nn.Parameter(torch.eye(encoder.features_dim))
        self.momentum = momentum
        self.shift = RandomShift(pad=pad)

    def loss(self, batch: FrameBatch) -> torch.Tensor:
        queries = self.encoder(self.shift(batch.frames))  # [B, D]
        with torch.no_grad():
            keys = self.key_encoder(self.shift(batch.frames))  # [B, D]
        logits = queries @ self.bilinear @ keys.T  # [B, B]: positives on the diagonal
        logits = logits - logits.max(dim=1, keepdim=True).values.detach()
        return F.cross_entropy(logits, torch.arange(len(logits), device=logits.device))

    @torch.no_grad()
    def after_step(self) -> None:
        for key, query in zip(self.key_encoder.parameters(), self.encoder.parameters(), strict=True):
            key.lerp_(query, 1.0 - self.momentum)


class InverseDynamicsObjective(nn.Module):
    """Regress the action ``a_t`` from the features of ``o_t`` and ``o_{t+1}`` (continuous actions)."""

    def __init__(self, encoder: nn.Module, action_dim: int, hidden: int = 256) -> None:
        super().__init__()
        if action_dim < 1:
            raise ValueError(f"inverse dynamics needs actions with action_dim >= 1, got {action_dim}")
        self.encoder = encoder
        d = encoder.features_dim
        self.head = nn.Sequential(nn.Linear(2 * d, hidden), nn.ReLU(), nn.Linear(hidden, action_dim))

    def predict(self, frames: torch.Tensor, next_frames: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W]`` x 2 -> ``[B, A]`` predicted actions."""
        both = self.encoder(torch.cat([frames, next_frames]))
        return self.head(torch.cat(both.chunk(2), dim=1))

    def loss(self, batch: FrameBatch) -> torch.Tensor:
        return F.mse_loss(self.predict(batch.frames, batch.next_frames), batch.actions.float())

    def after_step(self) -> None:
        pass


OBJECTIVES = ("autoencoder", "contrastive", "inverse")


def make_objective(name: str, encoder: nn.Module, image_size: tuple[int, int], action_dim: int = 0) -> nn.Module:
    """Wrap ``encoder`` in the objective ``name`` (one of ``OBJECTIVES``)."""
    check_choice("SSL objective", name, OBJECTIVES)
    if name == "autoencoder":
        return AutoencoderObjective(encoder, image_size)
    if name == "contrastive":
        return ContrastiveObjective(encoder)
    return InverseDynamicsObjective(encoder, action_dim)
