"""``--algo lmpc`` through the whole training path: a run folder like any SB3 agent's, resumed from its
checkpoint, re-evaluated by ``evaluate.py``'s loader and exported (its policy prior) for deployment."""
import json

import torch

from agents.runs.evaluate import EvalRequest, evaluate_run
from agents.training.run import RunConfig, resume, train
from tests.agents import point_goal_env

TINY = {"latent_dim": 16, "hidden_dim": 32, "batch_size": 32, "num_candidates": 16, "num_elites": 4, "num_prior": 4,
        "iterations": 1, "learning_starts": 40, "pretrain_updates": 10}


def test_lmpc_run_checkpoints_resumes_evaluates_and_exports(tmp_path):
    torch.set_num_threads(1)
    from agents.deploy.flows import export_run

    config = RunConfig(algo="lmpc", env_id=point_goal_env.ENV_ID, n_timesteps=80, seed=0, eval_freq=40,
                       eval_episodes=1, save_freq=40, params=TINY, log_folder=str(tmp_path), video_episodes=0,
                       progress=False)
    run = train(config).run
    assert [row["step"] for row in json.loads(run.evaluations.read_text())][:2] == [40, 80]
    assert sorted(p.name for p in run.checkpoints.glob("step_*.pt")) == ["step_0000000040.pt", "step_0000000080.pt"]

    resumed = resume(run.path, n_timesteps=120, progress=False)
    assert resumed.num_timesteps == 120

    report = evaluate_run(run.path, EvalRequest(n_episodes=2, which="latest"))
    assert report.summary.n_episodes == 2

    exported = export_run(run.path, tmp_path / "prior.onnx", which="latest", check=50)
    assert exported["max_abs_error"] < 1e-4
