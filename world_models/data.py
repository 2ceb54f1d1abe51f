"""Episodes on disk in Minari's HDF5 layout, written and read without pickle, jax or Minari itself.

Layout (what ``minari.MinariDataset(path / "data")`` reads)::

    <path>/data/metadata.json     dataset id, spaces (JSON), totals, env spec
    <path>/data/main_data.hdf5    episode_<i>/{observations, actions, rewards, terminations,
                                               truncations, infos/<key>}

``observations`` hold T+1 entries (the reset observation first), the rest T. Dict observations
are HDF5 groups with one dataset per key. Infos keep numeric entries present at every step.

Integrity (:mod:`world_models.dataset_digest`): every episode group carries the SHA-256 of its
content and ``metadata.json`` one of itself, checked on read, so damage raises
:class:`DatasetError` instead of loading different numbers. ``metadata.json`` is the commit
record: an episode is part of the dataset once the metadata counts it, so a crash or a full disk
between the HDF5 write and the metadata write never leaves the two disagreeing.

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

import errno
import json
import pathlib
import shutil
import warnings
from typing import Any, NamedTuple

import h5py
import numpy as np

try:
    import resource  # POSIX: the process's file-size limit
except ImportError:  # pragma: no cover - Windows
    resource = None
from gymnasium import spaces
from gymnasium.envs.registration import EnvSpec

from world_models.dataset_digest import (
    EPISODE_DIGEST_ATTR,
    FILE_DIGEST_KEY,
    METADATA_DIGEST_KEY,
    episode_digest,
    file_digest,
    metadata_digest,
)
from world_models.spaces import space_from_json, space_to_json

MINARI_FORMAT_VERSION = "0.5.4"
"""Minari release whose on-disk layout we write (checked by ``minari.MinariDataset``)."""
MAIN_FILE, METADATA_FILE = "main_data.hdf5", "metadata.json"
ROOM_MARGIN_BYTES = 256 << 10
"""Free bytes kept beyond twice an episode's arrays before writing it (HDF5's own metadata grows too)."""


class DatasetError(ValueError):
    """A dataset whose files are damaged (digest mismatch), truncated or inconsistent."""


class UnverifiedDatasetWarning(UserWarning):
    """A dataset without digests (Minari's own, or ours from before digests): read unverified."""


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


def _nbytes(data: np.ndarray | dict[str, np.ndarray]) -> int:
    return sum(_nbytes(v) for v in data.values()) if isinstance(data, dict) else int(data.nbytes)


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
        self._failed: BaseException | None = None
        self._write_metadata()

    def reset(self, obs: Any, info: dict[str, Any] | None = None, seed: int | None = None) -> None:
        """Start an episode at ``obs``; an unfinished previous episode is written as truncated."""
        self._check_usable()
        if self._episode is not None and self._episode["actions"]:
            self._episode["truncations"][-1] = True
            self._flush()
        self._episode = {"observations": [obs], "actions": [], "rewards": [], "terminations": [],
                         "truncations": [], "infos": [info or {}], "seed": seed}

    def step(self, action: Any, obs: Any, reward: float, terminated: bool, truncated: bool,
             info: dict[str, Any] | None = None) -> None:
        """Record one transition (the action taken and what followed it)."""
        self._check_usable()
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
        name = f"episode_{index}"
        try:
            self._write_group(name, index, episode)
            self._write_metadata({**self.metadata, "total_episodes": index + 1,
                                  "total_steps": self.metadata["total_steps"] + len(episode["actions"])})
        except BaseException as err:
            self._failed = err
            self._remove_group(name)
            if isinstance(err, OSError):  # a full disk, a lost mount (h5py reports write failures as OSError)
                raise OSError(err.errno or errno.EIO,
                              f"could not write {name} to {self.data_path}: {err.strerror or err}; the dataset "
                              f"keeps its first {index} episodes") from err
            raise

    def _write_group(self, name: str, index: int, episode: dict[str, Any]) -> None:
        arrays = {key: _stack(episode[key]) for key in ("observations", "actions")}
        self._check_room(sum(_nbytes(a) for a in arrays.values()) + 17 * len(episode["actions"]))
        group = self._file.create_group(name)
        group.attrs["id"], group.attrs["total_steps"] = index, len(episode["actions"])
        if episode["seed"] is not None:
            group.attrs["seed"] = int(episode["seed"])
        for key, array in arrays.items():
            _write(group, key, array)
        for key, dtype in (("rewards", np.float64), ("terminations", bool), ("truncations", bool)):
            group.create_dataset(key, data=np.asarray(episode[key], dtype=dtype))
        _write(group, "infos", _numeric_infos(episode["infos"]))
        group.attrs[EPISODE_DIGEST_ATTR] = episode_digest(group.attrs, _read(group))  # of what h5py reads back
        self._file.flush()

    def _check_room(self, nbytes: int) -> None:
        """Refuse an episode the disk (or the process's file-size limit) has no room for, before HDF5
        writes a byte: HDF5 itself may crash the process when a write fails half-way."""
        needed = 2 * nbytes + ROOM_MARGIN_BYTES
        free = shutil.disk_usage(self.data_path).free
        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0] if resource else -1
        size = (self.data_path / MAIN_FILE).stat().st_size
        capped = resource is not None and limit != resource.RLIM_INFINITY
        if free < needed or (capped and size + needed > limit):
            room = min(free, limit - size) if capped else free
            raise OSError(errno.ENOSPC, f"no room for {nbytes} more bytes (about {needed} needed, {room} left)")

    def _remove_group(self, name: str) -> None:
        """Undo a half-written or uncommitted episode so HDF5 and metadata agree (best effort)."""
        try:
            if name in self._file:
                del self._file[name]
                self._file.flush()
        except Exception:  # noqa: BLE001 - the reader ignores groups the metadata does not count
            pass

    def _write_metadata(self, metadata: dict[str, Any] | None = None) -> None:
        """Write ``metadata.json`` (temp file, then rename); only then is it this writer's metadata."""
        metadata = dict(metadata or self.metadata)
        metadata[METADATA_DIGEST_KEY] = metadata_digest(metadata)
        temp = self.data_path / (METADATA_FILE + ".tmp")
        try:
            temp.write_text(json.dumps(metadata))
            temp.replace(self.data_path / METADATA_FILE)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        self.metadata = metadata

    def _check_usable(self) -> None:
        if self._failed is not None:
            raise RuntimeError(f"this EpisodeWriter failed earlier ({self._failed}); open a new dataset")

    def close(self) -> None:
        """Write the episode in progress (marked truncated), close the file, record its digest."""
        if not self._file:  # closed already (h5py's File is falsy once closed)
            return
        try:
            if self._failed is None and self._episode is not None and self._episode["actions"]:
                self._episode["truncations"][-1] = True
                self._flush()
        finally:
            self._episode = None
            self._file.close()
        if self._failed is None:  # the finished file's digest: checked before h5py reads a byte of it
            self._write_metadata({**self.metadata, FILE_DIGEST_KEY: file_digest(self.data_path / MAIN_FILE)})

    def __enter__(self) -> EpisodeWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_metadata(path: str | pathlib.Path) -> dict[str, Any]:
    """The dataset's ``metadata.json`` (digest checked) with spaces decoded back into gymnasium spaces.

    Raises:
        FileNotFoundError: ``path`` is not a dataset folder.
        DatasetError: the metadata is damaged or malformed.
    """
    metadata = _checked_metadata(path)
    try:
        for key in ("observation_space", "action_space"):
            metadata[key] = space_from_json(metadata[key])
    except (KeyError, TypeError, ValueError) as err:
        raise DatasetError(f"{path}: metadata.json has no valid {key} ({err})") from err
    return metadata


