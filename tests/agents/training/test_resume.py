"""Exact resume: a run stopped and resumed ends where an uninterrupted run ends."""
import json

import numpy as np
import pytest
import torch

from agents import checkpoints
from agents.training import state as train_state
from agents.training.run import RunConfig, resume, train
from tests.agents import point_goal_env

TINY = {"learning_starts": 100, "batch_size": 32, "buffer_size": 2000, "policy_kwargs": "dict(net_arch=[16])"}


def config(tmp_path, algo="sac", n=400, **kw) -> RunConfig:
    base = dict(algo=algo, env_id=point_goal_env.ENV_ID, n_timesteps=n, seed=3, eval_freq=100, eval_episodes=2,
                save_freq=200, params=dict(TINY), log_folder=str(tmp_path), video_episodes=0, progress=False)
    return RunConfig(**{**base, **kw})


def final_weights(run) -> dict:
    state, _, _ = checkpoints.load_latest(run.checkpoints)
    return state["weights"]["modules"]["policy"]


# ``half`` is where the first run stops; 205 is mid-episode (5 steps into one here), so the
# replayed episode and the noise process's state matter.
@pytest.mark.parametrize("algo, params, half", [
    ("sac", TINY, 205),
    ("sac", {**TINY, "normalize": True}, 200),  # VecNormalize statistics continue too
    ("td3", {**TINY, "noise_type": "ornstein-uhlenbeck"}, 205),  # the noise process continues too
    ("ppo", {"n_steps": 100, "batch_size": 50, "policy_kwargs": "dict(net_arch=[16])"}, 200),
])
def test_resumed_run_ends_with_the_same_parameters(tmp_path, algo, params, half):
    torch.set_num_threads(1)
    tiny = dict(params)
    whole = train(config(tmp_path / "whole", algo, params=tiny, n_envs=1))
    half = train(config(tmp_path / "half", algo, n=half, params=tiny, n_envs=1))
    resumed = resume(half.run.path, n_timesteps=400, progress=False)
    assert resumed.num_timesteps == whole.num_timesteps == 400
    a, b = final_weights(whole.run), final_weights(resumed.run)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    if params.get("normalize"):
        saved = [checkpoints.load_latest(r.run.checkpoints)[0]["normalize"]["obs"] for r in (whole, resumed)]
        assert torch.equal(saved[0]["observation"]["mean"], saved[1]["observation"]["mean"])
    steps = [row["step"] for row in json.loads(resumed.run.evaluations.read_text())]
    assert steps == [100, 200, 300, 400]  # the first run's final evaluation at 205 is not in the curve


def test_replay_buffer_round_trips_only_the_filled_part(tmp_path):
    torch.set_num_threads(1)
    result = train(config(tmp_path, n=150, eval_freq=0))
    state, _, _ = checkpoints.load_latest(result.run.checkpoints)
    buffer = state["replay_buffer"]
    assert buffer["pos"] == 150 and buffer["actions"].shape[0] == 150
    assert np.isfinite(buffer["observations"]["desired_goal"].numpy()).all()
    assert state["format"] == train_state.FORMAT


def test_batched_worlds_resume_with_fresh_episodes(tmp_path, caplog):
    import envs  # noqa: F401  (registers the batched ids)

    torch.set_num_threads(1)
    params = {"n_steps": 8, "batch_size": 64, "n_epochs": 1, "policy_kwargs": "dict(net_arch=[16])"}
    first = train(RunConfig(algo="ppo", env_id="Foresight/BatchedCartPole-v0", n_envs=16, n_timesteps=256,
                              eval_freq=0, eval_episodes=1, save_freq=0, params=params, log_folder=str(tmp_path),
                              video_episodes=0, progress=False))
    resumed = resume(first.run.path, n_timesteps=384, progress=False)
    assert resumed.num_timesteps == 384
    assert "could not be replayed exactly" in caplog.text  # said (logged as a warning), not hidden
