"""Each scripted controller solves its task from privileged state."""
from __future__ import annotations

import pytest

from tests.envs.conftest import PYBULLET_IDS, make

EPISODES = 20


def success_rate(env, episodes: int = EPISODES) -> float:
    wins = 0
    for seed in range(episodes):
        env.reset(seed=seed)
        truncated = info = False
        while not truncated:
            _, _, terminated, truncated, info = env.step(env.unwrapped.scripted_action())
            assert not terminated
        wins += info["is_success"]
    return wins / episodes


@pytest.mark.parametrize("env_id", PYBULLET_IDS)
def test_scripted_controller_succeeds(env_id, closing):
    env = make(env_id)
    closing.append(env)
    assert success_rate(env) >= 0.9


def test_scripted_controller_works_in_joint_control(closing):
    env = make("Foresight/PandaReach-v0", control="joints")
    closing.append(env)
    assert env.action_space.shape == (7,)
    assert success_rate(env, episodes=5) >= 0.8
