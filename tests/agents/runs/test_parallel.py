"""Ray evaluation equals the local one, and a local Ray cluster leaves nothing behind (HOME, temp dir)."""
import os
import shutil
import tempfile

import pytest
import torch

from agents.runs.cli import evaluate_main
from agents.runs.evaluate import EvalRequest, evaluate_run
from agents.runs.parallel import episode_slices
from agents.training.run import RunConfig, train
from tests.agents import point_goal_env
from tests.helpers import pythonpath_with_root

ray = pytest.importorskip("ray")


def test_slices_cover_every_seed_in_order():
    assert episode_slices(7, 3, 100) == [(100, 3), (103, 2), (105, 2)]
    assert episode_slices(2, 4, 0) == [(0, 1), (1, 1)]


@pytest.mark.slow  # a local Ray instance and two actors: ~20 s of start-up on 2 cores
def test_ray_evaluation_equals_the_local_one_and_leaves_nothing_behind(tmp_path, monkeypatch, capsys):
    """``evaluate.py --ray 2`` as a user runs it: no ~/.ray/auth_token, no Ray sessions left in the temp dir."""
    torch.set_num_threads(1)
    home = tmp_path / "home"  # stands in for the user's HOME: Ray must write nothing there
    home.mkdir()
    temp = tempfile.mkdtemp(prefix="t", dir="/tmp")  # the system temp dir (short: Ray's socket paths <= 107 chars)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TMPDIR", temp)
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYTHONPATH", pythonpath_with_root())  # Ray's workers import tests.agents
    run = train(RunConfig(env_id=point_goal_env.ENV_ID, n_timesteps=200, eval_freq=0, eval_episodes=2, save_freq=0,
                            log_folder=str(tmp_path), video_episodes=0, progress=False,
                            params={"learning_starts": 50, "buffer_size": 500,
                                    "policy_kwargs": "dict(net_arch=[16])"})).run
    request = EvalRequest(n_episodes=6, seed=123)
    local = evaluate_run(run.path, request)
    sessions = []  # where Ray was told to keep its sessions (a spy on Ray's own init; it still runs)
    real_init = ray.init
    monkeypatch.setattr(ray, "init", lambda *a, **kw: (sessions.append(kw.get("_temp_dir")), real_init(*a, **kw))[1])
    try:
        assert evaluate_main([str(run.path), "--episodes", "6", "--seed", "123", "--ray", "2",
                              "--gym-packages", "tests.agents.point_goal_env"]) == 0
        remote = [row.split(",") for row in (run.path / "evaluation" / "episodes.csv").read_text().splitlines()[1:]]
    finally:
        ray.shutdown()
        leftovers = os.listdir(temp)
        shutil.rmtree(temp, ignore_errors=True)
    assert [(int(r[1]), float(r[2])) for r in remote] == [(e.seed,
                                                           pytest.approx(e.episode_return)) for e in local.episodes]
    assert local.summary.line() in capsys.readouterr().out
    assert not (home / ".ray").exists()  # no ~/.ray/auth_token (matplotlib's font cache is all HOME holds)
    assert len(sessions) == 1 and sessions[0].startswith(temp)  # not /tmp/ray...
    assert not any(name.startswith("ray") for name in leftovers)  # ...and it went with the cluster
