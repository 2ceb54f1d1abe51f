"""``--algo mpc`` through the whole training path: the planning agent trains from its YAML preset,
lands in a run folder like any SB3 agent, and ``evaluate.py``'s loader re-evaluates it."""
import gymnasium as gym
import torch

import envs  # noqa: F401  (registers the ids)
from agents.evaluation import evaluate, summarize
from agents.run_evaluation import EvalRequest, evaluate_run
from agents.training import EVAL_SEED_OFFSET, TrainConfig, train

REACH = "Foresight/PandaReach-v0"


def test_mpc_preset_learns_reach_and_its_run_re_evaluates(tmp_path):
    torch.set_num_threads(1)
    config = TrainConfig(algo="mpc", env_id=REACH, n_timesteps=400, seed=0, eval_freq=0, eval_episodes=10,
                         save_freq=0, log_folder=str(tmp_path), video_episodes=0, progress=False)
    result = train(config)

    env = gym.make(REACH, obs_mode="goal")
    env.action_space.seed(0)
    random_rate = summarize(evaluate(env, lambda obs: env.action_space.sample(), 10, seed=EVAL_SEED_OFFSET)[0]).success_rate
    env.close()
    assert result.summary.success_rate >= random_rate + 0.5, result.summary.line()

    report = evaluate_run(result.run.path, EvalRequest(n_episodes=5, which="latest"))
    assert report.summary.success_rate >= random_rate + 0.5, report.summary.line()
