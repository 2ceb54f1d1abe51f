"""One batched world as a plain gymnasium.Env: passes gymnasium's checker, matches CartPole-v1."""
import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs  # noqa: F401  (registers the ids)
from envs.registration import BATCHED_WORLDS


@pytest.mark.parametrize("env_id", sorted(BATCHED_WORLDS))
@pytest.mark.filterwarnings("ignore::UserWarning")  # the checker's advice on infinite Box bounds
def test_gymnasium_env_checker_passes(env_id):
    env = gym.make(f"Foresight/{env_id}")
    check_env(env.unwrapped, skip_render_check=True)
    assert env.spec.max_episode_steps == BATCHED_WORLDS[env_id][1]


def test_single_cartpole_follows_gymnasium_from_the_same_state():
    ours, reference = gym.make("Foresight/BatchedCartPole-v0"), gym.make("CartPole-v1")
    ours.reset(seed=0), reference.reset(seed=0)
    ours.unwrapped.state = np.array(reference.unwrapped.state, dtype=np.float64)
    for action in np.random.default_rng(0).integers(2, size=200):
        obs, reward, terminated, truncated, _ = ours.step(int(action))
        ref_obs, ref_reward, ref_terminated, ref_truncated, _ = reference.step(int(action))
        np.testing.assert_allclose(obs, ref_obs, atol=1e-6)
        assert (reward, terminated, truncated) == (ref_reward, ref_terminated, ref_truncated)
        if terminated:
            break
    assert terminated


def test_sync_vectorization_and_rgb_observations_work_through_make():
    env = gym.make_vec("Foresight/BatchedArmReach-v0", num_envs=2, vectorization_mode="sync", obs_mode="rgb",
                       image_size=32)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (2, 32, 32, 3) and obs.dtype == np.uint8
    frame = gym.make("Foresight/BatchedSpaceship-v0", render_mode="rgb_array")
    frame.reset(seed=0)
    assert frame.render().shape == (64, 64, 3)
