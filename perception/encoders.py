"""Image encoders: ``[B, C, H, W]`` uint8 or float in [0, 1] -> ``[B, features_dim]`` features.

Plain ``nn.Module``s with small constructors, so SB3 adapters (``agents/sb3/features.py``) and world
models can both use them. uint8 input is scaled to [0, 1] inside the network, so callers can keep
frames uint8 until here. Every encoder exposes ``features_dim`` and ``in_channels``.
"""
from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn

from foresight_base.checks import check_choice
from perception.augment import to_float
from perception.checks import check_images


class ImageEncoder(nn.Module):
    """Base class: checks the input, scales uint8 to [0, 1], then calls ``encode``.

    Args:
        in_channels: channels C of the input (3 for RGB, 3k for k stacked RGB frames).
        features_dim: width D of the output features.
    """

    def __init__(self, in_channels: int, features_dim: int) -> None:
        super().__init__()
        if in_channels < 1 or features_dim < 1:
            raise ValueError(f"in_channels and features_dim must be >= 1, got {in_channels}, {features_dim}")
        self.in_channels = in_channels
        self.features_dim = features_dim

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W]`` uint8 or float in [0, 1] -> ``[B, D]`` float32."""
        check_images(images, self.in_channels)
        return self.encode(to_float(images).float())

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def _flat_size(trunk: nn.Module, in_channels: int, image_size: tuple[int, int]) -> int:
    """Number of features the conv ``trunk`` gives for one ``image_size`` (H, W) image."""
    try:
        with torch.no_grad():
            out = trunk(torch.zeros(1, in_channels, *image_size))
    except RuntimeError as error:
        raise ValueError(f"image_size {image_size} is too small for this encoder's convolutions") from error
    return out.flatten(1).shape[1]


class NatureCNN(ImageEncoder):
    """The DQN Nature CNN (Mnih et al. 2015): three convolutions then one linear layer.

    Args:
        in_channels: input channels C.
        features_dim: output width D.
        image_size: input (H, W) in pixels, at least 36x36.
    """

    def __init__(self, in_channels: int, features_dim: int = 512, image_size: tuple[int, int] = (84, 84)) -> None:
        super().__init__(in_channels, features_dim)
        self.trunk = nn.Sequential(
            nn.Conv2d(in_channels, 32, 8, stride=4), nn.ReLU(),
            nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(),
            nn.Flatten(),
        )  # fmt: skip
        self.head = nn.Sequential(nn.Linear(_flat_size(self.trunk, in_channels, image_size), features_dim), nn.ReLU())

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(images))


class _ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv1(torch.relu(self.conv0(torch.relu(x))))


def _impala_stack(in_channels: int, out_channels: int) -> nn.Sequential:
    """Conv, 3x3 max-pool with stride 2 (halves H and W), then two residual blocks."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1),
        nn.MaxPool2d(3, stride=2, padding=1),
        _ResidualBlock(out_channels),
        _ResidualBlock(out_channels),
    )


class ImpalaCNN(ImageEncoder):
    """The IMPALA residual CNN (Espeholt et al. 2018): conv stacks with residual blocks.

    Args:
        in_channels: input channels C.
        features_dim: output width D.
        image_size: input (H, W) in pixels.
        channels: output channels of each stack; each stack halves H and W.
    """

    def __init__(
        self,
        in_channels: int,
        features_dim: int = 256,
        image_size: tuple[int, int] = (84, 84),
        channels: tuple[int, ...] = (16, 32, 32),
    ) -> None:
        super().__init__(in_channels, features_dim)
        widths = (in_channels, *channels)
        stacks = [_impala_stack(a, b) for a, b in pairwise(widths)]
        self.trunk = nn.Sequential(*stacks, nn.ReLU(), nn.Flatten())
        self.head = nn.Sequential(nn.Linear(_flat_size(self.trunk, in_channels, image_size), features_dim), nn.ReLU())

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(images))


