"""Every env id refuses a bad action with an error naming it and the space, and stays usable."""
import gymnasium as gym
import numpy as np
import pytest
import torch

import envs  # noqa: F401  (registers the ids)
from envs.registration import BATCHED_WORLDS
from foresight_base.action_check import InvalidActionError
from tests.attacks.actions import bad_actions, extreme_actions

PYBULLET_IDS = ["Foresight/PandaReach-v0", "Foresight/PandaPush-v0", "Foresight/PandaPickAndPlace-v0",
                "Foresight/MobilePointNav-v0"]
BATCHED_IDS = [f"Foresight/{name}" for name in BATCHED_WORLDS]


def finite(obs) -> bool:
    values = obs.values() if isinstance(obs, dict) else [obs]
    return all(np.isfinite(np.asarray(v, dtype=np.float64)).all() for v in values)


def check_env(env, space, batch=None):
    for name, action in bad_actions(space, batch).items():
        with pytest.raises(InvalidActionError) as info:
            env.step(action)
        assert "action" in str(info.value) and str(space) in str(info.value), name
    for name, action in extreme_actions(space, batch).items():
        obs = env.step(action)[0]
        assert finite(obs), name  # clipped to the bounds, state unharmed
    obs = env.step(space.sample() if batch is None else np.stack([space.sample() for _ in range(batch)]))[0]
    assert finite(obs)  # nothing above left the env broken


@pytest.mark.parametrize("env_id", PYBULLET_IDS + BATCHED_IDS)
def test_bad_actions_raise_clear_errors_on_every_id(env_id):
    env = gym.make(env_id)
    env.reset(seed=0)
    check_env(env.unwrapped, env.action_space)
    env.close()


@pytest.mark.parametrize("env_id", BATCHED_IDS)
def test_bad_actions_raise_clear_errors_on_the_vector_envs(env_id):
    env = gym.make_vec(env_id, num_envs=3, device="cpu")
    env.reset(seed=0)
    check_env(env, env.single_action_space, batch=3)
    torch_env = gym.make_vec(env_id, num_envs=3, device="cpu", backend="torch")
    torch_env.reset(seed=0)
    shape = (3, *env.single_action_space.shape)
    with pytest.raises(InvalidActionError, match="non-finite|integers"):
        torch_env.step(torch.full(shape, float("nan")))


@pytest.mark.parametrize("env_id", PYBULLET_IDS)
def test_a_closed_env_says_so(env_id):
    env = gym.make(env_id)
    env.reset(seed=0)
    env.close()
    for call in (lambda: env.unwrapped.step(env.action_space.sample()), lambda: env.unwrapped.reset(seed=1)):
        with pytest.raises(gym.error.ClosedEnvironmentError, match="closed"):
            call()
