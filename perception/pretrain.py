"""The self-supervised training loop, its configuration, and a device helper."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from foresight_base.checks import check_choice
from foresight_base.devices import resolve_device
from perception.encoders import ImageEncoder, make_encoder
from perception.frames import FrameDataset
from perception.ssl import OBJECTIVES, make_objective


def pretrain(
    objective: nn.Module,
    dataset: FrameDataset,
    steps: int,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    device: str | torch.device = "auto",
    on_step: Callable[[int], None] | None = None,
) -> list[float]:
    """Train ``objective`` (from ``perception.ssl.make_objective``) on ``dataset``.

    Args:
        objective: wraps the encoder being trained; trained in place.
        dataset: frames (uint8) and actions.
        steps: gradient steps.
        batch_size: transitions per step.
        lr: Adam learning rate.
        seed: seeds batch sampling and augmentation.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``...
        on_step: called with the steps done after each (a progress bar).

    Returns:
        The loss at every step.
    """
    device = resolve_device(device)
    objective.to(device).train()
    torch.manual_seed(seed)  # augmentation draws from torch's global generator
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam([p for p in objective.parameters() if p.requires_grad], lr=lr)
    losses = []
    for step in range(steps):
        loss = objective.loss(dataset.sample(batch_size, generator, device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        objective.after_step()
        losses.append(loss.item())
        if on_step is not None:
            on_step(step + 1)
    return losses


def _option(default, help: str):
    """A config field whose help text the CLI shows (``field.metadata["help"]``)."""
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class PretrainConfig:
    """What to pre-train and how; ``scripts/pretrain_encoder.py`` makes one flag per field."""

    objective: str = _option("contrastive", "SSL objective: autoencoder, contrastive or inverse")
    encoder: str = _option("nature", "encoder architecture: nature, impala or keypoints")
    features_dim: int = _option(64, "encoder output width D")
    steps: int = _option(1000, "gradient steps")
    batch_size: int = _option(64, "transitions per gradient step")
    lr: float = _option(1e-3, "Adam learning rate")
    seed: int = _option(0, "seeds the encoder's initial weights, batch sampling and augmentation")
    device: str = _option("auto", "auto (CUDA when present), cpu or cuda")


def pretrain_encoder(dataset: FrameDataset, config: PretrainConfig,
                     on_step: Callable[[int], None] | None = None) -> tuple[ImageEncoder, nn.Module, list[float]]:
    """Build an encoder for ``dataset``'s frames and train it with ``config.objective``.

    Returns:
        The trained encoder, its objective (holding the decoder or heads) and the per-step losses.
    """
    check_choice("SSL objective", config.objective, OBJECTIVES)
    torch.manual_seed(config.seed)
    channels, height, width = dataset.frames.shape[1:]
    encoder = make_encoder(config.encoder, channels, config.features_dim, (height, width))
    objective = make_objective(config.objective, encoder, (height, width), action_dim=dataset.actions.shape[1])
    losses = pretrain(objective, dataset, config.steps, config.batch_size, config.lr, config.seed,
                      config.device, on_step)
    return encoder, objective, losses
