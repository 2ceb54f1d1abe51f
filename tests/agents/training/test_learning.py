"""Learning happens: SAC + HER through the whole training path beats a random policy."""
import gymnasium as gym
import torch

from agents.evaluation.episodes import evaluate, summarize
from agents.training.run import EVAL_SEED_OFFSET, RunConfig, train
from tests.agents import point_goal_env

FAST_HER = {"learning_starts": 100, "batch_size": 64, "buffer_size": 5000, "gamma": 0.9, "tau": 0.05,
            "learning_rate": 3e-3, "policy_kwargs": "dict(net_arch=[32, 32])"}


def test_sac_her_beats_random_on_a_goal_env(tmp_path):
    torch.set_num_threads(1)
    config = RunConfig(env_id=point_goal_env.ENV_ID, n_timesteps=600, seed=0, eval_freq=0, eval_episodes=30,
                         save_freq=0, log_folder=str(tmp_path), video_episodes=0, progress=False, params=FAST_HER)
    result = train(config)
    env = gym.make(point_goal_env.ENV_ID)
    env.action_space.seed(0)
    random_episodes, _ = evaluate(env, lambda obs: env.action_space.sample(), 30, seed=EVAL_SEED_OFFSET)
    random_rate = summarize(random_episodes).success_rate
    assert random_rate <= 0.2
    assert result.summary.success_rate >= random_rate + 0.2, result.summary.line()
