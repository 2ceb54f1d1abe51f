"""benchmark.py latent --what generalise: a saved agent collects a dataset that round-trips without
pickle, a fresh model fits it and is scored on training and held-out episodes, masks zero what they
name and refuse what they cannot."""
import argparse
import json

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents.planning.latent_agent import LatentPlanningAgent
from scripts.benchmarks._latent_generalisation import apply_masks, collect, generalisation, load_dataset, save_dataset
from tests.agents import point_goal_env
from tests.scripts.latent_fixtures import TINY


@pytest.fixture(scope="module")
def saved_folder(tmp_path_factory):
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("generalise")
    agent = LatentPlanningAgent(gym.make(point_goal_env.ENV_ID), seed=0, **{**TINY, "learning_starts": 50}).learn(80)
    agent.save(folder / "lmpc_s0.agent")
    (folder / "lmpc_s0.json").write_text(json.dumps({"env_kwargs": {}}))
    return folder


def test_fit_scores_both_splits_and_the_readout(saved_folder):
    args = argparse.Namespace(seeds=[0], params=["goal_offset=true"], mask=[], updates=40)
    generalisation(args, saved_folder, lambda kwargs: gym.make(point_goal_env.ENV_ID, **kwargs),
                   {"goal_offset": True}, train_counts={"random": 2, "explore": 2}, held_out_counts={"evaluate": 2})
    record = json.loads((saved_folder / "generalisation_s0_goal_offset=true.json").read_text())
    assert [p["updates"] for p in record["points"]] == [10, 20, 30, 40]
    first, last = record["points"][0], record["points"][-1]
    for split in ("train", "held_out"):
        assert set(last[split]) == {"reward_error", "deciding_error", "readout_m", "rolled_readout_m"}
        assert all(np.isfinite(v) for v in last[split].values() if v is not None)  # None: no goal reached
    assert last["train"]["readout_m"] < first["train"]["readout_m"]  # the fit learns the read-back


def test_dataset_round_trips_and_masks_zero_only_their_entries(saved_folder, tmp_path):
    agent = LatentPlanningAgent.load(saved_folder / "lmpc_s0.agent", device="cpu")
    env = gym.make(point_goal_env.ENV_ID)
    train, held_out = collect(agent, env, {"random": 1, "explore": 1}, 0), collect(agent, env, {"evaluate": 1}, 50)
    save_dataset(tmp_path / "data.npz", train, held_out)
    train2, held_out2 = load_dataset(tmp_path / "data.npz")
    assert [e["kind"] for e in train2 + held_out2] == ["random", "explore", "evaluate"]
    for mine, theirs in zip(train + held_out, train2 + held_out2, strict=True):
        np.testing.assert_array_equal(mine["actions"], theirs["actions"])
        np.testing.assert_array_equal(mine["obs"]["observation"], theirs["obs"]["observation"])
    apply_masks(train2, ["observation:1:2"])
    assert (train2[0]["obs"]["observation"][:, 1] == 0).all()
    np.testing.assert_array_equal(train2[0]["obs"]["observation"][:, 0], train[0]["obs"]["observation"][:, 0])
    with pytest.raises(ValueError, match="no observation entry 'pillars'.*achieved_goal"):
        apply_masks(train2, ["pillars:0:2"])
    with pytest.raises(ValueError, match="expected KEY:START:STOP"):
        apply_masks(train2, ["observation:7"])
