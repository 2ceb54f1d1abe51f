"""A real parse of a ``.pt2`` (``torch.export``) archive before ``torch.export.load`` touches it.

``torch.export.load`` runs code from the file in more ways than pickles: payloads whose config says
``use_pickle`` (any truthy JSON value, under any JSON spelling of the key), ``custom_obj`` /
``opaque_obj`` constants, sample inputs that fail the safe unpickler (it falls back to the unsafe
one), ``guards_code`` (Python source it ``exec``s when the module is built), symbolic-shape strings
(parsed by ``sympy.sympify``, which ``eval``s), node targets and operator arguments resolved by
``getattr`` on ``torch`` (``torch.os.system`` resolves), and AOTInductor shared libraries.

So every member is parsed, not searched: the archive must have exactly the layout
:func:`agents.deploy.export.export_program` writes; every JSON member must parse (duplicate keys
refused, so no two readers can disagree); payloads must be raw tensor bytes (``use_pickle`` exactly
``false``); the program may call only ATen/prims operators and the symbolic-integer helpers torch
itself emits (plus the ``torch.no_grad`` subgraph wrapper), with no custom objects or operator
arguments; guards may only compare input sizes; symbolic expressions may use only sympy's integer
constructors; sample inputs must load with
``torch.load(weights_only=True)``. Anything else raises :class:`UnsafeFileError` naming what.
"""
from __future__ import annotations

import io
import json
import pathlib
import re
import zipfile
from typing import Any

MODEL = "model"
REQUIRED = ("archive_format", "archive_version", f"models/{MODEL}.json", f"data/weights/{MODEL}_weights_config.json",
            f"data/constants/{MODEL}_constants_config.json", f"data/sample_inputs/{MODEL}.pt", "extra/foresight.json")
_MEMBER = re.compile(r"^(?:archive_format|archive_version|byteorder|\.data/version|\.data/serialization_id"
                     r"|models/model\.json|data/weights/weight_\d+|data/weights/model_weights_config\.json"
                     r"|data/constants/tensor_\d+|data/constants/model_constants_config\.json"
                     r"|data/sample_inputs/model\.pt|extra/[\w.-]+\.json)$")
_PAYLOAD_PATH = {"weights": re.compile(r"^weight_\d+$"), "constants": re.compile(r"^tensor_\d+$")}
_PAYLOAD_KEYS = {"path_name", "is_param", "use_pickle", "tensor_meta"}
_TARGET = re.compile(r"^(?:torch\.ops\.(?:aten|prims)\.\w+\.\w+|torch\.ops\.higher_order\.wrap_with_set_grad_enabled"
                     r"|_operator\.(?:getitem|add|sub|mul|truediv|floordiv|mod|neg|pos|eq|ne|lt|le|gt|ge|and_|or_)"
                     r"|torch\.sym_(?:int|float|max|min|not|ite|sum|sqrt)|torch\._sym_sqrt|math\.(?:trunc|ceil|floor))$")
_REFUSED_ARGUMENTS = {"as_custom_obj", "as_operator"}
_SUBGRAPH_TARGETS = {"torch.ops.higher_order.wrap_with_set_grad_enabled"}  # torch.no_grad() inside SB3's _predict
_EXPR_NAMES = {"Symbol", "Integer", "Rational", "Add", "Mul", "Max", "Min", "Mod", "FloorDiv", "CeilToInt",
               "FloorToInt", "TruncToInt", "PythonMod", "CleanDiv", "IntTrueDiv", "Abs", "True", "False",
               "positive", "negative", "nonnegative", "nonpositive", "integer", "real", "finite", "nonzero"}
_EXPR_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_]\w*)|(?P<number>-?\d+)|(?P<string>'[a-z]+\d+')"
                         r"|(?P<punct>[(),=+\-*/]))")
