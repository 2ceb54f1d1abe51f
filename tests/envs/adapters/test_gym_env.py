"""Gymnasium faces: an env over any adapter (checked by gymnasium), and the supervisor in sim evaluation."""
import gymnasium as gym
import numpy as np
from gymnasium.utils.env_checker import check_env

from envs.adapters.gym_env import AdapterEnv, GoalSpec, SupervisedEnv
from envs.adapters.limits import CommandField, CommandLimits
from envs.adapters.point import PointRobotAdapter
from envs.adapters.safety import SafetyConfig, SafetySupervisor


def _distance(a, b):
    return np.linalg.norm(np.asarray(a) - np.asarray(b), axis=-1)


POINT_GOAL = GoalSpec(achieved=lambda data: data["position"], sample=lambda rng: rng.uniform(-0.1, 0.1, 2),
                      reward=lambda a, d: -_distance(a, d), success=lambda a, d: _distance(a, d) < 0.01,
                      observation_key="velocity")


def test_adapter_env_passes_gymnasium_checks_and_reaches_goals():
    env = AdapterEnv(PointRobotAdapter(), goal=POINT_GOAL)
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=0)
    assert set(obs) == {"observation", "achieved_goal", "desired_goal"} and not info["is_success"]
    for _ in range(60):
        error = obs["desired_goal"] - obs["achieved_goal"]
        obs, reward, *_, info = env.step(np.append(np.clip(20 * error, -1, 1), 0.0).astype(np.float32))
    assert info["is_success"] and reward > -0.01
    np.testing.assert_allclose(env.compute_reward(obs["achieved_goal"][None], obs["desired_goal"][None]), reward)
    env.close()
    env.close()


def test_supervised_env_counts_what_the_robot_would_have_clamped():
    limits = CommandLimits({"torque": CommandField.box(-2.0, 2.0, 0.5, 1)})
    env = SupervisedEnv(gym.make("Pendulum-v1"), SafetySupervisor(limits, SafetyConfig(watchdog_s=None)))
    env.reset(seed=0)
    bang_bang = [np.array([2.0]), np.array([-2.0])] * 10
    for action in bang_bang:
        *_, info = env.step(action)
        assert info["interventions"] == ("clamped_rate",)
    env.step(np.array([np.nan]))
    report = env.report()
    assert report["clamped_rate"] == 20 and report["rejected_non_finite"] == 1
    assert 0.9 < report["clamped_rate_rate"] < 1.0
