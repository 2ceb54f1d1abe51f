"""Batched image augmentation on the training device, for uint8 or float frames.

Each augmentation is an ``nn.Module`` acting on ``[B, C, H, W]`` and drawing an independent random
transform per sample in one vectorised call (no Python loop over the batch). Frames keep their
dtype: uint8 goes in, uint8 comes out, so a pixel replay buffer can stay uint8 until the network.
Randomness comes from an optional ``torch.Generator`` so a seeded run is reproducible.
"""
from __future__ import annotations

import torch
from torch import nn

from foresight_base.checks import check_choice
from perception.checks import check_images

# RGB -> YIQ, the colour space where hue is a rotation of the (I, Q) plane.
_RGB_TO_YIQ = torch.tensor(
    [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], dtype=torch.float32
)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """Scale uint8 pixels to float in [0, 1]; float input is assumed already in [0, 1].

    Args:
        images: ``[..., H, W]`` uint8 or floating point.
    """
    if images.dtype == torch.uint8:
        return images.float().div_(255.0)
    if not images.is_floating_point():
        raise TypeError(f"images must be uint8 or floating point, got dtype {images.dtype}")
    return images


def _like_input(result: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """Return ``result`` (float in [0, 1]) in the dtype of ``original``."""
    if original.dtype == torch.uint8:
        return result.mul(255.0).round_().clamp_(0, 255).to(torch.uint8)
    return result.clamp(0.0, 1.0).to(original.dtype)


def _uniform(n: int, low: float, high: float, generator: torch.Generator | None, device) -> torch.Tensor:
    """``[n]`` floats uniform in [low, high), drawn on the generator's device then moved."""
    gen_device = generator.device if generator is not None else device
    u = torch.rand(n, generator=generator, device=gen_device)
    return (low + (high - low) * u).to(device)


class RandomShift(nn.Module):
    """DrQ's random shift: pad by ``pad`` pixels (edge replicated) and crop back at a random offset.

    Implemented as a per-sample integer translation with clamped indices, which equals replicate
    padding followed by a random crop, without allocating the padded batch.

    Args:
        pad: largest shift in pixels along each axis (DrQ uses 4 for 84x84 frames).
        generator: source of randomness; ``None`` uses torch's global generator.
    """

    def __init__(self, pad: int = 4, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if pad < 0:
            raise ValueError(f"pad must be >= 0 pixels, got {pad}")
        self.pad = pad
        self.generator = generator

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W]`` -> ``[B, C, H, W]``, same dtype and device."""
        check_images(images)
        if self.pad == 0:
            return images
        b, _, h, w = images.shape
        gen_device = self.generator.device if self.generator is not None else images.device
        offsets = torch.randint(
            -self.pad, self.pad + 1, (2, b), generator=self.generator, device=gen_device
        ).to(images.device)
        rows = (torch.arange(h, device=images.device) + offsets[0, :, None]).clamp_(0, h - 1)  # [B, H]
        cols = (torch.arange(w, device=images.device) + offsets[1, :, None]).clamp_(0, w - 1)  # [B, W]
        source = (rows[:, :, None] * w + cols[:, None, :]).view(b, 1, h * w)  # flat source pixel per output
        flat = images.flatten(2)  # [B, C, H*W]
        return flat.gather(2, source.expand(-1, flat.shape[1], -1)).view(images.shape)


class ColorJitter(nn.Module):
    """Random brightness, contrast, saturation and hue per sample, batched.

    Channels are read as consecutive RGB triplets, so frame-stacked RGB (``C = 3k``) is jittered
    frame by frame with the same factors per sample; other channel counts (grayscale) get only
    brightness and contrast. Factors are drawn uniformly in ``[1 - s, 1 + s]`` (hue: a rotation of
    up to ``hue`` turns).

    Args:
        brightness: relative brightness range, >= 0.
        contrast: relative contrast range, >= 0.
        saturation: relative saturation range, >= 0.
        hue: largest hue rotation in turns, in [0, 0.5].
        generator: source of randomness; ``None`` uses torch's global generator.
    """

    def __init__(
        self,
        brightness: float = 0.4,
        contrast: float = 0.4,
        saturation: float = 0.4,
        hue: float = 0.05,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        for name, value in (("brightness", brightness), ("contrast", contrast), ("saturation", saturation)):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        if not 0 <= hue <= 0.5:
            raise ValueError(f"hue must be in [0, 0.5] turns, got {hue}")
        self.brightness, self.contrast, self.saturation, self.hue = brightness, contrast, saturation, hue
        self.generator = generator

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W]`` -> ``[B, C, H, W]``, same dtype and device."""
        check_images(images)
        b, c, h, w = images.shape
        x = to_float(images).float()
        rgb = c % 3 == 0
        x = x.reshape(b, c // 3 if rgb else c, 3 if rgb else 1, h, w)
        x = x * self._factors(b, self.brightness, x.device)
        mean = self._gray(x).mean(dim=(-3, -2, -1), keepdim=True)
        x = (x - mean) * self._factors(b, self.contrast, x.device) + mean
        if rgb:
            x = (x - self._gray(x)) * self._factors(b, self.saturation, x.device) + self._gray(x)
            x = self._rotate_hue(x)
        return _like_input(x.reshape(b, c, h, w), images)

    def _factors(self, b: int, spread: float, device) -> torch.Tensor:
        """``[B, 1, 1, 1, 1]`` factors uniform in [1 - spread, 1 + spread]."""
        return _uniform(b, 1.0 - spread, 1.0 + spread, self.generator, device).view(b, 1, 1, 1, 1)

    @staticmethod
    def _gray(x: torch.Tensor) -> torch.Tensor:
        """Luma of ``[B, F, 3|1, H, W]`` as ``[B, F, 1, H, W]``."""
        if x.shape[2] == 1:
            return x
        weights = _RGB_TO_YIQ[0].to(x.device).view(1, 1, 3, 1, 1)
        return (x * weights).sum(dim=2, keepdim=True)

    def _rotate_hue(self, x: torch.Tensor) -> torch.Tensor:
        """Rotate the chroma plane of ``[B, F, 3, H, W]`` RGB by a random angle per sample."""
        if self.hue == 0:
            return x
        b = x.shape[0]
        angle = _uniform(b, -self.hue, self.hue, self.generator, x.device) * (2 * torch.pi)
        cos, sin = angle.cos(), angle.sin()
        rotation = torch.zeros(b, 3, 3, device=x.device)
        rotation[:, 0, 0] = 1.0
        rotation[:, 1, 1], rotation[:, 1, 2] = cos, -sin
        rotation[:, 2, 1], rotation[:, 2, 2] = sin, cos
        to_yiq = _RGB_TO_YIQ.to(x.device)
        transform = torch.linalg.inv(to_yiq) @ rotation @ to_yiq  # [B, 3, 3]
        return torch.einsum("bij,bfjhw->bfihw", transform, x)


def make_augmentation(names: str | list[str] | None, generator: torch.Generator | None = None) -> nn.Module:
    """Build an augmentation pipeline from names (``"shift"``, ``"jitter"``), applied in order.

    Args:
        names: one name, a list of names, or ``None``/``"none"`` for the identity.
        generator: shared source of randomness for every stage.
    """
    if names is None or names == "none":
        return nn.Identity()
    builders = {"shift": lambda: RandomShift(generator=generator), "jitter": lambda: ColorJitter(generator=generator)}
    stages = []
    for name in [names] if isinstance(names, str) else names:
        check_choice("augmentation", name, [*sorted(builders), "none"])
        stages.append(builders[name]())
    return nn.Sequential(*stages)