_SYMBOL = re.compile(r"^[a-z]+\d+$")
_GUARD_TERM = r"(?:L(?:\[(?:'\w+'|\d+)\])+\.size\(\)\[\d+\]|\d+)"
_GUARD = re.compile(rf"^{_GUARD_TERM}(?:\s*(?:==|!=|<=|>=|<|>|\+|-|\*|//|%)\s*{_GUARD_TERM})*$")
"""Guards torch ``exec``s: e.g. ``L['obs'][1].size()[0] == L['obs'][0].size()[0]`` (dict inputs
share a batch size); only input sizes, integers and arithmetic or comparison operators."""
MAX_EXPR_CHARS = 2000


class UnsafeFileError(ValueError):
    """A model file that could run code when loaded, or is not the format its name says."""


def check_pt2_archive(path: str | pathlib.Path) -> None:
    """Refuse a ``.pt2`` archive unless it is exactly the plain-data layout our exporter writes."""
    path = pathlib.Path(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise UnsafeFileError(f"{path} is not a torch.export archive: {err}") from None
    with archive:
        members = _members(archive, path)
        parsed = {name: _json(archive.read(members[name]), path, name) for name in members if name.endswith(".json")}
        if archive.read(members["archive_format"]) != b"pt2":
            raise UnsafeFileError(f"{path}: archive_format is not 'pt2'")
        for kind in ("weights", "constants"):
            config_name = f"data/{kind}/{MODEL}_{kind}_config.json"
            _check_payloads(parsed[config_name], kind, members, path, config_name)
        _check_program(parsed[f"models/{MODEL}.json"], path)
        _check_sample_inputs(archive.read(members[f"data/sample_inputs/{MODEL}.pt"]), path)


def _members(archive: zipfile.ZipFile, path: pathlib.Path) -> dict[str, str]:
    """Member name without its root folder -> full name; one root, no duplicates, nothing unknown."""
    names = archive.namelist()
    roots = {name.split("/", 1)[0] for name in names}
    if len(roots) != 1 or any("/" not in name for name in names):
        raise UnsafeFileError(f"{path}: a torch.export archive has one root folder, found {sorted(roots)[:5]}")
    if len({name.lower() for name in names}) != len(names):
        raise UnsafeFileError(f"{path}: duplicate member names (zip readers may pick different copies)")
    members = {name.split("/", 1)[1]: name for name in names}
    for short in members:
        if not _MEMBER.match(short):
            raise UnsafeFileError(f"{path}: member {short!r} is not an allowed torch.export member "
                                  "(only JSON configs, raw tensors and weights-only sample inputs)")
    missing = [name for name in REQUIRED if name not in members]
    if missing:
        raise UnsafeFileError(f"{path}: not an archive written by agents.deploy.export (missing {missing})")
    return members


def _json(data: bytes, path: pathlib.Path, name: str) -> Any:
    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise UnsafeFileError(f"{path}: {name!r} repeats JSON keys {repeated[:3]}")
        return dict(pairs)

    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=unique)
    except (UnicodeDecodeError, ValueError) as err:
        if isinstance(err, UnsafeFileError):
            raise
        raise UnsafeFileError(f"{path}: {name!r} is not UTF-8 JSON: {err}") from None


def _check_payloads(config: Any, kind: str, members: dict[str, str], path: pathlib.Path, name: str) -> None:
    entries = config.get("config") if isinstance(config, dict) else None
    if not isinstance(entries, dict) or set(config) != {"config"}:
        raise UnsafeFileError(f"{path}: {name!r} must be {{'config': {{name: payload}}}}")
    for fqn, entry in entries.items():
        if not isinstance(entry, dict) or not set(entry) <= _PAYLOAD_KEYS:
            raise UnsafeFileError(f"{path}: {name!r} entry {fqn!r} has unexpected fields "
                                  f"{sorted(set(entry) - _PAYLOAD_KEYS) if isinstance(entry, dict) else entry!r}")
        if entry.get("use_pickle") is not False:
            raise UnsafeFileError(f"{path}: {name!r} entry {fqn!r} has use_pickle={entry.get('use_pickle')!r}; "
                                  "only raw tensor payloads (use_pickle false) are loaded")
        target = entry.get("path_name")
        if not (isinstance(target, str) and _PAYLOAD_PATH[kind].match(target) and f"data/{kind}/{target}" in members):
            raise UnsafeFileError(f"{path}: {name!r} entry {fqn!r} points at {target!r}, not a raw tensor member")
        if not isinstance(entry.get("tensor_meta"), dict):
            raise UnsafeFileError(f"{path}: {name!r} entry {fqn!r} has no tensor_meta")


