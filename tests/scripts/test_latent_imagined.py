"""benchmark.py latent --what imagined: a plan replayed in the env leaves the episode where it was, the
replay pays what acting pays, the model's view comes per plan step, and envs that cannot come back are refused."""
import argparse
import json

import gymnasium as gym
import numpy as np
import pytest
import torch

import envs  # noqa: F401  (registers the Foresight/ ids)
from agents.planning.latent_agent import LatentPlanningAgent
from scripts.benchmarks._latent_imagined import env_rewards, imagined, imagined_rewards, trace
from tests.agents import point_goal_env
from tests.scripts.latent_fixtures import TINY


def test_replaying_a_plan_pays_what_acting_pays_and_restores_the_episode(reach_agent):
    env = gym.make("Foresight/PandaReach-v0", obs_mode="goal")
    obs, _ = env.reset(seed=5)
    plan = reach_agent.planned_sequences(obs)[0].numpy()
    real, _ = env_rewards(env, reach_agent, plan)
    assert real.shape == (reach_agent.config.horizon,)
    untouched = gym.make("Foresight/PandaReach-v0", obs_mode="goal")
    untouched.reset(seed=5)
    paid = 0.0
    for _ in range(2):  # the plan's first decision, held as the agent holds it, in both envs
        replayed, reward, *_ = env.step(reach_agent.env_actions(plan[:1])[0])
        fresh, *_ = untouched.step(reach_agent.env_actions(plan[:1])[0])
        np.testing.assert_allclose(replayed["observation"], fresh["observation"], atol=1e-6)  # restored exactly
        paid += float(reward)
    assert paid == pytest.approx(real[0])
    untouched.close()
    assert imagined_rewards(reach_agent, obs, torch.as_tensor(plan)[None]).shape == (1, reach_agent.config.horizon)
    env.close()


def test_trace_has_a_row_per_decision(reach_agent):
    env = gym.make("Foresight/PandaReach-v0", obs_mode="goal")
    rows = trace(reach_agent, env, episodes=1, seed=0)
    decisions = 50 // reach_agent.config.action_repeat
    assert {len(v) for v in rows.values()} == {decisions}
    assert np.asarray(rows["chosen_real"]).shape == (decisions, reach_agent.config.horizon)
    env.close()


def test_an_env_without_saved_states_is_refused(tmp_path):
    agent = LatentPlanningAgent(gym.make(point_goal_env.ENV_ID), seed=0, **TINY)
    agent.save(tmp_path / "lmpc_s0.agent")
    (tmp_path / "lmpc_s0.json").write_text(json.dumps({"env_kwargs": {}}))
    args = argparse.Namespace(env=point_goal_env.ENV_ID, seeds=[0], final_episodes=1)
    with pytest.raises(ValueError, match=f"{point_goal_env.ENV_ID} has no save_state"):
        imagined(args, tmp_path, lambda kwargs: gym.make(point_goal_env.ENV_ID, **kwargs))
