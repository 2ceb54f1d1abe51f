"""The few array operations the batched worlds need, for torch tensors and for numpy arrays.

World dynamics are written once against this small namespace, so the same function runs on a
torch tensor on any device (differentiable, for planners and large batches) and on a numpy array
on the CPU (cheap per call, for one or a few worlds where torch's per-op overhead dominates).
Every operation works along the last axis, so a state may be batched ``[..., S]`` or single ``[S]``.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

Array = Any  # torch.Tensor | np.ndarray | numpy scalar


class NumpyOps:
    """Numpy implementation in one float dtype (float64, as gymnasium's classic-control worlds, or float32)."""

    def __init__(self, float_dtype: type = np.float64):
        self.float_dtype = float_dtype

    cos, sin, sqrt, abs, tanh = map(staticmethod, (np.cos, np.sin, np.sqrt, np.abs, np.tanh))
    where, clip, maximum, minimum = map(staticmethod, (np.where, np.clip, np.maximum, np.minimum))

    @staticmethod
    def stack(items: Sequence[Array]) -> Array:
        """Stack ``k`` arrays ``[...]`` into ``[..., k]``; ``[B]`` items give a column-major ``[B, k]``.

        Worlds read their state one component at a time, so contiguous columns make those
        elementwise ops faster; ``np.array`` is 20x faster than ``np.stack`` on scalars.
        """
        if np.ndim(items[0]) <= 1:
            stacked = np.array(items)
            return stacked.T if stacked.ndim == 2 else stacked
        return np.stack(items, axis=-1)

    @staticmethod
    def concat(items: Sequence[Array]) -> Array:
        return np.concatenate(items, axis=-1)

    @staticmethod
    def sum(x: Array) -> Array:
        return np.sum(x, axis=-1)

    @staticmethod
    def cumsum(x: Array) -> Array:
        return np.cumsum(x, axis=-1)

    @staticmethod
    def norm(x: Array) -> Array:
        """Euclidean length along the last axis, ``[..., D] -> [...]``."""
        return np.sqrt(np.sum(x * x, axis=-1))

    @staticmethod
    def full_like(x: Array, value: float) -> Array:
        return value if np.ndim(x) == 0 else np.full_like(x, value)

    def uniform(self, rng: np.random.Generator, low: float, high: float, shape: tuple[int, ...]) -> Array:
        if self.float_dtype == np.float64:
            return rng.uniform(low, high, size=shape)
        return rng.random(shape, dtype=self.float_dtype) * (high - low) + low

    def zeros(self, shape: tuple[int, ...], dtype: str = "float") -> Array:
        return np.zeros(shape, dtype={"float": self.float_dtype, "int": np.int32, "bool": np.bool_}[dtype])


class TorchOps:
    """Torch implementation on one device and float dtype; every op is differentiable."""

    cos, sin, sqrt, abs, tanh = map(staticmethod, (torch.cos, torch.sin, torch.sqrt, torch.abs, torch.tanh))
    where, clip = staticmethod(torch.where), staticmethod(torch.clamp)

    @staticmethod
    def maximum(x: Array, y: Array | float) -> Array:
        """Elementwise max; ``y`` may be a tensor or a number (numpy's ``maximum`` takes both)."""
        return torch.maximum(x, y) if isinstance(y, torch.Tensor) else torch.clamp(x, min=y)

    @staticmethod
    def minimum(x: Array, y: Array | float) -> Array:
        return torch.minimum(x, y) if isinstance(y, torch.Tensor) else torch.clamp(x, max=y)

    def __init__(self, device: torch.device, float_dtype: torch.dtype = torch.float32):
        self.device = device
        self.float_dtype = float_dtype

    @staticmethod
    def stack(items: Sequence[Array]) -> Array:
        """Stack ``k`` tensors ``[B]`` into ``[B, k]`` stored column by column (a transposed view).

        Worlds read their state one component at a time (``state[..., i]``); with this layout each
        component is contiguous, which makes those elementwise ops about 3x faster for large B.
        """
        if items[0].dim() == 1:
            return torch.stack(tuple(items), dim=0).t()
        return torch.stack(tuple(items), dim=-1)

    @staticmethod
    def concat(items: Sequence[Array]) -> Array:
        return torch.cat(tuple(items), dim=-1)

    @staticmethod
    def sum(x: Array) -> Array:
        return x.sum(dim=-1)

    @staticmethod
    def cumsum(x: Array) -> Array:
        return x.cumsum(dim=-1)

    @staticmethod
    def norm(x: Array) -> Array:
        """Euclidean length along the last axis, ``[..., D] -> [...]``, with a finite gradient at 0."""
        return torch.sqrt((x * x).sum(dim=-1) + 1e-12)

    @staticmethod
    def full_like(x: Array, value: float) -> Array:
        return torch.full_like(x, value)

    def uniform(self, rng: torch.Generator, low: float, high: float, shape: tuple[int, ...]) -> Array:
        """Uniform samples in ``[low, high)``; the bounds are numbers, so nothing is copied to the device."""
        unit = torch.rand(shape, generator=rng, device=self.device, dtype=self.float_dtype)
        return unit * (high - low) + low

    def zeros(self, shape: tuple[int, ...], dtype: str = "float") -> Array:
        kind = {"float": self.float_dtype, "int": torch.int32, "bool": torch.bool}[dtype]
        return torch.zeros(shape, dtype=kind, device=self.device)


def ops_for(x: Array) -> NumpyOps | TorchOps:
    """The namespace matching ``x``: torch ops on its device and dtype, else numpy ops."""
    if isinstance(x, torch.Tensor):
        dtype = x.dtype if x.is_floating_point() else torch.get_default_dtype()
        return TorchOps(x.device, dtype)
    dtype = x.dtype.type if isinstance(x, np.ndarray) and x.dtype.kind == "f" else np.float64
    return NumpyOps(dtype)
