"""benchmark.py latent --what learn: a run stopped after an evaluation goes on to the same curve."""
import json

import pytest
import torch

from scripts.benchmarks.latent import main

TINY = ["latent_dim=16", "hidden_dim=32", "batch_size=16", "num_candidates=16", "num_elites=4", "num_prior=2",
        "iterations=1", "learning_starts=40", "pretrain_updates=5", "demo_episodes=0"]


def run(out, steps, eval_every=50, eval_episodes=1):
    main(["--what", "learn", "--env", "Foresight/PandaReach-v0", "--env-kwargs", "obs_mode=goal", "reward_type=dense",
          "--steps", str(steps), "--peer", "none", "--params", *TINY, "--seeds", "0", "--eval-every", str(eval_every),
          "--eval-episodes", str(eval_episodes), "--final-episodes", "2", "--out", str(out), "--figures", str(out)])
    return json.loads((out / "Foresight-PandaReach-v0" / "lmpc_s0.json").read_text())


def test_a_run_continued_from_its_checkpoint_gives_the_unstopped_curve(tmp_path):
    torch.set_num_threads(1)
    whole = run(tmp_path / "whole", 100)
    first = run(tmp_path / "stopped", 50)  # as if stopped after its first evaluation
    assert [p["steps"] for p in first["curve"]] == [50]
    again = run(tmp_path / "stopped", 100)  # the same command with the full budget goes on from step 50

    assert [p["steps"] for p in again["curve"]] == [50, 100]
    assert again["curve"][0] == first["curve"][0]  # read back, not retrained: its wall time is the first run's
    assert [p["mean_return"] for p in again["curve"]] == [p["mean_return"] for p in whole["curve"]]  # dense: exact
    assert again["final"] == whole["final"] and again["final_prior"] == whole["final_prior"]
    assert again["seconds"] >= again["curve"][-1]["seconds"] >= first["curve"][-1]["seconds"]
    assert run(tmp_path / "stopped", 100) == again  # finished: skipped, nothing rerun

    with pytest.raises(ValueError, match=r"other settings \(eval_episodes, eval_every: "):
        run(tmp_path / "stopped", 200, eval_every=100, eval_episodes=10)