class SpatialSoftmax(nn.Module):
    """Expected image coordinates of each feature map (Levine et al. 2016, Finn et al. 2016).

    ``[B, K, H, W]`` feature maps -> ``[B, K, 2]`` keypoints (x, y) in [-1, 1], x to the right and
    y downwards, with a learned softmax temperature.
    """

    def __init__(self, temperature: float = 1.0) -> None:
        super().__init__()
        self.log_temperature = nn.Parameter(torch.tensor(float(temperature)).log())

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        b, k, h, w = maps.shape
        attention = torch.softmax(maps.flatten(2) / self.log_temperature.exp(), dim=-1).view(b, k, h, w)
        ys = torch.linspace(-1.0, 1.0, h, device=maps.device)
        xs = torch.linspace(-1.0, 1.0, w, device=maps.device)
        x = (attention.sum(dim=2) * xs).sum(dim=-1)
        y = (attention.sum(dim=3) * ys).sum(dim=-1)
        return torch.stack((x, y), dim=-1)


class SpatialSoftmaxEncoder(ImageEncoder):
    """Deep spatial autoencoder-style keypoint encoder: convs -> K maps -> spatial softmax.

    The features are the ``num_keypoints`` (x, y) image positions, flattened to ``[B, 2K]``, or a
    linear projection of them when ``features_dim`` is given; ``keypoints`` returns ``[B, K, 2]``.

    Args:
        in_channels: input channels C.
        num_keypoints: K, the number of keypoints.
        features_dim: output width D; ``None`` means D = 2K (the raw keypoints).
        hidden_channels: width of the convolutions.
    """

    def __init__(
        self,
        in_channels: int,
        num_keypoints: int = 32,
        features_dim: int | None = None,
        hidden_channels: int = 32,
    ) -> None:
        super().__init__(in_channels, features_dim or 2 * num_keypoints)
        self.num_keypoints = num_keypoints
        self.trunk = nn.Sequential(
            nn.Conv2d(in_channels, hidden_channels, 5, stride=2, padding=2), nn.ReLU(),
            nn.Conv2d(hidden_channels, hidden_channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(hidden_channels, hidden_channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(hidden_channels, num_keypoints, 1),
        )  # fmt: skip
        self.spatial_softmax = SpatialSoftmax()
        needs_projection = features_dim is not None and features_dim != 2 * num_keypoints
        self.head = nn.Linear(2 * num_keypoints, features_dim) if needs_projection else nn.Identity()

    def keypoints(self, images: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W]`` -> ``[B, K, 2]`` keypoints (x, y) in [-1, 1]."""
        check_images(images, self.in_channels)
        return self.spatial_softmax(self.trunk(to_float(images).float()))

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.spatial_softmax(self.trunk(images)).flatten(1))


ENCODERS = {"nature": NatureCNN, "impala": ImpalaCNN, "keypoints": SpatialSoftmaxEncoder}


def make_encoder(
    name: str, in_channels: int, features_dim: int | None = None, image_size: tuple[int, int] = (84, 84)
) -> ImageEncoder:
    """Build an encoder by name: ``"nature"``, ``"impala"`` or ``"keypoints"``.

    The encoder's ``spec`` attribute records these arguments, so ``perception.checkpoint`` can
    rebuild it.

    Args:
        name: which encoder.
        in_channels: input channels C.
        features_dim: output width D; ``None`` keeps the encoder's default.
        image_size: input (H, W) in pixels (the keypoint encoder works at any size).
    """
    check_choice("encoder", name, sorted(ENCODERS))
    kwargs = {} if features_dim is None else {"features_dim": features_dim}
    if name == "keypoints":
        encoder = SpatialSoftmaxEncoder(in_channels, **kwargs)
    else:
        encoder = ENCODERS[name](in_channels, image_size=tuple(image_size), **kwargs)
    encoder.spec = {
        "name": name,
        "in_channels": in_channels,
        "features_dim": encoder.features_dim,
        "image_size": [int(s) for s in image_size],
    }
    return encoder
