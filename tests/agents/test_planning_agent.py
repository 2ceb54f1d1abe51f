"""The planning agent learns Reach from a tiny budget, has SB3's face, and saves/loads exactly."""
import gymnasium as gym
import numpy as np
import pytest
import torch

import envs  # noqa: F401  (registers the Foresight/ ids)
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import DummyVecEnv

from agents.planning_agent import PlanningAgent

REACH = "Foresight/PandaReach-v0"
SMALL = dict(learning_starts=200, train_freq=200, num_candidates=100, num_elites=10, horizon=5, iterations=3,
             hidden_size=64, num_layers=2, max_epochs=20)


def make_reach() -> gym.Env:
    return gym.make(REACH, obs_mode="goal")


def success_rate(act, episodes: int = 6) -> float:
    env, successes = make_reach(), []
    for episode in range(episodes):
        obs, _ = env.reset(seed=1000 + episode)
        for _ in range(50):
            obs, _, terminated, truncated, info = env.step(act(obs))
            if terminated or truncated:
                break
        successes.append(float(info["is_success"]))
    env.close()
    return float(np.mean(successes))


class CountSteps(BaseCallback):
    def _on_step(self) -> bool:
        return self.num_timesteps < 250  # stops learning early


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    agent = PlanningAgent(make_reach(), seed=0, **SMALL)
    return agent.learn(400)


def test_planning_agent_beats_random_on_reach_within_400_steps(trained):
    rng = np.random.default_rng(0)
    random = success_rate(lambda obs: rng.uniform(-1, 1, 3).astype(np.float32))
    planned = success_rate(lambda obs: trained.predict(obs)[0])
    assert trained.num_timesteps == 400 and trained.fits == 2
    assert planned >= random + 0.5, (planned, random)
    assert trained.last_uncertainty.shape == (1,) and trained.last_uncertainty[0] >= 0


def test_save_load_round_trip_reproduces_actions(trained, tmp_path):
    trained.save(tmp_path / "mpc.pt")
    clone = PlanningAgent.load(tmp_path / "mpc.pt", device="cpu")
    obs, _ = make_reach().reset(seed=3)
    actions = []
    for agent in (trained, clone):
        agent.planner.generator.manual_seed(11)
        agent.planner.reset()
        actions.append(agent.predict(obs)[0])
    np.testing.assert_array_equal(actions[0], actions[1])
    assert clone.num_timesteps == 400 and len(clone.replay) == len(trained.replay)
    with pytest.raises(RuntimeError, match="pass env= to PlanningAgent.load"):
        clone.learn(1)


def test_sb3_evaluate_policy_and_callbacks_drive_the_agent():
    vec = DummyVecEnv([make_reach, make_reach])
    agent = PlanningAgent(make_reach(), seed=1, **SMALL)
    agent.learn(1000, callback=CountSteps())
    assert agent.num_timesteps == 250 and agent.fits == 1
    mean_return, _ = evaluate_policy(agent, vec, n_eval_episodes=2)  # batched predict over 2 envs
    assert mean_return > -50


def test_bad_hyperparameters_and_spaces_are_named():
    with pytest.raises(ValueError, match=r"unknown PlanningAgent hyperparameter\(s\) \['horizn'\]"):
        PlanningAgent(gym.make("Pendulum-v1"), horizn=3)
    with pytest.raises(ValueError, match="objective 'goal_distance' needs a goal-dict"):
        PlanningAgent(gym.make("Pendulum-v1"), objective="goal_distance")
    with pytest.raises(TypeError, match="continuous Box action space"):
        PlanningAgent(gym.make("CartPole-v1"))
