"""benchmark.py latent --what rescore: every saved agent and the scripted expert on the same episodes."""
import argparse
import json

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import SAC

import envs  # noqa: F401  (registers the Foresight/ ids)
from agents.evaluation.episodes import evaluate, model_policy
from agents.planning.latent_agent import LatentPlanningAgent
from scripts.benchmarks._latent_rescore import EXPERT, agent_policy, rescore
from tests.scripts.latent_fixtures import TINY

ENV_ID = "Foresight/PandaReach-v0"


def make_env(env_kwargs):
    return gym.make(ENV_ID, **env_kwargs)


def test_rescore_scores_lmpc_the_peer_and_the_expert_on_the_same_episodes(tmp_path):
    torch.set_num_threads(1)
    env_kwargs = {"obs_mode": "goal"}
    LatentPlanningAgent(make_env(env_kwargs), seed=0, **TINY).learn(50).save(tmp_path / "lmpc_s0.agent")
    peer = SAC("MultiInputPolicy", make_env(env_kwargs), seed=0, policy_kwargs={"net_arch": [32, 32]})
    peer.save(tmp_path / "sac_s0.agent")
    for algo in ("lmpc", "sac"):
        (tmp_path / f"{algo}_s0.json").write_text(json.dumps({"algo": algo, "seed": 0, "env_kwargs": env_kwargs}))
    (tmp_path / "sac_s1.json").write_text(json.dumps({"algo": "sac", "seed": 1, "env_kwargs": env_kwargs}))

    args = argparse.Namespace(seeds=[0, 1], final_episodes=3)
    scores = rescore(args, tmp_path, make_env)

    assert set(scores) == {"lmpc", "sac", EXPERT}  # sac seed 1 has a record but no saved agent: not scored
    assert {len(rows) for by_seed in scores.values() for rows in by_seed.values()} == {3}
    assert np.mean(scores[EXPERT][0]) == 1.0  # Reach's scripted expert reaches every goal
    assert json.loads((tmp_path / "rescore_3_s0-1.json").read_text())["sac"]["0"] == scores["sac"][0]
    # the actor read without unpickling acts as SB3's own loaded model does
    env = make_env(env_kwargs)
    obs, _ = env.reset(seed=4)
    np.testing.assert_allclose(agent_policy("sac", tmp_path / "sac_s0.agent", env)(obs),
                               peer.predict(obs, deterministic=True)[0], atol=1e-6)
    # and lmpc's rows are what evaluating the loaded agent on those seeded episodes gives
    again = evaluate(env, agent_policy("lmpc", tmp_path / "lmpc_s0.agent", env), 3, seed=20_000)[0]
    assert [float(r.success) for r in again] == scores["lmpc"][0]
    env.close()

    # acting-time overrides: only lmpc acts again, as a row of its own in a file of its own
    cautious = rescore(args, tmp_path, make_env, overrides={"pessimism": 1.0, "iterations": 2})
    assert set(cautious) == {"lmpc pessimism=1.0 iterations=2"}
    written = json.loads((tmp_path / "rescore_3_s0-1_pessimism=1.0_iterations=2.json").read_text())
    assert written["lmpc pessimism=1.0 iterations=2"]["0"] == cautious["lmpc pessimism=1.0 iterations=2"][0]
    loaded = LatentPlanningAgent.load(tmp_path / "lmpc_s0.agent", device="cpu", pessimism=1.0, iterations=2)
    assert loaded.config.pessimism == 1.0
    env = make_env(env_kwargs)
    again = evaluate(env, model_policy(loaded), 3, seed=20_000)[0]
    assert [float(r.success) for r in again] == cautious["lmpc pessimism=1.0 iterations=2"][0]
    env.close()


def test_compare_pairs_one_folders_lmpc_rows_with_anothers_seed_by_seed(tmp_path):
    from scripts.benchmarks._latent_rescore import compare
    variant, base = tmp_path / "variant", tmp_path / "base"
    variant.mkdir(), base.mkdir()
    (variant / "rescore_4_s0-1.json").write_text(json.dumps({"lmpc": {"0": [1, 1, 1, 0], "1": [1, 1, 0, 0]}}))
    (base / "rescore_4_s0.json").write_text(json.dumps({"lmpc": {"0": [0, 1, 1, 0]}, EXPERT: {"0": [1, 1, 1, 1]}}))
    (base / "rescore_4_s1.json").write_text(json.dumps({"lmpc": {"1": [0, 0, 0, 0]}, "sac": {"2": [1, 1, 1, 1]}}))
    (base / "rescore_20_s0.json").write_text(json.dumps({"lmpc": {"0": [0] * 20}}))  # other episodes: not read

    results = compare(variant, {"base": base}, episodes=4)

    assert results["lmpc - lmpc of base"][0] == (1 + 2) / 8  # seeds 0 and 1 of both, episode by episode
    assert results["lmpc - expert of base"][0] == (3 + 2) / 8 - 1  # the expert's one row pairs with each seed
    assert results["lmpc - sac of base"] is None  # no seed in common
    mean, low, high = results["lmpc - lmpc of base"]
    assert low <= mean <= high


def test_compare_at_a_step_pairs_the_rows_rescored_at_that_evaluation_on_both_sides(tmp_path, capsys):
    from scripts.benchmarks.latent import main
    for tag, rows in (("variant", [1, 1, 1, 0]), ("base", [0, 1, 1, 0])):
        step = tmp_path / f"Foresight-PandaPush-v0-{tag}" / "step_5000"
        step.mkdir(parents=True)
        (step / "rescore_4_s0.json").write_text(json.dumps({"lmpc": {"0": rows}}))
        (step.parent / "rescore_4_s0.json").write_text(json.dumps({"lmpc": {"0": [0, 0, 0, 0]}}))  # the finals
    argv = ["--what", "compare", "--env", "Foresight/PandaPush-v0", "--tag", "variant", "--against", "base",
            "--final-episodes", "4", "--out", str(tmp_path)]
    main([*argv, "--at-step", "5000"])
    assert "+0.25" in capsys.readouterr().out  # 1 of 4 episodes better at step 5000; the finals tie
    with pytest.raises(ValueError, match="no results folder for tag.*'base'.*with agents at step 6000"):
        main([*argv, "--at-step", "6000"])
