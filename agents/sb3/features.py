"""SB3 ``BaseFeaturesExtractor`` adapters over the perception encoders.

``policy_kwargs_for(observation_space, encoder=...)`` is what the agent factory calls for image
observations: it returns the ``policy_kwargs`` that plug a perception encoder (optionally
pre-trained, optionally with DrQ-style augmentation while training) into any SB3 policy.

SB3 transposes uint8 images to channels-first (``VecTransposeImage``) and scales them to [0, 1]
before the extractor, while its buffers keep them uint8. Float images (depth in metres) are not
transposed by SB3; the extractors move their channels first themselves.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.preprocessing import is_image_space_channels_first
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from foresight_base.checks import check_choice
from perception.augment import make_augmentation
from perception.checkpoint import load_encoder
from perception.encoders import ENCODERS, ImageEncoder, make_encoder
from perception.fusion import DictEncoder


def _is_image(space: gym.Space) -> bool:
    return isinstance(space, gym.spaces.Box) and len(space.shape) == 3


def _channels_and_size(space: gym.spaces.Box) -> tuple[int, tuple[int, int], bool]:
    """(channels, (H, W), channels_first) of a 3-D image space, using SB3's heuristic."""
    first = is_image_space_channels_first(space)
    c, h, w = space.shape if first else (space.shape[2], *space.shape[:2])
    return c, (h, w), first


class _ImageBranch(nn.Module):
    """Channels-first move, augmentation while training, then the encoder."""

    def __init__(self, encoder: ImageEncoder, channels_first: bool, augment: str | list[str] | None) -> None:
        super().__init__()
        self.encoder = encoder
        self.channels_first = channels_first
        self.augment = make_augmentation(augment)
        self.features_dim = encoder.features_dim

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if not self.channels_first:
            images = images.permute(0, 3, 1, 2)
        if self.training:
            images = self.augment(images)
        return self.encoder(images)


@dataclass(frozen=True)
class EncoderOptions:
    """How an image key is encoded; the extractors take these fields as keyword arguments."""

    encoder: str = "nature"
    """``"nature"``, ``"impala"`` or ``"keypoints"``."""
    features_dim: int | None = None
    """output width; ``None`` keeps the encoder's default."""
    pretrained: str | None = None
    """path of a checkpoint from ``perception.checkpoint.save_encoder``."""
    freeze: bool = False
    """keep the encoder's weights fixed (a frozen representation)."""
    augment: str | list[str] | None = None
    """augmentation applied only in training mode (``"shift"``, ``["shift", "jitter"]``)."""

    def __post_init__(self) -> None:
        check_choice("encoder", self.encoder, sorted(ENCODERS))


def _image_branch(space: gym.spaces.Box, options: EncoderOptions) -> _ImageBranch:
    channels, size, channels_first = _channels_and_size(space)
    if options.pretrained is not None:
        net = load_encoder(options.pretrained)
        if net.in_channels != channels or tuple(net.spec["image_size"]) != size:
            raise ValueError(
                f"pretrained encoder {options.pretrained} takes {net.in_channels} channels of "
                f"{net.spec['image_size']}, but the observation has {channels} channels of {list(size)}"
            )
    else:
        net = make_encoder(options.encoder, channels, options.features_dim, size)
    if options.freeze:
        net.requires_grad_(False)
    return _ImageBranch(net, channels_first, options.augment)


class EncoderExtractor(BaseFeaturesExtractor):
    """Image observation (``Box`` [C, H, W] or [H, W, C]) -> perception encoder -> ``[B, D]``.

    Args:
        observation_space: a 3-D ``Box``.
        **options: fields of ``EncoderOptions``.
    """

    def __init__(self, observation_space: gym.spaces.Box, **options) -> None:
        if not _is_image(observation_space):
            raise ValueError(f"EncoderExtractor needs a 3-D Box image space, got {observation_space}")
        branch = _image_branch(observation_space, EncoderOptions(**options))
        super().__init__(observation_space, branch.features_dim)
        self.branch = branch

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.branch(observations)


class MultiInputEncoderExtractor(BaseFeaturesExtractor):
    """Dict observation: each 3-D ``Box`` key through an encoder, other keys flattened, concatenated.

    Args:
        observation_space: a ``Dict`` space; ``pretrained`` needs exactly one image key in it.
        **options: fields of ``EncoderOptions``, used for every image key.
    """

    def __init__(self, observation_space: gym.spaces.Dict, **options) -> None:
        if not isinstance(observation_space, gym.spaces.Dict):
            raise ValueError(f"MultiInputEncoderExtractor needs a Dict space, got {observation_space}")
        opts = EncoderOptions(**options)
        image_keys = [k for k, s in observation_space.spaces.items() if _is_image(s)]
        if opts.pretrained is not None and len(image_keys) != 1:
            raise ValueError(f"pretrained needs exactly one image key, found {image_keys}")
        branches = {k: _image_branch(observation_space[k], opts) for k in image_keys}
        vectors = {k: int(np.prod(s.shape)) for k, s in observation_space.spaces.items() if k not in branches}
        fusion = DictEncoder(branches, vectors)
        super().__init__(observation_space, fusion.features_dim)
        self.fusion = fusion

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.fusion(observations)


def policy_kwargs_for(
    observation_space: gym.Space,
    encoder: str = "nature",
    pretrained: str | os.PathLike | None = None,
    features_dim: int | None = None,
    freeze: bool = False,
    augment: str | list[str] | None = None,
) -> dict:
    """``policy_kwargs`` for an SB3 model whose observations hold images.

    Use ``"CnnPolicy"`` for a ``Box`` image space and ``"MultiInputPolicy"`` for a ``Dict``.

    Args:
        observation_space: the env's observation space (a 3-D ``Box`` or a ``Dict`` holding one).
        encoder: ``"nature"``, ``"impala"`` or ``"keypoints"``.
        pretrained: encoder checkpoint (``scripts/pretrain_encoder.py`` writes one).
        features_dim: encoder output width; ``None`` keeps the encoder's default.
        freeze: keep the pretrained weights fixed.
        augment: training-time augmentation, e.g. ``"shift"`` (DrQ).

    Example:
        >>> import gymnasium as gym, numpy as np
        >>> space = gym.spaces.Box(0, 255, (84, 84, 3), np.uint8)
        >>> policy_kwargs_for(space, encoder="impala")["features_extractor_class"].__name__
        'EncoderExtractor'
    """
    options = EncoderOptions(encoder, features_dim, None if pretrained is None else str(pretrained), freeze, augment)
    if isinstance(observation_space, gym.spaces.Dict):
        if not any(_is_image(s) for s in observation_space.spaces.values()):
            raise ValueError(f"Dict space has no 3-D image key: {observation_space}")
        extractor = MultiInputEncoderExtractor
    elif _is_image(observation_space):
        extractor = EncoderExtractor
    else:
        raise ValueError(f"policy_kwargs_for needs an image Box or a Dict holding one, got {observation_space}")
    return {"features_extractor_class": extractor, "features_extractor_kwargs": dataclasses.asdict(options)}
