"""Fixtures the benchmark-section tests share."""
import gymnasium as gym
import pytest

import envs  # noqa: F401  (registers the Foresight/ ids)
from agents.planning.latent_agent import LatentPlanningAgent
from tests.scripts.latent_fixtures import TINY


@pytest.fixture(scope="session")
def reach_agent() -> LatentPlanningAgent:
    """A tiny lmpc agent after 60 env steps on goal-dict Reach, each decision held 2 steps (so plans and
    replays span both); trained once for every test that only reads it."""
    return LatentPlanningAgent(gym.make("Foresight/PandaReach-v0", obs_mode="goal"), seed=0,
                               **TINY, action_repeat=2).learn(60)
