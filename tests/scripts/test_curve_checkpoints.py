"""benchmark.py latent --what learn: a run stopped after an evaluation goes on to the same curve."""
import json

import pytest
import torch

from scripts.benchmarks.latent import main

TINY = ["latent_dim=16", "hidden_dim=32", "batch_size=16", "num_candidates=16", "num_elites=4", "num_prior=2",
        "iterations=1", "learning_starts=40", "pretrain_updates=5", "demo_episodes=0"]


def run(out, steps, eval_every=50, eval_episodes=1, extra=()):
    main(["--what", "learn", "--env", "Foresight/PandaReach-v0", "--env-kwargs", "obs_mode=goal", "reward_type=dense",
          "--steps", str(steps), "--peer", "none", "--params", *TINY, "--seeds", "0", "--eval-every", str(eval_every),
          "--eval-episodes", str(eval_episodes), "--final-episodes", "2", "--out", str(out), "--figures", str(out),
          *extra])
    return json.loads((out / "Foresight-PandaReach-v0" / "lmpc_s0.json").read_text())


def test_a_run_continued_from_its_checkpoint_gives_the_unstopped_curve(tmp_path):
    torch.set_num_threads(1)
    whole = run(tmp_path / "whole", 100, extra=["--save-agents"])
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


def test_the_agents_saved_along_the_curve_are_rescored_as_they_acted_then(tmp_path):
    from agents.planning.latent_agent import LatentPlanningAgent
    torch.set_num_threads(1)
    record = run(tmp_path, 100, extra=["--save-agents"])
    folder = tmp_path / "Foresight-PandaReach-v0"
    assert sorted(f.name for f in folder.glob("step_*")) == ["step_100", "step_50"]
    final = LatentPlanningAgent.load(folder / "lmpc_s0.agent", device="cpu")
    at_end = LatentPlanningAgent.load(folder / "step_100" / "lmpc_s0.agent", device="cpu")
    final, at_end = final.model.state_dict(), at_end.model.state_dict()
    assert final.keys() == at_end.keys() and all(torch.equal(final[k], at_end[k]) for k in final)

    rescore = ["--what", "rescore", "--env", "Foresight/PandaReach-v0", "--seeds", "0", "--final-episodes", "2",
               "--out", str(tmp_path)]
    main([*rescore, "--at-step", "100"])
    rows = json.loads((folder / "step_100" / "rescore_2_s0.json").read_text())
    assert rows["lmpc"]["0"] == record["final"]  # the same seeded episodes the learn section scored
    with pytest.raises(ValueError, match=r"--at-step 70: .* has them at \[50, 100\]"):
        main([*rescore, "--at-step", "70"])
