"""Hyperparameters per algorithm, keyed by env id, in rl-baselines3-zoo's YAML format.

Each ``<algo>.yml`` in this folder maps an env id to the keyword arguments of the SB3 algorithm,
plus the zoo's special keys (``n_timesteps``, ``policy``, ``n_envs``, ``normalize``,
``env_wrapper``, ``frame_stack``), and our ``env_kwargs`` (``gymnasium.make`` keyword arguments the
preset needs, e.g. ``obs_mode: goal``) and ``vec_env`` (``batched`` for batched torch worlds).
``default`` is used for ids without an entry. Values written as strings in the zoo's style
(``"dict(net_arch=[64, 64])"``, ``lin_7.3e-4``) are parsed without ``eval``: only literals are
accepted, so a hyperparameter file can never run code.

Example:
    >>> hp = load_hyperparams("sac", "Foresight/PandaReach-v0")
    >>> hp["policy"], hp["replay_buffer_class"]
    ('MultiInputPolicy', 'HerReplayBuffer')
"""
from __future__ import annotations

import ast
import pathlib
from typing import Any

import yaml

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_KEY = "default"
# Keys the zoo's YAML carries that are not constructor arguments of the algorithm.
SPECIAL_KEYS = ("n_timesteps", "policy", "n_envs", "normalize", "env_wrapper", "frame_stack", "env_kwargs", "vec_env")
# Keys whose zoo-style string values are Python literals (``dict(...)``, ``{...}``).
LITERAL_KEYS = ("policy_kwargs", "replay_buffer_kwargs", "normalize", "env_wrapper", "train_freq")


def available_algos() -> list[str]:
    """Algorithms that have a hyperparameter file."""
    return sorted(p.stem for p in HERE.glob("*.yml"))


def read_table(algo: str, folder: pathlib.Path | None = None) -> dict[str, dict[str, Any]]:
    """The whole ``<algo>.yml`` as ``{env_id: {key: value}}`` (YAML anchors resolved)."""
    path = (folder or HERE) / f"{algo}.yml"
    if not path.is_file():
        raise ValueError(f"no hyperparameters for algo {algo!r}; valid: {', '.join(available_algos())}")
    with path.open() as f:
        return yaml.safe_load(f) or {}


def load_hyperparams(algo: str, env_id: str, folder: pathlib.Path | None = None) -> dict[str, Any]:
    """Hyperparameters for ``algo`` on ``env_id``: the env's entry, else ``default``.

    Returns a fresh dict with zoo-style strings parsed into Python values.
    """
    table = read_table(algo, folder)
    entry = table.get(env_id, table.get(DEFAULT_KEY))
    if entry is None:
        raise ValueError(f"{algo}.yml has no entry for {env_id!r} and no {DEFAULT_KEY!r} entry")
    return {key: parse_value(key, value) for key, value in entry.items()}


def parse_value(key: str, value: Any) -> Any:
    """Turn the zoo's string spellings into values; everything else passes through."""
    if not isinstance(value, str):
        return value
    if key in LITERAL_KEYS and value.strip()[:5] in ("dict(", "{", "[", "(", "True", "False"):
        return parse_literal(value)
    return value


def parse_literal(text: str) -> Any:
    """Parse a Python literal, also ``dict(a=1, b=[2])`` calls, without evaluating code.

    Raises:
        ValueError: if the text holds anything but literals (names, calls other than ``dict``).
    """
    try:
        node = ast.parse(text.strip(), mode="eval").body
        return _literal(node)
    except (SyntaxError, ValueError) as err:
        raise ValueError(f"cannot parse hyperparameter {text!r}: only literals and dict(...) allowed ({err})") from None


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
        return {kw.arg: _literal(kw.value) for kw in node.keywords}
    if isinstance(node, ast.Dict):
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values, strict=True)}
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_literal(item) for item in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    dotted = _dotted_name(node)
    if dotted is not None:
        return dotted  # e.g. "nn.ReLU": a name, resolved by the factory against an allow-list
    return ast.literal_eval(node)


def _dotted_name(node: ast.AST) -> str | None:
    """``nn.ReLU`` -> ``"nn.ReLU"``; ``None`` for anything that is not a dotted name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or not parts:
        return None
    return ".".join([node.id, *reversed(parts)])


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``["gamma=0.9", "policy_kwargs=dict(net_arch=[32])"]`` -> ``{"gamma": 0.9, ...}``.

    Values are read as YAML (numbers, booleans, lists), then as zoo-style literals. An item that
    is a JSON/YAML mapping (``'{"obs_mode": "goal"}'``) is merged whole, so every script's
    ``--env-kwargs`` takes either spelling.
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        if pair.lstrip().startswith("{"):
            mapping = _yaml_scalar(pair)
            if not isinstance(mapping, dict):
                raise ValueError(f"expected key=value or a {{...}} mapping, got {pair!r}")
            out.update(mapping)
            continue
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"expected key=value, got {pair!r}")
        out[key.strip()] = parse_value(key.strip(), _yaml_scalar(text))
    return out


def _yaml_scalar(text: str) -> Any:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    # YAML reads "1e-3" as a string; the zoo's users expect a number.
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value
