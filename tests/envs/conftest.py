"""Shared helpers for the PyBullet env tests: small images keep rendering cheap."""
from __future__ import annotations

import gymnasium as gym
import pytest

import envs  # noqa: F401  (registers the ids)

PYBULLET_IDS = (
    "Foresight/PandaReach-v0",
    "Foresight/PandaPush-v0",
    "Foresight/PandaPickAndPlace-v0",
    "Foresight/MobilePointNav-v0",
)
SMALL_IMAGE = 32


def make(env_id: str, **kwargs) -> gym.Env:
    kwargs.setdefault("image_size", SMALL_IMAGE)
    return gym.make(env_id, **kwargs)


@pytest.fixture
def closing():
    """Collect envs made in a test and close them afterwards."""
    made: list[gym.Env] = []
    yield made
    for env in made:
        env.close()
