"""Episodes on disk in Minari's HDF5 layout, written and read without pickle, jax or Minari itself.

Layout (what ``minari.MinariDataset(path / "data")`` reads)::

    <path>/data/metadata.json     dataset id, spaces (JSON), totals, env spec
    <path>/data/main_data.hdf5    episode_<i>/{observations, actions, rewards, terminations,
                                               truncations, infos/<key>}

``observations`` hold T+1 entries (the reset observation first), the rest T. Dict observations
are HDF5 groups with one dataset per key. Infos keep numeric entries present at every step.

Example:
    >>> import gymnasium as gym, tempfile, pathlib
    >>> env = gym.make("Pendulum-v1")
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "pendulum-random-v0"
    >>> with EpisodeWriter(path, env.observation_space, env.action_space, env_spec=env.spec) as writer:
    ...     obs, info = env.reset(seed=0)
    ...     writer.reset(obs, info, seed=0)
    ...     for _ in range(3):
    ...         obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    ...         writer.step(env.action_space.sample(), obs, reward, terminated, truncated or _ == 2, info)
    >>> [e.actions.shape for e in read_episodes(path)]
    [(3, 1)]
"""
from __future__ import annotations

import json
import pathlib
from typing import Any, NamedTuple

import h5py
import numpy as np
from gymnasium import spaces
from gymnasium.envs.registration import EnvSpec

from world_models.spaces import space_from_json, space_to_json

MINARI_FORMAT_VERSION = "0.5.4"
"""Minari release whose on-disk layout we write (checked by ``minari.MinariDataset``)."""
MAIN_FILE, METADATA_FILE = "main_data.hdf5", "metadata.json"


class Episode(NamedTuple):
    """One episode; observations are arrays or dicts of arrays with T+1 rows."""

    observations: np.ndarray | dict[str, np.ndarray]
    actions: np.ndarray
    """``[T, A]``."""
    rewards: np.ndarray
    """``[T]``."""
    terminations: np.ndarray
    """``[T]`` true where the MDP ended (no bootstrapping past it)."""
    truncations: np.ndarray
    """``[T]`` true where a time limit cut the episode."""
    infos: dict[str, np.ndarray]

    def __len__(self) -> int:
        return int(self.actions.shape[0])


def _stack(items: list[Any]) -> np.ndarray | dict[str, np.ndarray]:
    if isinstance(items[0], dict):
        return {key: _stack([item[key] for item in items]) for key in items[0]}
    return np.stack([np.asarray(item) for item in items])


