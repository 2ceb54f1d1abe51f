"""``--algo mpc`` through the whole training path: the planning agent trains from its YAML preset,
lands in a run folder like any SB3 agent, and ``evaluate.py``'s loader re-evaluates it."""
import json

import gymnasium as gym
import torch

import envs  # noqa: F401  (registers the ids)
from agents.evaluation.episodes import evaluate, summarize
from agents.runs.evaluate import EvalRequest, evaluate_run
from agents.training.run import EVAL_SEED_OFFSET, RunConfig, train

REACH = "Foresight/PandaReach-v0"


def test_mpc_preset_learns_reach_and_its_run_re_evaluates(tmp_path):
    torch.set_num_threads(1)
    config = RunConfig(algo="mpc", env_id=REACH, n_timesteps=400, seed=0, eval_freq=0, eval_episodes=10,
                         save_freq=0, log_folder=str(tmp_path), video_episodes=0, progress=False)
    result = train(config)

    env = gym.make(REACH, obs_mode="goal")
    env.action_space.seed(0)
    random_rate = summarize(evaluate(env, lambda obs: env.action_space.sample(), 10,
                                     seed=EVAL_SEED_OFFSET)[0]).success_rate
    env.close()
    assert result.summary.success_rate >= random_rate + 0.5, result.summary.line()

    report = evaluate_run(result.run.path, EvalRequest(n_episodes=5, which="latest"))
    assert report.summary.success_rate >= random_rate + 0.5, report.summary.line()


def test_mpc_run_evaluates_and_checkpoints_on_schedule(tmp_path):
    """``--eval-freq`` / ``--save-freq`` reach the planning agent as they reach SB3 agents."""
    torch.set_num_threads(1)
    from tests.agents import point_goal_env

    tiny = {"num_candidates": 16, "horizon": 3, "iterations": 1, "hidden_size": 16, "num_layers": 1,
            "learning_starts": 20, "train_freq": 20}
    config = RunConfig(algo="mpc", env_id=point_goal_env.ENV_ID, n_timesteps=60, seed=0, eval_freq=20,
                         eval_episodes=1, save_freq=30, params=tiny, log_folder=str(tmp_path), video_episodes=0,
                         progress=False)
    run = train(config).run
    steps = [row["step"] for row in json.loads(run.evaluations.read_text())]
    assert steps[:3] == [20, 40, 60], steps
    assert sorted(path.name for path in run.checkpoints.glob("step_*.pt")) == ["step_0000000030.pt",
                                                                               "step_0000000060.pt"]
