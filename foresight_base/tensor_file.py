"""One file format for every checkpoint of ours: tensors and plain data behind a SHA-256.

A file is ``MAGIC (16 bytes) | sha256(payload) (32 bytes) | payload``, the payload being what
``torch.save`` writes. :func:`save` writes to a temp file, fsyncs and renames, so a crash (even
``kill -9``) leaves the old file or the new one; a full disk raises a plain ``OSError`` naming the
file and leaves no temp file behind. :func:`load` checks the digest before torch parses a byte,
then reads with ``torch.load(weights_only=True)`` through the same open file, so a flipped bit
anywhere, a truncation, or a payload that would run code raises :class:`TensorFileError`.

Files written before digests existed (a bare ``torch.save`` zip) still load, with an
:class:`UnverifiedFileWarning`: refusing them would strand every earlier run, and a digest guards
against damage, not against an attacker (who can write a digest too); ``weights_only`` is what
keeps a crafted file from running code, digest or not.

It lives in ``foresight_base`` because perception, world models and agents all write checkpoints
and must mean the same file; it uses only the standard library and torch (imported on use).

Example:
    >>> import tempfile, pathlib, torch
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "weights.pt"
    >>> _ = save({"format": "demo", "w": torch.ones(2)}, path)
    >>> load(path)["w"].tolist()
    [1.0, 1.0]
"""
from __future__ import annotations

import hashlib
import io
import os
import pathlib
import warnings
from collections.abc import Callable
from typing import IO, Any

MAGIC = b"FORESIGHT-SHA256"
DIGEST_BYTES = 32
HEADER_BYTES = len(MAGIC) + DIGEST_BYTES
ZIP_MAGIC = b"PK\x03\x04"  # what a bare torch.save file starts with
_CHUNK = 1 << 20


class TensorFileError(ValueError):
    """A file that is missing, truncated, altered, not in our format, or would run code if loaded."""


class UnverifiedFileWarning(UserWarning):
    """A file without a digest (written before digests existed): loaded, but damage goes unseen."""


class _HashingWriter:
    """A write-only stream that hashes what passes through and keeps the first OS error.

    torch's writer turns an ``OSError`` from ``write`` into an opaque ``RuntimeError``
    (``enforce fail at inline_container.cc``); keeping the original lets :func:`write_atomic`
    report ``[Errno 28] No space left on device`` instead.
    """

    def __init__(self, file: IO[bytes]) -> None:
        self.file, self.hash = file, hashlib.sha256()
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        try:
            written = self.file.write(data)
        except OSError as err:
            self.error = self.error or err
            raise
        self.hash.update(data)
        return written

    def flush(self) -> None:
        self.file.flush()


class _PayloadView(io.RawIOBase):
    """The payload of an open file as a seekable stream whose position 0 is the payload's first byte."""

    def __init__(self, file: IO[bytes], offset: int) -> None:
        super().__init__()
        self.file, self.offset = file, offset
        file.seek(offset)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, position: int, whence: int = os.SEEK_SET) -> int:
        self.file.seek(self.offset + position if whence == os.SEEK_SET else position, whence)
        return self.tell()

    def tell(self) -> int:
        return self.file.tell() - self.offset

    def readinto(self, buffer: Any) -> int:
        return self.file.readinto(buffer)


def write_atomic(path: str | os.PathLike, write_payload: Callable[[Any], None]) -> pathlib.Path:
    """Write ``MAGIC | digest | payload`` to ``path`` atomically; ``write_payload(stream)`` writes the payload.

    Raises:
        OSError: the disk is full or the folder is not writable (errno kept); ``path`` is untouched.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    stream: _HashingWriter | None = None
    try:
        with open(tmp, "w+b") as file:
            file.write(MAGIC + bytes(DIGEST_BYTES))
            stream = _HashingWriter(file)
            write_payload(stream)
            file.seek(len(MAGIC))
            file.write(stream.hash.digest())
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        cause = stream.error if stream is not None and stream.error is not None else err
        if isinstance(cause, OSError):
            raise OSError(cause.errno, f"could not write {path}: {cause.strerror or cause} "
                                       "(the previous file, if any, is unchanged)") from err
        raise
    _fsync_dir(path.parent)
    return path


def _fsync_dir(folder: pathlib.Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save(obj: Any, path: str | os.PathLike) -> pathlib.Path:
    """``torch.save(obj)`` behind a digest, atomically (see :func:`write_atomic`)."""
    import torch

    return write_atomic(path, lambda stream: torch.save(obj, stream))


def load(path: str | os.PathLike, map_location: Any = "cpu") -> Any:
    """Verify the digest, then ``torch.load(weights_only=True)`` the payload.

    Raises:
        TensorFileError: missing, damaged, not our format, or holding objects that would run code.
    """
    import torch

    path = pathlib.Path(path)
    if not path.is_file():
        raise TensorFileError(f"{path} does not exist")
    try:
        with open(path, "rb") as file:
            offset = _verified_payload_offset(file, path)
            try:
                return torch.load(_PayloadView(file, offset), map_location=map_location, weights_only=True)
            except Exception as err:  # noqa: BLE001 - any failure to parse untrusted bytes is one typed error
                raise TensorFileError(f"{path} does not load as tensors and plain data "
                                      f"({type(err).__name__}: {str(err)[:300]})") from err
    except OSError as err:  # unreadable (permissions, EIO half-way): as useless as a damaged file
        raise TensorFileError(f"cannot read {path}: {err}") from err


def _verified_payload_offset(file: IO[bytes], path: pathlib.Path) -> int:
    """Where the payload starts, after checking its digest (0 for an unverified bare zip)."""
    head = file.read(HEADER_BYTES)
    if head.startswith(ZIP_MAGIC):
        warnings.warn(f"{path} has no digest (written before digests existed): loaded unverified",
                      UnverifiedFileWarning, stacklevel=3)
        return 0
    if len(head) < HEADER_BYTES or not head.startswith(MAGIC):
        raise TensorFileError(f"{path} is not a Foresight tensor file (starts with {head[:16]!r}, "
                              f"expected {MAGIC!r}); it is damaged or another format")
    digest = hashlib.sha256()
    while chunk := file.read(_CHUNK):
        digest.update(chunk)
    if digest.digest() != head[len(MAGIC):]:
        raise TensorFileError(f"{path} is damaged: its content does not match the SHA-256 written with it "
                              "(a flipped bit, a truncation or an overwrite)")
    return HEADER_BYTES
