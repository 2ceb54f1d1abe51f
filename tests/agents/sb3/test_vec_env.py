"""VectorEnvToSB3: behaves like SB3's own DummyVecEnv, and SB3 algorithms train through it."""
import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from stable_baselines3 import PPO
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor

import envs  # noqa: F401  (registers the ids)
from agents.sb3.vec_env import VectorEnvToSB3


def _gym_cartpoles(n, mode):
    return gym.make_vec("CartPole-v1", num_envs=n, vectorization_mode="sync", max_episode_steps=15,
                        vector_kwargs={"autoreset_mode": mode})


@pytest.mark.parametrize("mode", [AutoresetMode.SAME_STEP, AutoresetMode.DISABLED])
def test_same_transitions_as_dummy_vec_env(mode):
    ours = VectorEnvToSB3(_gym_cartpoles(3, mode))
    reference = DummyVecEnv([lambda: gym.make("CartPole-v1", max_episode_steps=15)] * 3)
    ours.seed(5), reference.seed(5)
    np.testing.assert_array_equal(ours.reset(), reference.reset())
    actions = np.random.default_rng(0).integers(2, size=(40, 3))
    finished = timeouts = 0
    for action in actions:
        obs, reward, done, infos = ours.step(action)
        ref_obs, ref_reward, ref_done, ref_infos = reference.step(action)
        np.testing.assert_array_equal(obs, ref_obs)
        np.testing.assert_array_equal(reward, ref_reward)
        np.testing.assert_array_equal(done, ref_done)
        for info, ref_info in zip(infos, ref_infos, strict=True):
            assert info["TimeLimit.truncated"] == ref_info["TimeLimit.truncated"]
            timeouts += ref_info["TimeLimit.truncated"]
            if "terminal_observation" in ref_info:
                np.testing.assert_array_equal(info["terminal_observation"], ref_info["terminal_observation"])
                finished += 1
    assert finished > timeouts > 0  # both terminations and timeouts were compared


def test_next_step_autoreset_is_refused_with_the_fix_in_the_message():
    with pytest.raises(ValueError, match="SameStep"):
        VectorEnvToSB3(gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync"))


def test_torch_vector_env_gets_tensor_actions_and_gives_numpy_with_timeouts():
    venv = gym.make_vec("Foresight/BatchedPendulum-v0", num_envs=4, device="cpu", backend="torch",
                        max_episode_steps=2)
    env = VectorEnvToSB3(venv)
    assert isinstance(env.reset(), np.ndarray)
    env.step(np.zeros((4, 1), np.float32))
    obs, reward, done, infos = env.step(np.zeros((4, 1), np.float32))
    assert obs.shape == (4, 3) and reward.dtype == np.float32 and done.all()
    assert all(i["TimeLimit.truncated"] and i["terminal_observation"].shape == (3,) for i in infos)



def test_ppo_learns_batched_cartpole_far_better_than_random():
    def make(n):
        return VecMonitor(VectorEnvToSB3(gym.make_vec("Foresight/BatchedCartPole-v0", num_envs=n, device="cpu")))

    model = PPO("MlpPolicy", make(64), n_steps=32, batch_size=256, n_epochs=4, gamma=0.98, gae_lambda=0.8,
                learning_rate=3e-3, policy_kwargs={"net_arch": [32, 32]}, seed=0, device="cpu")
    model.learn(32_768)
    training_return = np.mean([episode["r"] for episode in model.ep_info_buffer])
    eval_return, _ = evaluate_policy(model, make(16), n_eval_episodes=16, warn=False)
    # A uniformly random policy balances CartPole for about 22 steps.
    assert training_return > 60 and eval_return > 100, (training_return, eval_return)


def test_sac_replay_buffer_keeps_timeouts_apart_from_terminations():
    from stable_baselines3 import SAC

    venv = gym.make_vec("Foresight/BatchedPendulum-v0", num_envs=4, device="cpu", max_episode_steps=5)
    model = SAC("MlpPolicy", VectorEnvToSB3(venv), learning_starts=1000, buffer_size=100, seed=0, device="cpu",
                policy_kwargs={"net_arch": [8]})
    model.learn(40)
    buffer, filled = model.replay_buffer, model.replay_buffer.pos
    assert buffer.dones[:filled].sum() == 4 * 2  # every 5th step of 10, in all 4 worlds
    np.testing.assert_array_equal(buffer.timeouts[:filled], buffer.dones[:filled])  # all were timeouts


def test_cnn_policy_trains_on_pixel_observations():
    from stable_baselines3 import A2C

    venv = gym.make_vec("Foresight/BatchedCartPole-v0", num_envs=2, device="cpu", obs_mode="rgb", image_size=40)
    env = VectorEnvToSB3(venv)
    assert env.observation_space.shape == (40, 40, 3) and env.observation_space.dtype == np.uint8
    model = A2C("CnnPolicy", env, n_steps=4, seed=0, device="cpu",
                policy_kwargs={"features_extractor_kwargs": {"features_dim": 16}})
    model.learn(16)
    assert model.num_timesteps == 16


def test_multi_input_policy_trains_on_image_plus_state_dicts():
    from stable_baselines3 import A2C

    venv = gym.make_vec("Foresight/BatchedPointMassReach-v0", num_envs=2, device="cpu", obs_mode="rgb+state",
                        image_size=40, max_episode_steps=3)
    model = A2C("MultiInputPolicy", VectorEnvToSB3(venv), n_steps=4, seed=0, device="cpu",
                policy_kwargs={"features_extractor_kwargs": {"cnn_output_dim": 16}})
    model.learn(16)
    assert model.num_timesteps == 16


def test_sb3_vec_env_wrappers_stack_on_the_adapter():
    from stable_baselines3.common.vec_env import VecCheckNan, VecFrameStack, VecNormalize

    venv = gym.make_vec("Foresight/BatchedPendulum-v0", num_envs=3, device="cpu", max_episode_steps=4)
    env = VecCheckNan(VecFrameStack(VecNormalize(VectorEnvToSB3(venv)), n_stack=2), raise_exception=True)
    env.seed(0)
    assert env.reset().shape == (3, 6)
    for _ in range(4):
        obs, reward, done, infos = env.step(np.zeros((3, 1), np.float32))
    assert obs.shape == (3, 6) and done.all()
    assert all(info["terminal_observation"].shape == (6,) and info["TimeLimit.truncated"] for info in infos)
