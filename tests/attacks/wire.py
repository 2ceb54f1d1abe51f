"""Malformed robot-protocol requests: what a buggy or hostile local client can put on the socket.

Every case is a list of frames that fits the server's per-frame cap (so it reaches the handler);
each must get an ``ok: false`` reply with a typed error, and the server must answer the next
request. ``session`` is the serving process's id, so act cases get past the session check.
"""
from __future__ import annotations

import json

import numpy as np

GOOD_ACT = {"velocity": np.array([0.1, 0.1]), "gripper": np.zeros(1)}


def _raw(text: str) -> list[bytes]:
    return [text.encode()]


def _head(serving: str, **fields) -> list[bytes]:
    return [json.dumps({"v": 1, "op": "hello", "id": 1, "session": serving, "client": "fuzz", **fields}).encode()]


def _act(serving: str, arrays: list, frames: list[bytes], **fields) -> list[bytes]:
    header = {"v": 1, "op": "act", "id": 5, "session": serving, "client": "fuzz", "arrays": arrays, **fields}
    return [json.dumps(header).encode(), *frames]


def malformed_requests(session: str) -> dict[str, list[bytes]]:
    """Name -> frames of one malformed request."""
    f64 = np.float64(0.1).tobytes()
    two = np.array([0.1, 0.1]).tobytes()
    cases = {
        "empty header": [b""], "truncated JSON": _raw("{"), "invalid UTF-8": [b"\xff\xfe\x00"],
        "JSON null": _raw("null"), "JSON list": _raw("[]"), "JSON number": _raw("1"), "JSON string": _raw('"hi"'),
        "deep nesting": _raw("[" * 60000), "op NaN": _raw('{"v":1,"op":NaN,"id":1}'),
        "op Infinity": _raw('{"v":1,"op":Infinity,"id":1}'), "op 1e400": _raw('{"v":1,"op":1e400,"id":1}'),
        "id NaN": _raw('{"v":1,"op":"hello","id":NaN}'), "id Infinity": _raw('{"v":1,"op":"hello","id":Infinity}'),
        "id -Infinity": _raw('{"v":1,"op":"hello","id":-Infinity}'),
        "id 1e400": _raw('{"v":1,"op":"hello","id":1e400}'),
        "body NaN": _raw('{"v":1,"op":"hello","id":1,"body":{"t":NaN}}'), "v NaN": _raw('{"v":NaN,"op":"hello"}'),
        "v missing": _raw('{"op":"hello","id":1}'), "v 2": _raw('{"v":2,"op":"hello","id":1}'),
        "v string": _raw('{"v":"1","op":"hello","id":1}'),
    }
    for name, value in {"negative": -1, "2**63": 2 ** 63, "float": 1.5, "bool": True, "string": "1", "list": [],
                        "object": {}}.items():
        cases[f"id {name}"] = _head(session, id=value)
    for name, value in {"number": 1, "null": None, "list": [], "object": {}, "long": "x" * 10000,
                        "unknown": "reboot", "empty": ""}.items():
        cases[f"op {name}"] = _head(session, op=value)
    for name, value in {"number": 1, "list": [], "long": "s" * 1000}.items():
        cases[f"session {name}"] = _head(session, session=value)
    for name, value in {"number": 1, "object": {}, "long": "c" * 100}.items():
        cases[f"client {name}"] = _head(session, client=value)
    for name, value in {"list": [], "string": "b", "number": 3}.items():
        cases[f"body {name}"] = _head(session, body=value)
    cases |= {
        "arrays not a list": _act(session, "x", []),
        "array spec without frame": _act(session, [["velocity", "float64", [2]]], []),
        "frame without spec": _act(session, [], [two]),
        "spec of numbers": _act(session, [[1, 2, 3]], [two]),
        "dtype float16": _act(session, [["velocity", "float16", [2]]], [np.zeros(2, np.float16).tobytes()]),
        "dtype object": _act(session, [["velocity", "O", [2]]], [two]),
        "negative dim": _act(session, [["velocity", "float64", [-2]]], [two]),
        "bool dim": _act(session, [["velocity", "float64", [True, True]]], [f64]),
        "too many dims": _act(session, [["velocity", "float64", [1, 1, 1, 1, 2]]], [two]),
        "huge dim": _act(session, [["velocity", "float64", [2 ** 40]]], [two]),
        "frame size mismatch": _act(session, [["velocity", "float64", [3]]], [two]),
        "33 arrays": _act(session, [[f"a{i}", "float64", [1]] for i in range(33)], [f64] * 33),
        "NaN command": _act(session, [["velocity", "float64", [2]], ["gripper", "float64", [1]]],
                            [np.array([np.nan, 0.0]).tobytes(), f64]),
        "inf command": _act(session, [["velocity", "float64", [2]], ["gripper", "float64", [1]]],
                            [np.array([np.inf, 0.0]).tobytes(), f64]),
        "out of bounds command": _act(session, [["velocity", "float64", [2]], ["gripper", "float64", [1]]],
                                      [np.array([5.0, 0.0]).tobytes(), f64]),
        "missing key": _act(session, [["velocity", "float64", [2]]], [two]),
        "extra key": _act(session, [["velocity", "float64", [2]], ["gripper", "float64", [1]], ["x", "float64", [1]]],
                          [two, f64, f64]),
        "wrong shape": _act(session, [["velocity", "float64", [1]], ["gripper", "float64", [1]]], [f64, f64]),
        "int command": _act(session, [["velocity", "int64", [2]], ["gripper", "bool", [1]]],
                            [np.zeros(2, np.int64).tobytes(), b"\x01"]),
        "act without client": [json.dumps({"v": 1, "op": "act", "id": 9, "session": session,
                                           "arrays": [["velocity", "float64", [2]], ["gripper", "float64", [1]]]}
                                          ).encode(), two, f64],
        "act for another session": _act(session, [["velocity", "float64", [2]], ["gripper", "float64", [1]]],
                                        [two, f64], id=6, session="an-old-process"),
    }
    return cases
