"""One small planning agent trained on Foresight/PandaReach-v0, shared by the planning and distillation tests."""
import functools

import gymnasium as gym
import torch

import envs  # noqa: F401  (registers the Foresight/ ids)
from agents.planning.mpc import PlanningAgent

SMALL = dict(learning_starts=200, train_freq=200, num_candidates=100, num_elites=10, horizon=5, iterations=3,
             hidden_size=64, num_layers=2, max_epochs=20)


def make_reach() -> gym.Env:
    return gym.make("Foresight/PandaReach-v0", obs_mode="goal")



@functools.lru_cache(maxsize=1)
def trained_reach_agent() -> PlanningAgent:
    """400 env steps: 200 random, then planning with a model refit every 200 steps (2 fits)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return PlanningAgent(make_reach(), seed=0, **SMALL).learn(400)
    finally:
        torch.set_num_threads(threads)