def _numeric_infos(infos: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Numeric info entries present in every step, stacked; others (strings, objects) are dropped."""
    keys = set.intersection(*(set(i) for i in infos)) if infos else set()
    result = {}
    for key in sorted(keys):
        values = [np.asarray(info[key]) for info in infos]
        if all(v.dtype.kind in "biuf" and v.shape == values[0].shape for v in values):
            result[key] = np.stack(values)
    return result


def _write(group: h5py.Group, name: str, data: np.ndarray | dict[str, np.ndarray]) -> None:
    if isinstance(data, dict):
        sub = group.create_group(name)
        for key, value in data.items():
            _write(sub, key, value)
    else:
        group.create_dataset(name, data=data)


def _read(node: h5py.Group | h5py.Dataset) -> np.ndarray | dict[str, np.ndarray]:
    if isinstance(node, h5py.Group):
        return {key: _read(node[key]) for key in node}
    return node[()]


class EpisodeWriter:
    """Appends episodes to a Minari-layout dataset, one ``reset`` and several ``step`` calls each.

    An episode is written when a step reports ``terminated`` or ``truncated`` (or on ``close`` if it
    has at least one step), and ``metadata.json`` is rewritten after every episode, so a crash
    loses at most the episode in progress. Used by ``scripts/collect.py`` and the deploy loop.

    Args:
        path: Dataset folder (created; its name is the Minari dataset id).
        observation_space: The env's observation space (Box or Dict).
        action_space: The env's action space.
        env_spec: ``env.spec``, stored so ``minari`` can recover the env (optional).
    """

    def __init__(self, path: str | pathlib.Path, observation_space: spaces.Space, action_space: spaces.Space,
                 env_spec: EnvSpec | None = None) -> None:
        self.path = pathlib.Path(path)
        self.data_path = self.path / "data"
        if (self.data_path / METADATA_FILE).exists():
            raise FileExistsError(f"a dataset already exists at {self.data_path}; pick a new path")
        self.data_path.mkdir(parents=True, exist_ok=True)
        self.observation_space, self.action_space = observation_space, action_space
        self.metadata: dict[str, Any] = {
            "dataset_id": self.path.name, "minari_version": MINARI_FORMAT_VERSION, "data_format": "hdf5",
            "jpeg_encoding": False, "total_episodes": 0, "total_steps": 0,
            "observation_space": space_to_json(observation_space), "action_space": space_to_json(action_space),
        }
        if env_spec is not None:
            self.metadata["env_spec"] = env_spec.to_json()
        self._file = h5py.File(self.data_path / MAIN_FILE, "w", track_order=True)
        self._episode: dict[str, list] | None = None
        self._write_metadata()

    def reset(self, obs: Any, info: dict[str, Any] | None = None, seed: int | None = None) -> None:
        """Start an episode at ``obs``; an unfinished previous episode is written as truncated."""
        if self._episode is not None and self._episode["actions"]:
            self._episode["truncations"][-1] = True
            self._flush()
        self._episode = {"observations": [obs], "actions": [], "rewards": [], "terminations": [],
                         "truncations": [], "infos": [info or {}], "seed": seed}

    def step(self, action: Any, obs: Any, reward: float, terminated: bool, truncated: bool,
             info: dict[str, Any] | None = None) -> None:
        """Record one transition (the action taken and what followed it)."""
        if self._episode is None:
            raise RuntimeError("EpisodeWriter.step called before reset(obs)")
        episode = self._episode
        for key, value in (("observations", obs), ("actions", action), ("rewards", float(reward)),
                           ("terminations", bool(terminated)), ("truncations", bool(truncated)),
                           ("infos", info or {})):
            episode[key].append(value)
        if terminated or truncated:
            self._flush()

    def _flush(self) -> None:
        episode, self._episode = self._episode, None
        index = self.metadata["total_episodes"]
        group = self._file.create_group(f"episode_{index}")
        group.attrs["id"], group.attrs["total_steps"] = index, len(episode["actions"])
        if episode["seed"] is not None:
            group.attrs["seed"] = int(episode["seed"])
        for key in ("observations", "actions"):
            _write(group, key, _stack(episode[key]))
        for key, dtype in (("rewards", np.float64), ("terminations", bool), ("truncations", bool)):
            group.create_dataset(key, data=np.asarray(episode[key], dtype=dtype))
        _write(group, "infos", _numeric_infos(episode["infos"]))
        self._file.flush()
        self.metadata["total_episodes"] += 1
        self.metadata["total_steps"] += len(episode["actions"])
        self._write_metadata()

    def _write_metadata(self) -> None:
        temp = self.data_path / (METADATA_FILE + ".tmp")
        temp.write_text(json.dumps(self.metadata))
        temp.replace(self.data_path / METADATA_FILE)

    def close(self) -> None:
        """Write the episode in progress (marked truncated) and close the file."""
        if self._episode is not None and self._episode["actions"]:
            self._episode["truncations"][-1] = True
            self._flush()
        self._episode = None
        self._file.close()

    def __enter__(self) -> EpisodeWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_metadata(path: str | pathlib.Path) -> dict[str, Any]:
    """The dataset's ``metadata.json`` with spaces decoded back into gymnasium spaces."""
    file = pathlib.Path(path) / "data" / METADATA_FILE
    if not file.exists():
        raise FileNotFoundError(f"no Minari-layout dataset at {path} (missing {file})")
    metadata = json.loads(file.read_text())
    for key in ("observation_space", "action_space"):
        metadata[key] = space_from_json(metadata[key])
    return metadata


def read_episodes(path: str | pathlib.Path) -> list[Episode]:
    """All episodes of a dataset written by :class:`EpisodeWriter` (or Minari without JPEG encoding)."""
    read_metadata(path)  # clear error if the folder is not a dataset
    with h5py.File(pathlib.Path(path) / "data" / MAIN_FILE, "r") as file:
        names = sorted(file, key=lambda name: int(name.split("_")[1]))
        return [Episode(
            observations=_read(file[name]["observations"]), actions=_read(file[name]["actions"]),
            rewards=_read(file[name]["rewards"]), terminations=_read(file[name]["terminations"]),
            truncations=_read(file[name]["truncations"]),
            infos=_read(file[name]["infos"]) if "infos" in file[name] else {},
        ) for name in names]
