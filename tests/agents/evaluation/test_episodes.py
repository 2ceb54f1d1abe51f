"""Seeded evaluation episodes: known success rates, same seeds same episodes, frames recorded."""
import gymnasium as gym
import numpy as np
import pytest

from agents.evaluation.episodes import evaluate, summarize
from tests.agents import point_goal_env


def straight_to_goal(obs):
    """Scripted controller for the point env: it always reaches the goal within the time limit."""
    return np.clip((obs["desired_goal"] - obs["achieved_goal"]) / 0.2, -1, 1)


def only_left_half(obs):
    """Succeeds exactly when the goal lies at x < 0, i.e. on a known fraction of seeded episodes."""
    return straight_to_goal(obs) if obs["desired_goal"][0] < 0 else np.zeros(2, np.float32)


def test_scripted_controller_reports_its_known_success_rate():
    env = gym.make(point_goal_env.ENV_ID)
    episodes, _ = evaluate(env, straight_to_goal, 30, seed=5)
    summary = summarize(episodes)
    assert summary.success_rate == 1.0 and summary.n_episodes == 30
    assert summary.success_ci[0] > 0.88
    # the rate of a partial controller equals the fraction of seeds it can solve, computed independently
    half, _ = evaluate(env, only_left_half, 40, seed=5)
    starts = [env.reset(seed=5 + i)[0] for i in range(40)]
    solvable = [o["desired_goal"][0] < 0 or np.linalg.norm(o["desired_goal"] - o["achieved_goal"]) <= 0.1
                for o in starts]
    assert summarize(half).success_rate == pytest.approx(np.mean(solvable))
    assert 0.2 < np.mean(solvable) < 0.8


def test_evaluation_is_seeded_and_records_frames():
    env = gym.make(point_goal_env.ENV_ID, render_mode="rgb_array")
    first, frames = evaluate(env, straight_to_goal, 3, seed=7, frames_of_first=2)
    again, _ = evaluate(env, straight_to_goal, 3, seed=7)
    assert first == again
    assert len(frames) == first[0].length + first[1].length + 2 and frames[0].shape == (32, 32, 3)
