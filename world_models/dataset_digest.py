"""Content digests of a dataset: one SHA-256 per episode group and one for ``metadata.json``.

HDF5 has no checksum of its own for plain datasets, so a flipped bit in an array reads back as a
different number. Each episode group stores ``attrs["sha256"]``: the digest of every array in it
(path, dtype, shape, bytes, in sorted order) and of its other attributes, computed from what h5py
reads back after writing, so writer and reader hash exactly the same bytes (one read each). ``metadata.json``
carries the digest of the rest of its own JSON. Minari ignores both (extra attributes and keys).
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

EPISODE_DIGEST_ATTR = "sha256"
METADATA_DIGEST_KEY = "foresight_sha256"
FILE_DIGEST_KEY = "foresight_hdf5_sha256"
_CHUNK = 1 << 20


def file_digest(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a whole file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def episode_digest(attrs: Mapping[str, Any], content: Mapping[str, Any]) -> str:
    """Hex SHA-256 of an episode group: its attributes (the digest's own excluded) and its arrays.

    Args:
        attrs: the group's HDF5 attributes.
        content: the group read back as ``{name: array | {name: array, ...}}``.
    """
    digest = hashlib.sha256()
    for key in sorted(k for k in attrs if k != EPISODE_DIGEST_ATTR):
        digest.update(f"attr:{key}={np.asarray(attrs[key]).tolist()!r};".encode())
    _hash_tree(digest, content, "")
    return digest.hexdigest()


def _hash_tree(digest: Any, node: Any, path: str) -> None:
    if isinstance(node, Mapping):
        for key in sorted(node):
            _hash_tree(digest, node[key], f"{path}/{key}")
        return
    array = np.ascontiguousarray(node)
    digest.update(f"data:{path}:{array.dtype.str}:{array.shape};".encode())
    digest.update(array.tobytes())


def metadata_digest(metadata: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the canonical JSON of ``metadata`` without its digest key."""
    rest = {k: v for k, v in metadata.items() if k != METADATA_DIGEST_KEY}
    return hashlib.sha256(json.dumps(rest, sort_keys=True).encode()).hexdigest()
