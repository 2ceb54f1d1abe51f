"""SB3's models and our planning agent all satisfy the ``Agent`` protocol that types ``model`` in ``agents/``."""
import numpy as np
from stable_baselines3 import PPO, SAC

from agents.agent import Agent, Predictor
from agents.evaluation.episodes import ModelPolicy
from agents.planning.mpc import PlanningAgent
from tests.agents.planning_fixtures import make_reach


def test_sb3_models_and_the_planning_agent_are_agents():
    env = make_reach()
    try:
        models = [PPO("MultiInputPolicy", env, n_steps=8, batch_size=8, device="cpu"),
                  SAC("MultiInputPolicy", env, policy_kwargs={"net_arch": [8]}, device="cpu"),
                  PlanningAgent(env, seed=0)]
        for model in models:
            assert isinstance(model, Agent) and isinstance(model, Predictor), type(model).__name__
            assert model.num_timesteps == 0 and model.get_env().num_envs == 1
    finally:
        env.close()


def test_evaluation_needs_only_a_predictor():
    class Zero:
        def predict(self, observation, state=None, episode_start=None, deterministic=False):
            return np.zeros(1, np.float32), None

    assert isinstance(Zero(), Predictor) and not isinstance(Zero(), Agent)
    assert ModelPolicy(Zero())({"observation": 0}).tolist() == [0.0]
