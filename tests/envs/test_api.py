"""Every registered PyBullet id in every observation mode passes gymnasium's and SB3's checkers."""
from __future__ import annotations

import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from envs.observations import OBS_MODES
from tests.envs.conftest import PYBULLET_IDS, make


def _check(env_id: str, **kwargs) -> tuple:
    """Run both checkers; return the action space shape. ("human" rendering needs a display.)"""
    env = make(env_id, **kwargs)
    try:
        gym_check_env(env.unwrapped, skip_render_check=True, skip_close_check=True)
        sb3_check_env(env.unwrapped, warn=False)
        return env.action_space.shape
    finally:
        env.close()


@pytest.mark.parametrize("obs_mode", OBS_MODES)
@pytest.mark.parametrize("env_id", PYBULLET_IDS)
def test_checkers_pass(env_id, obs_mode):
    _check(env_id, obs_mode=obs_mode, render_mode="rgb_array")


@pytest.mark.parametrize("env_id", ["Foresight/PandaPush-v0", "Foresight/MobilePointNav-v0"])
def test_checkers_pass_with_randomization(env_id):
    _check(env_id, obs_mode="rgb+state", randomize=True)


def test_checkers_pass_in_joint_control():
    assert _check("Foresight/PandaPickAndPlace-v0", obs_mode="goal", control="joints") == (8,)


@pytest.mark.parametrize("env_id", ["Foresight/PandaReach-v0", "Foresight/MobilePointNav-v0"])
def test_gymnasiums_check_env_with_its_defaults_passes_headless(env_id, monkeypatch):
    """``check_env`` builds every advertised render mode; "human" needs a display, so it is not advertised
    without one, and asking for it fails at make with what to use instead (not a PyBullet crash)."""
    monkeypatch.delenv("DISPLAY", raising=False)
    env = make(env_id)
    try:
        assert env.metadata["render_modes"] == ["rgb_array"]
        gym_check_env(env.unwrapped)
    finally:
        env.close()
    with pytest.raises(RuntimeError, match="no display .*use render_mode='rgb_array'"):
        make(env_id, render_mode="human")
