"""The self-supervised training loop and a device helper."""
from __future__ import annotations

import torch
from torch import nn

from perception.frames import FrameDataset


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA when present, else CPU; other values pass to ``torch.device``."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def pretrain(
    objective: nn.Module,
    dataset: FrameDataset,
    steps: int,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    device: str | torch.device = "auto",
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

    Returns:
        The loss at every step.
    """
    device = resolve_device(device)
    objective.to(device).train()
    torch.manual_seed(seed)  # augmentation draws from torch's global generator
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam([p for p in objective.parameters() if p.requires_grad], lr=lr)
    losses = []
    for _ in range(steps):
        loss = objective.loss(dataset.sample(batch_size, generator, device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        objective.after_step()
        losses.append(loss.item())
    return losses
