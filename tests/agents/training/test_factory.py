"""The agent factory: every algorithm trains a tiny budget, and saves/loads/predicts identically."""
import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import HerReplayBuffer
from stable_baselines3.common.vec_env import DummyVecEnv

from agents import checkpoints
from agents.training import state as train_state
from agents.training.env_setup import make_vec_env
from agents.training.factory import ALGOS, LinearSchedule, make_agent
from tests.agents import point_goal_env

TINY = {"policy_kwargs": "dict(net_arch=[16])"}
CASES = {
    "a2c": ("Pendulum-v1", {"n_steps": 8}),
    "ddpg": ("Pendulum-v1", {"learning_starts": 32, "batch_size": 16, "noise_type": "normal"}),
    "dqn": ("CartPole-v1", {"learning_starts": 32, "batch_size": 16}),
    "ppo": ("CartPole-v1", {"n_steps": 32, "batch_size": 16, "n_epochs": 1}),
    "sac": ("Pendulum-v1", {"learning_starts": 32, "batch_size": 16}),
    "td3": ("Pendulum-v1", {"learning_starts": 32, "batch_size": 16, "noise_type": "ornstein-uhlenbeck"}),
    "tqc": ("Pendulum-v1", {"learning_starts": 32, "batch_size": 16}),
}


def build(algo, env_id, params, seed=0):
    return make_agent(algo, make_vec_env(env_id, seed=seed), {**TINY, **params}, seed=seed, device="cpu")


@pytest.mark.parametrize("algo", sorted(CASES))
def test_each_algorithm_trains_saves_loads_and_predicts_identically(algo, tmp_path):
    if algo == "tqc":
        pytest.importorskip("sb3_contrib")
    torch.set_num_threads(1)
    env_id, params = CASES[algo]
    model = build(algo, env_id, params)
    model.learn(64)
    assert model.num_timesteps == 64
    checkpoints.atomic_save(train_state.gather(model), tmp_path / "m.pt")
    clone = build(algo, env_id, params, seed=1)
    train_state.restore(clone, checkpoints.load(tmp_path / "m.pt"))
    obs = np.stack([model.observation_space.sample() for _ in range(8)])
    np.testing.assert_array_equal(model.predict(obs, deterministic=True)[0], clone.predict(obs, deterministic=True)[0])
    assert clone.num_timesteps == 64


def test_goal_envs_get_her_and_a_multi_input_policy():
    model = make_agent("sac", make_vec_env(point_goal_env.ENV_ID), {**TINY, "buffer_size": 100}, seed=0)
    assert isinstance(model.replay_buffer, HerReplayBuffer)
    assert type(model.policy).__name__ == "MultiInputPolicy"


def test_zoo_strings_become_values():
    env = DummyVecEnv([lambda: gym.make("Pendulum-v1")])
    params = {"learning_rate": "lin_1e-3", "policy_kwargs": "dict(net_arch=[8], activation_fn=nn.Tanh)"}
    model = make_agent("sac", env, params, seed=0)
    assert isinstance(model.learning_rate, LinearSchedule) and model.learning_rate(0.5) == pytest.approx(5e-4)
    assert model.policy.actor.latent_pi[1].__class__ is torch.nn.Tanh


@pytest.mark.parametrize(
    "algo, params, message",
    [
        ("sacc", {}, "valid: a2c, ddpg, dqn, lmpc, mpc, ppo, sac, td3, tqc"),
        ("sac", {"policy_kwargs": "dict(activation_fn=os.system)"}, "not allowed; valid:"),
        ("td3", {"noise_type": "pink"}, "valid: normal, ornstein-uhlenbeck"),
        ("sac", {"replay_buffer_class": "PrioritizedReplayBuffer"}, "valid: HerReplayBuffer"),
        ("sac", {"learning_rate": "cosine"}, "use a number or lin_<number>"),
    ],
)
def test_bad_hyperparameters_name_the_valid_choices(algo, params, message):
    env = DummyVecEnv([lambda: gym.make("Pendulum-v1")])
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        make_agent(algo, env, params)


def test_algos_list_is_complete():
    assert set(CASES) | {"mpc", "lmpc"} == set(ALGOS)