def _check_program(program: Any, path: pathlib.Path) -> None:
    if not isinstance(program, dict) or not isinstance(program.get("graph_module"), dict):
        raise UnsafeFileError(f"{path}: models/{MODEL}.json is not a serialized ExportedProgram")
    guards = program.get("guards_code", [])
    bad = [g for g in guards if not (isinstance(g, str) and _GUARD.match(g))] if isinstance(guards, list) else guards
    if bad:
        raise UnsafeFileError(f"{path}: guards_code {str(bad)[:120]} is Python torch would exec, not a size comparison")
    graph = program["graph_module"].get("graph")
    if not isinstance(graph, dict) or not isinstance(graph.get("nodes"), list):
        raise UnsafeFileError(f"{path}: models/{MODEL}.json has no graph nodes")
    for symbol in program.get("range_constraints", {}) or {}:
        if not _SYMBOL.match(str(symbol)):
            raise UnsafeFileError(f"{path}: range constraint on {symbol!r}, not a shape symbol")
    _walk(program, path, in_subgraph_call=False)


def _walk(value: Any, path: pathlib.Path, in_subgraph_call: bool) -> None:
    """Check every node (also in subgraphs), refuse argument kinds that name code, check expressions."""
    if isinstance(value, dict):
        if value.get("custom_obj_values", {}) != {}:
            raise UnsafeFileError(f"{path}: the program holds custom objects (unpickled on load)")
        is_node = "target" in value  # a graph node (torch resolves its target by getattr on torch)
        if is_node and not (isinstance(value["target"], str) and _TARGET.match(value["target"])):
            raise UnsafeFileError(f"{path}: node target {value['target']!r} is not an ATen/prims operator")
        calls_subgraph = is_node and value["target"] in _SUBGRAPH_TARGETS
        for key, item in value.items():
            if key in _REFUSED_ARGUMENTS or (key == "as_graph" and not in_subgraph_call):
                raise UnsafeFileError(f"{path}: the program has a {key!r} argument (names code or a subgraph)")
            if key == "expr_str":
                check_expression(item, path)
            _walk(item, path, calls_subgraph or (in_subgraph_call and not is_node))
    elif isinstance(value, list):
        for item in value:
            _walk(item, path, in_subgraph_call)


def check_expression(text: Any, path: pathlib.Path | str = "<expr>") -> None:
    """A symbolic shape, e.g. ``Symbol('s32', positive=True, integer=True)``: sympy names only.

    torch parses these with ``sympy.sympify``, which ``eval``s; with only the names above, symbol
    strings, integers and ``( ) , = + - * /`` (no ``**``: no 9**9**9), nothing else is reachable.
    """
    if not isinstance(text, str) or len(text) > MAX_EXPR_CHARS or "**" in text:
        raise UnsafeFileError(f"{path}: symbolic expression {str(text)[:80]!r} is not a plain shape expression")
    position = 0
    while position < len(text):
        match = _EXPR_TOKEN.match(text, position)
        if match is None or match.end() == position or (match["name"] and match["name"] not in _EXPR_NAMES):
            raise UnsafeFileError(f"{path}: symbolic expression {text[:80]!r} holds {text[position:position + 20]!r}"
                                  "; only sympy's integer constructors and shape symbols are allowed")
        position = match.end()


def _check_sample_inputs(data: bytes, path: pathlib.Path) -> None:
    import torch

    try:
        torch.load(io.BytesIO(data), weights_only=True)
    except Exception as err:  # noqa: BLE001 - any failure of the safe unpickler means refuse
        raise UnsafeFileError(f"{path}: sample inputs are not weights-only data: {str(err)[:200]}") from None
