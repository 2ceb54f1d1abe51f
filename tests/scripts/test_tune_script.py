"""scripts/tune.py: trials train real runs, report to the pruner, and join a shared study."""
import pytest
import torch

from agents.runs.cli import tune_main
from tests.agents import point_goal_env  # noqa: F401  (registers TestPointGoal-v0)

optuna = pytest.importorskip("optuna")


def test_two_workers_join_one_study_in_shared_storage(tmp_path, capsys):
    torch.set_num_threads(1)
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    argv = ["--env", "TestPointGoal-v0", "-n", "100", "--n-trials", "2", "--n-evaluations", "2", "--eval-episodes", "1",
            "--storage", storage, "--study-name", "s", "-f", str(tmp_path), "--params", "buffer_size=1000"]
    assert tune_main(argv) == 0
    assert tune_main([*argv, "--seed", "1"]) == 0  # a second worker, same study
    study = optuna.load_study(study_name="s", storage=storage)
    assert len(study.trials) == 4
    assert all(len(t.intermediate_values) >= 1 for t in study.trials)  # evaluations reached the pruner
    out = capsys.readouterr().out
    assert "TestPointGoal-v0:" in out and "policy_kwargs: dict(net_arch=" in out


def test_bad_sampler_fails_fast(capsys):
    with pytest.raises(SystemExit):
        tune_main(["--sampler", "grid"])
    assert "invalid choice: 'grid'" in capsys.readouterr().err