def _checked_metadata(path: str | pathlib.Path) -> dict[str, Any]:
    file = pathlib.Path(path) / "data" / METADATA_FILE
    if not file.exists():
        raise FileNotFoundError(f"no Minari-layout dataset at {path} (missing {file})")
    try:
        metadata = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise DatasetError(f"{file} is unreadable: {err}") from err
    if not isinstance(metadata, dict):
        raise DatasetError(f"{file} must hold a JSON object, got {type(metadata).__name__}")
    stored = metadata.get(METADATA_DIGEST_KEY)
    ours = any(str(key).startswith("foresight_") for key in metadata)  # written by EpisodeWriter
    if (stored is None and ours) or (stored is not None and stored != metadata_digest(metadata)):
        raise DatasetError(f"{file} is damaged: its content does not match the SHA-256 written with it")
    total = metadata.get("total_episodes")
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise DatasetError(f"{file}: total_episodes must be a count >= 0, got {total!r}")
    return metadata


def read_episodes(path: str | pathlib.Path) -> list[Episode]:
    """All committed episodes of a dataset written by :class:`EpisodeWriter` (or Minari without JPEG
    encoding), each checked against its digest.

    Raises:
        FileNotFoundError: ``path`` is not a dataset folder.
        DatasetError: a file is truncated or damaged, or an episode the metadata counts is missing.
    """
    metadata = read_metadata(path)
    verified = METADATA_DIGEST_KEY in metadata
    if not verified:
        warnings.warn(f"dataset {path} has no digests (Minari's own, or written before digests): read "
                      "unverified", UnverifiedDatasetWarning, stacklevel=2)
    file_path = pathlib.Path(path) / "data" / MAIN_FILE
    expected = metadata.get(FILE_DIGEST_KEY)
    if expected is not None and (not file_path.is_file() or file_digest(file_path) != expected):
        raise DatasetError(f"{file_path} is damaged or missing: it does not match the SHA-256 in metadata.json")
    try:
        with h5py.File(file_path, "r") as file:
            names = [f"episode_{i}" for i in range(metadata["total_episodes"])]
            missing = [name for name in names if name not in file]
            if missing:
                raise DatasetError(f"{file_path} lacks {missing[:5]} that metadata.json counts "
                                   f"({metadata['total_episodes']} episodes)")
            uncommitted = sum(1 for key in file if key.startswith("episode_")) - len(names)
            if uncommitted > 0:  # a writer died between the HDF5 write and the metadata write
                warnings.warn(f"{file_path}: {uncommitted} episode(s) that metadata.json does not count "
                              "were ignored (a write that never completed)", stacklevel=2)
            return [_read_episode(file[name], f"{file_path}:{name}", verified) for name in names]
    except DatasetError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as err:  # h5py's errors on damaged files
        raise DatasetError(f"{file_path} is unreadable (truncated or damaged): {type(err).__name__}: {err}") from err


def _read_episode(group: h5py.Group, where: str, verified: bool) -> Episode:
    content = _read(group)
    stored = group.attrs.get(EPISODE_DIGEST_ATTR)
    if stored is not None or verified:
        if stored is None or str(stored) != episode_digest(group.attrs, content):
            raise DatasetError(f"{where} is damaged: its arrays do not match the SHA-256 written with them")
    return Episode(observations=content["observations"], actions=content["actions"], rewards=content["rewards"],
                   terminations=content["terminations"], truncations=content["truncations"],
                   infos=content.get("infos", {}))
