"""What one frame can tell: a CNN trained on the true positions, scored on held-out frames.

Before blaming an agent for not learning a task from pixels, ask whether its camera shows what the
task needs. :func:`fit_locator` trains an encoder end to end (supervised, the most direct signal
there is) to regress 3-D points from single frames, and :func:`location_errors` gives its errors on
frames it never saw. A pixel agent's encoder learns from far weaker signals (reward, value, latent
consistency), so these errors are roughly a floor for what it can resolve; if they are larger
than the task's success radius, no agent will succeed from that camera.

Example:
    >>> import torch
    >>> from perception.frames import FrameDataset
    >>> frames = torch.randint(0, 255, (8, 3, 84, 84), dtype=torch.uint8)
    >>> data = FrameDataset(frames, frames, torch.zeros(8, 1), torch.rand(8, 6))
    >>> locator = fit_locator(data, steps=2, batch_size=4)
    >>> location_errors(locator, data).shape
    torch.Size([8, 2])
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from foresight_base.devices import resolve_device
from perception.encoders import make_encoder
from perception.frames import FrameDataset


class Locator(nn.Module):
    """``[B, C, H, W]`` uint8 frames -> ``[B, L]`` positions in the labels' units (metres).

    The encoder's output goes through a linear layer to standardised targets; ``mean`` and ``std``
    (buffers, ``[L]``) undo the standardisation.
    """

    def __init__(self, encoder: nn.Module, features: int, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(features, len(mean)))
        self.register_buffer("mean", mean.float())
        self.register_buffer("std", std.float().clamp_min(1e-6))

    def standardised(self, frames: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(frames))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.standardised(frames) * self.std + self.mean


def fit_locator(train: FrameDataset, steps: int = 3000, batch_size: int = 64, learning_rate: float = 3e-4,
                encoder: str = "nature", features: int = 256, seed: int = 0, device: str = "cpu",
                on_step: Callable[[int, Locator], None] | None = None) -> Locator:
    """Train a :class:`Locator` on ``train.labels`` ``[N, L]`` (mean squared error of standardised targets).

    ``on_step(step, locator)`` after every step (progress, intermediate scores). The frames stay
    uint8 until the encoder.
    """
    if train.labels.shape[1] == 0:
        raise ValueError("fit_locator needs labelled frames (collect_frames(..., labels=...)); these have none")
    torch.manual_seed(seed)
    target = resolve_device(device)
    labels = train.labels.float()
    locator = Locator(make_encoder(encoder, train.frames.shape[1], features, tuple(train.frames.shape[2:])),
                      features, labels.mean(0), labels.std(0)).to(target)
    optimiser = torch.optim.Adam(locator.parameters(), lr=learning_rate)
    generator = torch.Generator().manual_seed(seed)
    for step in range(steps):
        index = torch.randint(len(train), (batch_size,), generator=generator)
        goal = (labels[index].to(target) - locator.mean) / locator.std
        loss = (locator.standardised(train.frames[index].to(target)) - goal).pow(2).mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if on_step is not None:
            on_step(step, locator)
    return locator.eval()


def point_errors(predicted: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Euclidean error ``[M, L // 3]`` of each 3-D point, label columns ``[M, L]`` taken three at a time."""
    if labels.shape[1] % 3:
        raise ValueError(f"labels hold {labels.shape[1]} columns; location errors read them as xyz points "
                         "(a multiple of 3)")
    return (predicted - labels).unflatten(1, (-1, 3)).norm(dim=-1)


@torch.no_grad()
def location_errors(locator: Locator, test: FrameDataset, batch_size: int = 256) -> torch.Tensor:
    """Held-out errors ``[M, L // 3]`` of the locator's points (:func:`point_errors`), metres."""
    device = locator.mean.device
    predicted = torch.cat([locator(test.frames[i:i + batch_size].to(device)).cpu()
                           for i in range(0, len(test), batch_size)])
    return point_errors(predicted, test.labels)
