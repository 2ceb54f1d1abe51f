"""Every registered PyBullet id in every observation mode passes gymnasium's and SB3's checkers."""
from __future__ import annotations

import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from envs.observations import OBS_MODES
from tests.envs.conftest import PYBULLET_IDS, make


@pytest.mark.parametrize("obs_mode", OBS_MODES)
@pytest.mark.parametrize("env_id", PYBULLET_IDS)
def test_checkers_pass(env_id, obs_mode):
    env = make(env_id, obs_mode=obs_mode, render_mode="rgb_array")
    try:
        gym_check_env(env.unwrapped, skip_render_check=True, skip_close_check=True)  # "human" needs a display
        sb3_check_env(env.unwrapped, warn=False)
    finally:
        env.close()


@pytest.mark.parametrize("env_id", ["Foresight/PandaPush-v0", "Foresight/MobilePointNav-v0"])
def test_checkers_pass_with_randomization(env_id):
    env = make(env_id, obs_mode="rgb+state", randomize=True)
    try:
        gym_check_env(env.unwrapped, skip_render_check=True, skip_close_check=True)
        sb3_check_env(env.unwrapped, warn=False)
    finally:
        env.close()


def test_checkers_pass_in_joint_control():
    env = make("Foresight/PandaPickAndPlace-v0", obs_mode="goal", control="joints")
    try:
        assert env.action_space.shape == (8,)
        gym_check_env(env.unwrapped, skip_render_check=True, skip_close_check=True)
        sb3_check_env(env.unwrapped, warn=False)
    finally:
        env.close()
