"""Save and load encoders as plain tensors plus the arguments that rebuild them (no pickle).

A checkpoint is a dict ``{"spec": {...}, "state_dict": {...}}`` in a :mod:`foresight_base.tensor_file`
(digest-checked, written atomically, read with ``torch.load(..., weights_only=True)``); ``spec``
holds ``make_encoder``'s arguments.
"""
from __future__ import annotations

import os
import pathlib

import torch

from foresight_base import tensor_file
from perception.encoders import ImageEncoder, make_encoder


def save_encoder(encoder: ImageEncoder, path: str | os.PathLike, extra: dict | None = None) -> pathlib.Path:
    """Write ``encoder`` (built by ``make_encoder``) to ``path`` atomically (temp file, then rename).

    Args:
        encoder: an encoder carrying ``spec`` (set by ``make_encoder``).
        path: destination file, conventionally ``*.pt``.
        extra: plain data stored beside it (the SSL objective, the losses, ...).
    """
    spec = getattr(encoder, "spec", None)
    if spec is None:
        raise ValueError("encoder has no spec: build it with perception.encoders.make_encoder to save it")
    state = {k: v.detach().cpu() for k, v in encoder.state_dict().items()}
    return tensor_file.save({"spec": dict(spec), "state_dict": state, "extra": dict(extra or {})}, path)


def load_encoder(path: str | os.PathLike, device: str | torch.device = "cpu") -> ImageEncoder:
    """Rebuild the encoder saved at ``path`` and load its weights onto ``device``.

    Raises:
        FileNotFoundError: nothing at ``path``.
        TensorFileError: the file is damaged or would run code.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no encoder checkpoint at {path}")
    checkpoint = tensor_file.load(path)
    if not isinstance(checkpoint, dict) or not {"spec", "state_dict"} <= checkpoint.keys():
        raise ValueError(f"{path} is not an encoder checkpoint (needs 'spec' and 'state_dict')")
    encoder = make_encoder(**checkpoint["spec"])
    encoder.load_state_dict(checkpoint["state_dict"])
    return encoder.to(device)
