"""Datasets: damage raises DatasetError (never different numbers, never a hang), and a failed write
leaves metadata.json and the HDF5 file agreeing on what was committed."""
import json
import subprocess
import sys
import textwrap
import warnings

import h5py
import numpy as np
import pytest

from tests.helpers import subprocess_env
from tests.world_models.test_data import ACTIONS, GOAL_SPACE, write_goal_episodes
from world_models.data import (
    DatasetError,
    EpisodeWriter,
    UnverifiedDatasetWarning,
    read_episodes,
)
from world_models.dataset_digest import (
    FILE_DIGEST_KEY,
    METADATA_DIGEST_KEY,
    metadata_digest,
)


def flip(path, position):
    data = bytearray(path.read_bytes())
    data[position] ^= 0x01
    path.write_bytes(bytes(data))


def drop_file_digest(dataset):
    """What a writer that died before ``close`` leaves: per-episode digests, no whole-file digest."""
    meta_path = dataset / "data" / "metadata.json"
    metadata = json.loads(meta_path.read_text())
    metadata.pop(FILE_DIGEST_KEY)
    metadata[METADATA_DIGEST_KEY] = metadata_digest(metadata)
    meta_path.write_text(json.dumps(metadata))


def test_flipped_bits_anywhere_raise_dataset_error(tmp_path):
    dataset = tmp_path / "toy-v0"
    write_goal_episodes(dataset)
    hdf5, meta = dataset / "data" / "main_data.hdf5", dataset / "data" / "metadata.json"
    good_hdf5, good_meta = hdf5.read_bytes(), meta.read_bytes()
    # one bit at 120 places of the HDF5 file (all 17,883 in scripts/benchmarks/attack.py), including
    # the B-tree byte that made h5py loop forever before the whole-file digest existed
    positions = np.random.default_rng(0).choice(len(good_hdf5), 120, replace=False).tolist() + [8148]
    for position in positions:
        hdf5.write_bytes(good_hdf5)
        flip(hdf5, position)
        with pytest.raises(DatasetError):
            read_episodes(dataset)
    hdf5.write_bytes(good_hdf5)
    for position in range(len(good_meta)):  # every byte of metadata.json
        meta.write_bytes(good_meta)
        flip(meta, position)
        with pytest.raises(DatasetError):
            read_episodes(dataset)
    meta.write_bytes(good_meta)
    hdf5.write_bytes(good_hdf5[: len(good_hdf5) // 2])
    with pytest.raises(DatasetError, match="damaged or missing"):
        read_episodes(dataset)


def test_episode_digests_guard_a_dataset_whose_writer_never_closed(tmp_path):
    dataset = tmp_path / "toy-v0"
    write_goal_episodes(dataset)
    drop_file_digest(dataset)
    assert [len(e) for e in read_episodes(dataset)] == [4, 6]
    hdf5 = dataset / "data" / "main_data.hdf5"
    with h5py.File(hdf5, "a") as file:  # an episode written but never counted (killed before the metadata)
        file.copy("episode_1", "episode_2")
    with pytest.warns(UserWarning, match="1 episode.*were ignored"):
        assert [len(e) for e in read_episodes(dataset)] == [4, 6]
    with h5py.File(hdf5, "r") as file:
        offset = file["episode_1/actions"].id.get_offset()  # where the raw action floats live
    flip(hdf5, offset + 5)
    with pytest.raises(DatasetError, match="episode_1 is damaged"):
        read_episodes(dataset)
    hdf5.write_bytes(hdf5.read_bytes()[:3000])
    with pytest.raises(DatasetError, match="unreadable"):
        read_episodes(dataset)


def test_a_failed_metadata_write_rolls_the_episode_back(tmp_path):
    dataset = tmp_path / "toy-v0"
    writer = EpisodeWriter(dataset, GOAL_SPACE, ACTIONS)
    obs = {k: np.zeros(s.shape, np.float32) for k, s in GOAL_SPACE.items()}
    writer.reset(obs)
    writer.step(np.zeros(3, np.float32), obs, 0.0, False, True)  # episode 0: committed
    (dataset / "data" / "metadata.json.tmp").mkdir()  # a real OS error for the next metadata write
    writer.reset(obs)
    with pytest.raises(OSError, match="could not write episode_1.*keeps its first 1 episodes"):
        writer.step(np.zeros(3, np.float32), obs, 0.0, False, True)
    with pytest.raises(RuntimeError, match="failed earlier"):
        writer.reset(obs)
    writer.close()
    with h5py.File(dataset / "data" / "main_data.hdf5", "r") as file:
        assert sorted(file) == ["episode_0"]  # the HDF5 file holds what the metadata counts
    assert len(read_episodes(dataset)) == 1


def test_a_full_disk_while_collecting_keeps_the_committed_episodes(tmp_path):
    """A real write failure in a child that may not grow a file past 1 MiB (RLIMIT_FSIZE)."""
    dataset = tmp_path / "big-v0"
    code = textwrap.dedent(f"""
        import resource, signal, numpy as np, gymnasium as gym
        from world_models.data import EpisodeWriter
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
        space = gym.spaces.Box(-1, 1, (64,), np.float32)
        written = 0
        try:
            with EpisodeWriter({str(dataset)!r}, space, space) as writer:
                for episode in range(100):
                    writer.reset(np.zeros(64, np.float32))
                    for t in range(20):
                        writer.step(np.ones(64, np.float32), np.full(64, t, np.float32), 1.0, False, t == 19)
                    written += 1
        except OSError as err:
            print(written, err)
    """)
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                         env=subprocess_env(), timeout=60)
    written, message = out.stdout.split(" ", 1)
    assert 0 < int(written) < 100 and "could not write" in message, out.stdout + out.stderr
    assert "no room" in message  # refused before HDF5 wrote a byte (a failing HDF5 write can segfault)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # verified by the episode digests, nothing uncommitted left over
        episodes = read_episodes(dataset)
    assert len(episodes) == int(written) and all(len(e) == 20 for e in episodes)


def test_datasets_without_digests_read_with_a_warning(tmp_path):
    dataset = tmp_path / "toy-v0"
    write_goal_episodes(dataset)
    meta_path = dataset / "data" / "metadata.json"
    metadata = json.loads(meta_path.read_text())
    for key in (METADATA_DIGEST_KEY, FILE_DIGEST_KEY):
        metadata.pop(key)
    meta_path.write_text(json.dumps(metadata))  # what Minari itself writes: no digests
    with h5py.File(dataset / "data" / "main_data.hdf5", "a") as file:
        for name in file:
            del file[name].attrs["sha256"]
    with pytest.warns(UnverifiedDatasetWarning, match="no digests"):
        assert [len(e) for e in read_episodes(dataset)] == [4, 6]
