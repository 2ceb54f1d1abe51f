"""benchmark.py latent --what blame: the agent's and the expert's plans replayed and scored, and the counts."""
import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the Foresight/ ids)
from scripts.benchmarks._latent_blame import trace, verdicts
from scripts.benchmarks._latent_imagined import replay


def test_the_experts_replay_is_what_the_expert_does_and_the_episode_comes_back(reach_agent):
    agent, make = reach_agent, lambda: gym.make("Foresight/PandaReach-v0", obs_mode="goal")
    env, fresh, untouched = make(), make(), make()
    for e in (env, fresh, untouched):
        e.reset(seed=3)
    rewards, end, _, taken = replay(env, agent, None)
    assert rewards.shape == (agent.config.horizon,) and taken.shape == (agent.config.horizon, 3)
    for _ in range(agent.config.horizon):  # the expert deciding afresh each decision, held as the agent holds
        decision = agent.to_normalised(fresh.unwrapped.scripted_action()[None])
        for _ in range(agent.config.action_repeat):
            seen, *_ = fresh.step(agent.env_actions(decision)[0])
    np.testing.assert_allclose(seen["achieved_goal"], end["achieved_goal"], atol=1e-6)
    _, again, _, _ = replay(env, agent, taken)  # the same decisions replayed: the same end
    np.testing.assert_allclose(again["achieved_goal"], end["achieved_goal"], atol=1e-6)
    after, *_ = env.step(np.zeros(3, dtype=np.float32))  # restored: the episode goes on from where it was
    expected, *_ = untouched.step(np.zeros(3, dtype=np.float32))
    np.testing.assert_allclose(after["observation"], expected["observation"], atol=1e-6)
    for e in (env, fresh, untouched):
        e.close()


def test_trace_rows_cover_every_decision_outside_the_goal(reach_agent):
    env = gym.make("Foresight/PandaReach-v0", obs_mode="goal")
    rows = trace(reach_agent, env, episodes=1, seed=0)
    env.close()
    count = len(rows["start"])
    assert 0 < count <= 50 // reach_agent.config.action_repeat
    assert rows["end"].shape == rows["imagined"].shape == rows["real"].shape == (count, 2)
    assert np.isfinite(rows["imagined"]).all() and np.isfinite(rows["real"]).all()
    assert (rows["real_rewards"] <= 0).all()  # sparse Reach pays -1 or 0 per step


def test_verdicts_count_where_the_planner_was_misled_and_by_what():
    rows = {"start": np.array([0.20, 0.20, 0.20, 0.20]),
            "end": np.array([[0.25, 0.10], [0.25, 0.10], [0.10, 0.25], [0.20, 0.205]]),  # [chosen, expert]
            "imagined": np.array([[-1.0, -2.0], [-1.0, -2.0], [-1.0, -2.0], [-1.0, -1.0]]),
            "real": np.array([[-3.0, -2.0], [-1.0, -2.0], [-3.0, -2.0], [-1.0, -1.0]]),
            "imagined_rewards": np.zeros((4, 2)), "real_rewards": np.zeros((4, 2))}
    counts = verdicts(rows, margin=0.01)
    assert counts["differ"] == 3  # the last pair ends 5 mm apart
    assert counts["env_prefers_expert"] == 2 and counts["misled"] == 2
    assert counts["dynamics_misled"] == 1 and counts["value_misjudged"] == 1
    assert counts["farther"] == 0.5 and counts["optimism"] == [1.0, 0.0]


def test_verdicts_report_the_ensembles_spread_and_whether_it_tracks_optimism():
    rows = {"start": np.full(3, 0.2), "end": np.full((3, 2), 0.1), "imagined": np.array([[1.0, 0], [2, 0], [3, 0]]),
            "real": np.zeros((3, 2)), "imagined_rewards": np.zeros((3, 2)), "real_rewards": np.zeros((3, 2)),
            "spread": np.array([[1.0, 1.0], [2.0, 1.0], [3.0, 1.0]])}
    counts = verdicts(rows, margin=0.01)
    assert counts["spread"] == [2.0, 1.0] and counts["spread_optimism_corr"] == pytest.approx(1.0)
    assert "spread" not in verdicts({k: v for k, v in rows.items() if k != "spread"}, margin=0.01)
