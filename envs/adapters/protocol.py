"""The wire protocol between a control process and ``scripts/robot_server.py`` (ZeroMQ REQ/REP).

A message is a ZeroMQ multipart message: frame 0 is a UTF-8 JSON header, frames 1..N are the raw
bytes of N arrays (C order, little-endian) described in the header. Nothing is ever unpickled:
JSON plus flat arrays of whitelisted dtypes is the whole format, and every size is checked.

Header fields::

    {"v": 1,                          # protocol version
     "op": "hello" | "observe" | "act" | "stop" | "stats",
     "id": 17,                        # request id; a reply echoes it; a retried act reuses it
     "client": "4be1...",             # requests: the sending client (an act needs one)
     "session": "9f0c...",            # requests: the session they are meant for (null before hello)
     "body": {...},                   # small JSON values (times, limits, error text)
     "arrays": [["ee_delta", "float64", [3]], ...],   # name, dtype, shape of frames 1..N
     # replies only (session: the serving process's):
     "ok": true, "error": "", "error_type": ""}

Requests: ``hello`` -> body ``{"limits": ..., "session": ..., "period_s": s | null}`` (the robot's
own seconds per command when it steps rather than runs in real time); ``observe`` -> arrays = the
observation, body ``{"time_s": t}``; ``act`` with arrays = command -> arrays = command sent;
``stop`` -> safe stop; ``stats`` -> counters. A new ``session`` means the robot process restarted;
a server refuses an ``act`` whose request names another session (``RobotRestarted``), so a command
queued for the old process never moves the robot after a restart. A retried ``act`` is recognised
by its ``(client, id)`` pair, so two clients whose ids both start at 1 never shadow each other.

Sizes are bounded before anything is parsed: the robot server's socket drops any request frame
over :data:`MAX_REQUEST_FRAME_BYTES` (ZeroMQ's ``MAXMSGSIZE``: the frame is never buffered),
replies are capped per frame at :data:`MAX_ARRAY_BYTES` and in total at :data:`MAX_MESSAGE_BYTES`.
Header values are typed (``op`` a known name, ``id`` a non-negative 63-bit integer, no NaN or
infinity anywhere), so an error reply can always echo them.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from envs.adapters.errors import ProtocolError
from foresight_base.checks import check_choice

VERSION = 1
OPS = ("hello", "observe", "act", "stop", "stats")
DTYPES = ("float32", "float64", "int32", "int64", "uint8", "bool")
MAX_HEADER_BYTES = 1 << 16
MAX_ARRAYS = 32
MAX_ARRAY_BYTES = 1 << 24
MAX_MESSAGE_BYTES = 1 << 26
MAX_REQUEST_FRAME_BYTES = MAX_HEADER_BYTES
"""Requests carry commands (a few floats): the server's socket refuses any bigger frame outright."""
MAX_NDIM = 4
MAX_ID = (1 << 63) - 1
MAX_NAME_CHARS = 64


def encode(header: Mapping[str, Any], arrays: Mapping[str, np.ndarray] | None = None) -> list[bytes]:
    """Header dict + arrays -> frames. Arrays are sent as little-endian C-order bytes."""
    arrays = arrays or {}
    specs, frames = [], []
    for name, value in arrays.items():
        array = np.ascontiguousarray(value)
        if array.dtype.name not in DTYPES:
            raise ProtocolError(f"array {name!r} has dtype {array.dtype}; the protocol carries {DTYPES}")
        array = array.astype(array.dtype.newbyteorder("<"), copy=False)
        specs.append([str(name), array.dtype.name, list(array.shape)])
        frames.append(array.tobytes())
    head = json.dumps({**header, "v": VERSION, "arrays": specs}, allow_nan=False).encode()
    return [head, *frames]


