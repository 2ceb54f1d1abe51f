"""Checkpoints that load without running code, written atomically, with a fallback when one is bad.

A checkpoint is one :mod:`foresight_base.tensor_file`: tensors and plain data (no pickled objects)
behind a SHA-256 of the bytes, read with ``torch.load(weights_only=True)`` only after the digest
matched. It is written to a temp file, flushed to disk, then renamed, so a crash (even ``kill -9``
mid-write) leaves either the old file or the new one, never half of one; a flipped bit, a
truncation or an overwrite raises :class:`CheckpointError`, so :func:`load_latest` falls back to the
previous checkpoint. The training state it holds is gathered by :mod:`agents.training.state`.
"""
from __future__ import annotations

import pathlib
import re
from typing import Any

import numpy as np
import torch

from foresight_base import tensor_file

STEP_FILE = re.compile(r"^step_(\d+)\.pt$")
BEST = "best.pt"


def to_tensors(value: Any) -> Any:
    """numpy arrays (also inside dicts/lists) -> tensors; other plain data unchanged."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: to_tensors(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_tensors(v) for v in value]
    return value


def to_numpy(value: Any) -> Any:
    """Inverse of :func:`to_tensors`."""
    if isinstance(value, torch.Tensor):
        return value.numpy()
    if isinstance(value, dict):
        return {k: to_numpy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_numpy(v) for v in value]
    return value


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, damaged (digest mismatch, truncated), not one of ours, or would
    run code if loaded."""


def atomic_save(obj: dict[str, Any], path: pathlib.Path) -> None:
    """Write ``obj`` to ``path`` behind a digest: temp file + fsync + rename (atomic on POSIX).

    Raises:
        OSError: the disk is full or the folder is not writable (the previous file is unchanged
            and no temp file is left).
    """
    tensor_file.save(obj, path)


def load(path: pathlib.Path, required: tuple[str, ...] = ("format",)) -> dict[str, Any]:
    """Read a checkpoint without executing code, after checking its digest.

    Args:
        path: the file.
        required: top-level keys the checkpoint must have.

    Raises:
        CheckpointError: if the file is missing, damaged, holds anything but tensors/plain data,
            or lacks a ``required`` key.
    """
    path = pathlib.Path(path)
    try:
        state = tensor_file.load(path)
    except tensor_file.TensorFileError as err:
        raise CheckpointError(f"checkpoint {err}") from err
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} is not a Foresight checkpoint (a {type(state).__name__}, not a dict)")
    missing = [key for key in required if key not in state]
    if missing:
        raise CheckpointError(f"{path} is not a Foresight checkpoint (no {', '.join(map(repr, missing))} key)")
    return state


def step_files(folder: pathlib.Path) -> list[pathlib.Path]:
    """``step_<n>.pt`` files in ``folder``, newest (largest step) first."""
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := STEP_FILE.match(p.name))]
    return [p for _, p in sorted(found, reverse=True)]


def save_step(state: dict[str, Any], folder: pathlib.Path, step: int, keep: int = 2) -> pathlib.Path:
    """Write ``step_<step>.pt`` atomically and delete all but the ``keep`` newest."""
    path = pathlib.Path(folder) / f"step_{step:010d}.pt"
    remove_stale_temps(folder)
    atomic_save(state, path)
    for old in step_files(folder)[keep:]:
        old.unlink(missing_ok=True)
    return path


def remove_stale_temps(folder: pathlib.Path) -> None:
    """Delete temp files left by a writer that was killed mid-write (one writer per run folder)."""
    folder = pathlib.Path(folder)
    if folder.is_dir():
        for tmp in folder.glob(".step_*.pt.tmp*"):
            tmp.unlink(missing_ok=True)


def load_latest(folder: pathlib.Path, required: tuple[str, ...] = ("format",)
                ) -> tuple[dict[str, Any], pathlib.Path, list[str]]:
    """Newest readable ``step_*.pt`` (with the ``required`` keys); skips bad ones and reports why in
    the returned warnings.

    Raises:
        CheckpointError: if no readable checkpoint exists.
    """
    warnings = []
    for path in step_files(folder):
        try:
            return load(path, required), path, warnings
        except CheckpointError as err:
            warnings.append(f"skipped {err}")
    detail = "; ".join(warnings) or "none written yet"
    raise CheckpointError(f"no readable checkpoint in {folder} ({detail})")
