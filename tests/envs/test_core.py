"""Seeding, state snapshots and batched rewards of the PyBullet worlds."""
from __future__ import annotations

import numpy as np
import pytest

from tests.envs.conftest import PYBULLET_IDS, make


def _rollout(env, seed: int, steps: int) -> np.ndarray:
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    frames = [obs]
    for _ in range(steps):
        obs, *_ = env.step(env.action_space.sample())
        frames.append(obs)
    return np.stack(frames)


@pytest.mark.parametrize("env_id", PYBULLET_IDS)
def test_same_seed_same_observations(env_id, closing):
    first, second = make(env_id), make(env_id)
    closing += [first, second]
    a = _rollout(first, seed=3, steps=100)
    np.testing.assert_array_equal(a, _rollout(second, seed=3, steps=100))
    assert not np.allclose(a, _rollout(second, seed=4, steps=100)), "a different seed should differ"


@pytest.mark.parametrize("env_id", PYBULLET_IDS)
def test_save_restore_round_trips(env_id, closing):
    env = make(env_id)
    closing.append(env)
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(5):
        env.step(env.action_space.sample())
    actions = [env.action_space.sample() for _ in range(10)]
    state = env.unwrapped.save_state()
    first = [env.step(a)[0] for a in actions]
    env.reset(seed=1)  # a new goal and robot pose: restore must bring everything back
    env.unwrapped.restore_state(state)
    second = [env.step(a)[0] for a in actions]
    np.testing.assert_allclose(np.stack(first), np.stack(second), atol=1e-5)


@pytest.mark.parametrize("reward_type", ["sparse", "dense"])
@pytest.mark.parametrize("env_id", PYBULLET_IDS)
def test_batched_compute_reward_equals_step_rewards(env_id, reward_type, closing):
    env = make(env_id, obs_mode="goal", reward_type=reward_type)
    closing.append(env)
    env.reset(seed=0)
    achieved, desired, rewards, successes = [], [], [], []
    for step in range(30):
        action = env.unwrapped.scripted_action() if step % 2 else env.action_space.sample()
        obs, reward, _, _, info = env.step(action)
        achieved.append(obs["achieved_goal"]), desired.append(obs["desired_goal"])
        rewards.append(reward), successes.append(info["is_success"])
    batch = env.unwrapped.compute_reward(np.stack(achieved), np.stack(desired), [{}] * 30)
    assert batch.shape == (30,)
    np.testing.assert_allclose(batch, rewards, atol=1e-6)
    if reward_type == "sparse":
        np.testing.assert_array_equal(batch == 0, successes)


def test_compute_reward_only_in_goal_mode(closing):
    env = make(PYBULLET_IDS[0], obs_mode="state")
    closing.append(env)
    assert not hasattr(env.unwrapped, "compute_reward")
    assert callable(env.unwrapped.task.compute_reward)
