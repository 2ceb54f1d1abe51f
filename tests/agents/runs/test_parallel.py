"""Ray evaluation equals the local one, and a local Ray run leaves nothing behind in HOME."""
import os
import pathlib
import shutil
import tempfile

import pytest
import torch

from agents.runs.evaluate import EvalRequest, evaluate_run
from agents.runs.parallel import episode_slices, evaluate_run_ray, init_ray
from agents.training.run import RunConfig, train
from tests.agents import point_goal_env
from tests.helpers import pythonpath_with_root

ray = pytest.importorskip("ray")


def test_slices_cover_every_seed_in_order():
    assert episode_slices(7, 3, 100) == [(100, 3), (103, 2), (105, 2)]
    assert episode_slices(2, 4, 0) == [(0, 1), (1, 1)]


@pytest.mark.slow  # a local Ray instance and two actors: ~20 s of start-up on 2 cores
def test_ray_evaluation_equals_the_local_one(tmp_path, monkeypatch):
    torch.set_num_threads(1)
    real_home = pathlib.Path(os.environ.get("HOME", "/nonexistent"))
    before = sorted(p.name for p in real_home.iterdir()) if real_home.is_dir() else []
    home = tmp_path / "home"  # Ray writes its auth token and caches under HOME: keep them in tmp_path
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    monkeypatch.setenv("PYTHONPATH", pythonpath_with_root())  # Ray's workers import tests.agents
    run = train(RunConfig(env_id=point_goal_env.ENV_ID, n_timesteps=200, eval_freq=0, eval_episodes=2, save_freq=0,
                            log_folder=str(tmp_path), video_episodes=0, progress=False,
                            params={"learning_starts": 50, "buffer_size": 500,
                                    "policy_kwargs": "dict(net_arch=[16])"})).run
    request = EvalRequest(n_episodes=6, seed=123)
    local = evaluate_run(run.path, request)
    temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must fit 107 chars
    try:
        init_ray(2, temp_dir=temp_dir)
        remote = evaluate_run_ray(run.path, request, 2, gym_packages=("tests.agents.point_goal_env",))
    finally:
        ray.shutdown()
        shutil.rmtree(temp_dir, ignore_errors=True)
    assert remote.episodes == local.episodes
    assert remote.summary == local.summary
    assert (home / ".ray").is_dir()  # what Ray wrote went to the test's HOME...
    after = sorted(p.name for p in real_home.iterdir()) if real_home.is_dir() else []
    assert after == before  # ...and nothing appeared in the real one
    assert not os.path.exists(temp_dir)