def decode(frames: list[bytes], max_bytes: int = MAX_MESSAGE_BYTES) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Frames -> (header, arrays), refusing anything that is not exactly the documented format."""
    if not frames or len(frames) > MAX_ARRAYS + 1:
        raise ProtocolError(f"a message has 1 to {MAX_ARRAYS + 1} frames, got {len(frames)}")
    total = sum(len(frame) for frame in frames)
    if total > max_bytes:
        raise ProtocolError(f"message of {total} bytes exceeds {max_bytes}")
    header = _header(frames[0])
    specs = header.get("arrays", [])
    if not isinstance(specs, list) or len(specs) != len(frames) - 1:
        raise ProtocolError(f"header lists {len(specs) if isinstance(specs, list) else specs!r} arrays "
                            f"but {len(frames) - 1} array frames follow")
    arrays = {}
    for spec, frame in zip(specs, frames[1:], strict=True):
        name, array = _array(spec, frame)
        arrays[name] = array
    return header, arrays


def _refuse_constant(name: str) -> Any:
    raise ProtocolError(f"header holds {name}; JSON numbers must be finite")


def _header(frame: bytes) -> dict[str, Any]:
    if len(frame) > MAX_HEADER_BYTES:
        raise ProtocolError(f"header of {len(frame)} bytes exceeds {MAX_HEADER_BYTES}")
    try:
        header = json.loads(frame.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise ProtocolError(f"header is not UTF-8 JSON: {str(err)[:200]}") from None
    if not isinstance(header, dict) or header.get("v") != VERSION:
        raise ProtocolError(f"header must be a JSON object with v={VERSION}, got {str(header)[:80]}")
    if not valid_id(header.get("id", 0)):
        raise ProtocolError(f"header id must be an integer in [0, 2**63), got {str(header.get('id'))[:40]}")
    if not isinstance(header.get("op", ""), str) or len(header.get("op", "")) > MAX_NAME_CHARS:
        raise ProtocolError(f"header op must be one of {OPS}, got {str(header.get('op'))[:40]}")
    for key in ("session", "client"):
        value = header.get(key)
        if value is not None and not (isinstance(value, str) and len(value) <= MAX_NAME_CHARS):
            raise ProtocolError(f"header {key} must be null or a string of <= {MAX_NAME_CHARS} chars, "
                                f"got {str(value)[:40]}")
    if not isinstance(header.get("body", {}), dict):
        raise ProtocolError(f"header body must be a JSON object, got {str(header.get('body'))[:40]}")
    return header


def valid_id(value: Any) -> bool:
    """A request id: a non-negative integer that fits 63 bits (never a bool, float or string)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ID


def _array(spec: Any, frame: bytes) -> tuple[str, np.ndarray]:
    if not (isinstance(spec, list) and len(spec) == 3 and isinstance(spec[0], str)):
        raise ProtocolError(f"array spec must be [name, dtype, shape], got {str(spec)[:80]}")
    name, dtype, shape = spec
    check_choice("dtype", dtype, DTYPES, context=f" for array {name!r}", error=ProtocolError)
    if not (isinstance(shape, list) and len(shape) <= MAX_NDIM
            and all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d for d in shape)):
        raise ProtocolError(f"array {name!r} shape {shape!r} must be <= {MAX_NDIM} non-negative ints")
    itemsize = np.dtype(dtype).itemsize
    expected = math.prod(shape) * itemsize
    if expected > MAX_ARRAY_BYTES or len(frame) != expected:
        raise ProtocolError(f"array {name!r} {dtype}{shape} needs {expected} bytes, frame has {len(frame)}"
                            f" (limit {MAX_ARRAY_BYTES})")
    array = np.frombuffer(frame, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape)
    return name, array.astype(np.dtype(dtype), copy=True)


def reply_header(request: Mapping[str, Any], session: str, body: Mapping[str, Any] | None = None,
                 error: BaseException | None = None) -> dict[str, Any]:
    """The header of a reply to ``request``: echoes its op and id only when they are valid (a
    malformed request gets ``op: ""``, ``id: 0``), so the reply itself always encodes."""
    op, request_id = request.get("op", ""), request.get("id", 0)
    return {"op": op if op in OPS else "", "id": request_id if valid_id(request_id) else 0, "session": session,
            "ok": error is None, "body": dict(body or {}),
            "error": "" if error is None else str(error)[:2000],
            "error_type": "" if error is None else type(error).__name__}
