"""Checkpoints that load without running code, written atomically, with a fallback when one is bad.

A checkpoint is one ``torch.save`` file of tensors and plain data (no pickled objects), read with
``torch.load(weights_only=True)``. It is written to a temp file, flushed to disk, then renamed, so a
crash (even ``kill -9`` mid-write) leaves either the old file or the new one, never half of one.
The training state it holds is gathered by :mod:`agents.training.state`.
"""
from __future__ import annotations

import os
import pathlib
import pickle
import re
import zipfile
from typing import Any

import numpy as np
import torch

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
    """A checkpoint file is missing, truncated or not one of ours."""


def atomic_save(obj: dict[str, Any], path: pathlib.Path) -> None:
    """``torch.save`` to ``path`` via a temp file + fsync + rename (atomic on POSIX)."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: pathlib.Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load(path: pathlib.Path) -> dict[str, Any]:
    """Read a checkpoint without executing code.

    Raises:
        CheckpointError: if the file is missing, truncated or holds anything but tensors/plain data.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(f"checkpoint {path} holds objects that would run code on load; refused") from err
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as err:
        raise CheckpointError(f"checkpoint {path} is unreadable (truncated or corrupt): {err}") from err
    if not isinstance(state, dict) or "format" not in state:
        raise CheckpointError(f"{path} is not a Foresight checkpoint (no 'format' key)")
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


def load_latest(folder: pathlib.Path) -> tuple[dict[str, Any], pathlib.Path, list[str]]:
    """Newest readable ``step_*.pt``; skips bad ones and reports why in the returned warnings.

    Raises:
        CheckpointError: if no readable checkpoint exists.
    """
    warnings = []
    for path in step_files(folder):
        try:
            return load(path), path, warnings
        except CheckpointError as err:
            warnings.append(f"skipped {err}")
    detail = "; ".join(warnings) or "none written yet"
    raise CheckpointError(f"no readable checkpoint in {folder} ({detail})")
