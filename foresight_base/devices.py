"""``resolve_device``: the one meaning of a device name in every Foresight package.

``"auto"`` picks CUDA when present, else the CPU, so nothing assumes a GPU; an explicit accelerator
that this machine lacks is refused at once, with what would work, instead of failing later at the
first tensor moved there.
"""
from __future__ import annotations

import torch

VALID_DEVICES = "'auto', 'cpu', 'cuda', 'cuda:<index>', 'mps'"


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> ``cuda`` if available else ``cpu``; any other name or ``torch.device`` as given.

    Raises:
        ValueError: ``device`` is not a device name, or names CUDA / MPS on a machine without it.
    """
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"unknown device {device!r}; valid: {VALID_DEVICES}") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for but CUDA is not available; use 'auto' or 'cpu'")
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {device!r} asked for but MPS is not available; use 'auto' or 'cpu'")
    return resolved
