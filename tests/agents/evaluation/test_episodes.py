"""Evaluation statistics: known success rates, Wilson intervals, IQM and bootstrap CIs."""
import gymnasium as gym
import numpy as np
import pytest

from agents.evaluation.episodes import evaluate, summarize
from agents.evaluation.statistics import bootstrap_ci, iqm, wilson_interval
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


def test_wilson_interval_is_sane_at_the_edges():
    assert wilson_interval(0, 20)[0] == 0.0 and 0.1 < wilson_interval(0, 20)[1] < 0.2
    assert wilson_interval(20, 20)[1] == 1.0
    low, high = wilson_interval(10, 20)
    assert low < 0.5 < high and high - low < 0.45
    with pytest.raises(ValueError, match="trials must be > 0"):
        wilson_interval(0, 0)


def test_iqm_trims_a_quarter_each_side_and_its_bootstrap_ci_covers_it():
    assert iqm(np.arange(1, 9)) == pytest.approx(np.mean([3, 4, 5, 6]))
    assert iqm([1.0, 1.0, 1.0, 100.0]) == 1.0  # robust to an outlier
    scores = np.random.default_rng(0).normal(10, 2, size=(5, 40))
    low, high = bootstrap_ci(scores, reps=300)
    assert low < iqm(scores) < high and high - low < 2.0
    wide = bootstrap_ci(scores[:, :4], reps=300)
    assert wide[1] - wide[0] > high - low  # fewer episodes, wider interval


def test_pybullet_reach_scripted_controller_reports_full_success():
    import envs  # noqa: F401  (registers Foresight ids)

    env = gym.make("Foresight/PandaReach-v0", obs_mode="goal")
    episodes, _ = evaluate(env, lambda obs: env.unwrapped.scripted_action(), 10, seed=0)
    summary = summarize(episodes)
    env.close()
    assert summary.success_rate == 1.0 and summary.success_ci[0] > 0.7
    assert all(e.length == 50 for e in episodes)  # Reach runs to its time limit; success is read at the end
