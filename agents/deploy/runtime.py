"""Run an exported policy without SB3: ONNX through onnxruntime, or a checked ``torch.export`` file.

Both runtimes take one observation (array [D] or dict of arrays) via ``__call__`` or a batch via
``predict_batch`` and return actions as float arrays. Loading never runs code from the file: ONNX is
protobuf, and a ``.pt2`` archive is parsed member by member first (:mod:`agents.deploy.pt2_check`:
torch's own loader unpickles, ``exec``s guards code and ``eval``s shape strings on request).
"""
from __future__ import annotations

import json
import pathlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from agents.deploy.pt2_check import UnsafeFileError, check_pt2_archive

METADATA_KEY = "foresight"


class _Runtime:
    """Shared feeding logic: observation (dict) -> float32 batches in input order."""

    meta: dict[str, Any]

    def _inputs(self, observation: Any, batched: bool) -> list[np.ndarray]:
        shapes = self.meta["inputs"]
        if self.meta["dict_obs"]:
            if not isinstance(observation, Mapping) or set(observation) < set(shapes):
                raise ValueError(f"observation must be a dict with keys {list(shapes)}, got "
                                 f"{list(observation) if isinstance(observation, Mapping) else type(observation)}")
            values = [observation[k] for k in shapes]
        else:
            values = [observation]
        out = []
        for (key, shape), value in zip(shapes.items(), values, strict=True):
            array = np.asarray(value, dtype=np.float32)
            array = array if batched else array[None]
            if list(array.shape[1:]) != shape:
                raise ValueError(f"observation {key!r} has shape {array.shape[1:]}, policy expects {tuple(shape)}")
            out.append(np.ascontiguousarray(array))
        return out

    def predict_batch(self, observations: Any) -> np.ndarray:
        """Batch of observations [N, ...] -> actions [N, A] (or [N] for discrete)."""
        return self._run(self._inputs(observations, batched=True))

    def __call__(self, observation: Any) -> np.ndarray:
        """One observation -> one action [A]."""
        return self._run(self._inputs(observation, batched=False))[0]

    def _run(self, inputs: list[np.ndarray]) -> np.ndarray:
        raise NotImplementedError


class OnnxPolicy(_Runtime):
    """An ONNX policy on onnxruntime's CPU provider (one thread by default: a control loop shares
    the CPU with drivers; more threads rarely help a small MLP)."""

    def __init__(self, path: str | pathlib.Path, threads: int = 1) -> None:
        import onnxruntime as ort

        path = pathlib.Path(path)
        _check_onnx_bytes(path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise UnsafeFileError(f"{path} is not a loadable ONNX model: {err}") from None
        meta = self.session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
        if meta is None:
            raise ValueError(f"{path} has no '{METADATA_KEY}' metadata; "
                             "export it with agents.deploy.export.export_onnx")
        self.meta = json.loads(meta)
        self.names = [i.name for i in self.session.get_inputs()]

    def _run(self, inputs: list[np.ndarray]) -> np.ndarray:
        return self.session.run(None, dict(zip(self.names, inputs, strict=True)))[0]


def _check_onnx_bytes(path: pathlib.Path) -> None:
    """ONNX is protobuf; refuse pickles and zip archives under an .onnx name early and clearly."""
    with open(path, "rb") as f:
        head = f.read(4)
    if head[:1] == b"\x80" or head[:2] == b"PK":
        raise UnsafeFileError(f"{path} is a pickle or zip archive, not an ONNX protobuf; refusing to load it")


class ProgramPolicy(_Runtime):
    """A ``torch.export`` policy (``.pt2``), parsed by :func:`check_pt2_archive` before torch loads it."""

    def __init__(self, path: str | pathlib.Path) -> None:
        import torch

        check_pt2_archive(path)
        extra = {f"{METADATA_KEY}.json": ""}
        self.program = torch.export.load(str(path), extra_files=extra)
        self.module = self.program.module()
        self.meta = json.loads(extra[f"{METADATA_KEY}.json"])
        self._torch = torch

    def _run(self, inputs: list[np.ndarray]) -> np.ndarray:
        with self._torch.no_grad():
            return self.module(*(self._torch.from_numpy(x) for x in inputs)).numpy()


def load_policy(path: str | pathlib.Path) -> OnnxPolicy | ProgramPolicy:
    """Pick the runtime by suffix: ``.onnx`` -> :class:`OnnxPolicy`, ``.pt2`` -> :class:`ProgramPolicy`."""
    suffix = pathlib.Path(path).suffix
    if suffix == ".onnx":
        return OnnxPolicy(path)
    if suffix == ".pt2":
        return ProgramPolicy(path)
    raise ValueError(f"unknown policy file {path!r}: expected .onnx or .pt2")
