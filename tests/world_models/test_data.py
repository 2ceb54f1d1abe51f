"""Episodes round-trip through the Minari layout, Minari itself reads them, the replay saves exactly."""
import gymnasium as gym
import numpy as np
import pytest
import torch

from world_models.data import EpisodeWriter, read_episodes, read_metadata
from world_models.replay import ReplayBuffer, transitions_from_episodes
from world_models.spaces import StateLayout, space_from_json, space_to_json

GOAL_SPACE = gym.spaces.Dict({
    "observation": gym.spaces.Box(-10, 10, (6,), np.float32),
    "achieved_goal": gym.spaces.Box(-10, 10, (3,), np.float32),
    "desired_goal": gym.spaces.Box(-10, 10, (3,), np.float32),
})
ACTIONS = gym.spaces.Box(-1, 1, (3,), np.float32)


def write_goal_episodes(path, lengths=(4, 6)):
    rng = np.random.default_rng(0)
    with EpisodeWriter(path, GOAL_SPACE, ACTIONS) as writer:
        for length in lengths:
            writer.reset({k: rng.normal(size=s.shape).astype(np.float32) for k, s in GOAL_SPACE.items()},
                         {"is_success": False}, seed=1)
            for t in range(length):
                obs = {k: rng.normal(size=s.shape).astype(np.float32) for k, s in GOAL_SPACE.items()}
                writer.step(rng.uniform(-1, 1, 3).astype(np.float32), obs, -1.0, False, t == length - 1,
                            {"is_success": t == length - 1, "note": "strings are dropped"})


def test_goal_episodes_round_trip(tmp_path):
    write_goal_episodes(tmp_path / "toy-v0")
    episodes = read_episodes(tmp_path / "toy-v0")
    assert [len(e) for e in episodes] == [4, 6]
    assert episodes[1].observations["achieved_goal"].shape == (7, 3)
    assert episodes[1].truncations[-1] and not episodes[1].terminations.any()
    assert episodes[0].infos["is_success"].tolist() == [False, False, False, False, True]
    metadata = read_metadata(tmp_path / "toy-v0")
    assert metadata["total_steps"] == 10 and metadata["observation_space"] == GOAL_SPACE
    with pytest.raises(FileExistsError, match="already exists"):
        EpisodeWriter(tmp_path / "toy-v0", GOAL_SPACE, ACTIONS)


def test_minari_reads_our_dataset(tmp_path):
    minari = pytest.importorskip("minari")
    write_goal_episodes(tmp_path / "toy-v0")
    dataset = minari.MinariDataset(tmp_path / "toy-v0" / "data")
    assert dataset.total_episodes == 2 and dataset.total_steps == 10
    episode = list(dataset.iterate_episodes())[1]
    ours = read_episodes(tmp_path / "toy-v0")[1]
    np.testing.assert_array_equal(episode.observations["desired_goal"], ours.observations["desired_goal"])
    np.testing.assert_array_equal(episode.actions, ours.actions)


def test_state_layout_and_transitions(tmp_path):
    write_goal_episodes(tmp_path / "toy-v0")
    layout = StateLayout(GOAL_SPACE)
    episodes = read_episodes(tmp_path / "toy-v0")
    data = transitions_from_episodes(episodes, layout)
    assert len(data) == 10 and data.states.shape == (10, 9)
    np.testing.assert_array_equal(layout.achieved_goal(data.next_states[:4]).numpy(),
                                  episodes[0].observations["achieved_goal"][1:])
    assert space_from_json(space_to_json(GOAL_SPACE)) == GOAL_SPACE
    with pytest.raises(TypeError, match="not supported.*Box"):
        StateLayout(gym.spaces.Discrete(3))


def test_replay_ring_buffer_saves_and_restores():
    buffer = ReplayBuffer(state_dim=2, action_dim=1, capacity=5)
    for i in range(7):
        buffer.add([[i, i]], [[i]], [i], [[i + 1, i + 1]], [0])
    assert len(buffer) == 5 and buffer.all().rewards.tolist() == [2, 3, 4, 5, 6]
    clone = ReplayBuffer.from_state_dict(buffer.state_dict())
    for a, b in zip(buffer.all(), clone.all(), strict=True):
        assert torch.equal(a, b)
