"""scripts/distill.py: a run folder's agent becomes a student that matches it within the teacher's CI,
the gap is reported, and the student's run folder is one evaluate.py and deploy.py export accept."""
import json

import pytest
import torch

from agents.runs.cli import evaluate_main
from agents.runs.distill_cli import distill_main
from agents.training.run import RunConfig, train
from tests.agents import point_goal_env

TEACHER = {"num_candidates": 64, "horizon": 4, "iterations": 2, "num_elites": 8, "hidden_size": 32, "num_layers": 2,
           "learning_starts": 100, "train_freq": 100, "ensemble_size": 3}


@pytest.fixture(scope="module")
def teacher_run(tmp_path_factory):
    """A planning agent on the point env: 300 env steps, a few milliseconds per action."""
    torch.set_num_threads(1)
    config = RunConfig(algo="mpc", env_id=point_goal_env.ENV_ID, n_timesteps=300, eval_freq=0, eval_episodes=10,
                       save_freq=0, params=TEACHER, log_folder=str(tmp_path_factory.mktemp("runs")), video_episodes=0,
                       progress=False)
    result = train(config)
    assert result.summary.success_rate >= 0.8, result.summary.line()
    return result.run.path


@pytest.mark.slow  # DAgger on a planning teacher, 60 + 2 x 30 episodes: ~20 s on 2 cores
def test_distilled_student_matches_its_teacher_and_is_a_run_folder(teacher_run, tmp_path, capsys):
    assert distill_main([str(teacher_run), "--rounds", "6", "--episodes-per-round", "10", "--epochs", "50",
                         "--hidden-sizes", "64", "64", "--eval-episodes", "30", "-f", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    student = next(tmp_path.glob(f"{point_goal_env.ENV_ID}/distilled/*_s0"))
    assert "teacher: success" in out and "student: success" in out and "gap (teacher - student, same seeds)" in out
    summary = json.loads((student / "eval.json").read_text())
    assert summary["gap"]["within_teacher_ci"], out  # the student is as good as the planner, within its CI
    assert summary["success_rate"] >= 0.8 and summary["teacher"]["n_episodes"] == summary["n_episodes"] == 30
    assert evaluate_main([str(student), "--episodes", "5"]) == 0  # evaluate.py reads it like any run
    assert "distilled TestPointGoal-v0" in capsys.readouterr().out
    from agents.deploy.flows import export_run

    exported = export_run(student, tmp_path / "student.onnx", check=200)  # deploy.py export --run
    assert exported["max_abs_error"] <= 1e-5


@pytest.mark.parametrize("argv, message", [
    (["--rounds", "0"], "rounds must be >= 1, got 0"),
    (["--teacher-mix", "1.5"], "teacher_mix must be a probability in [0, 1], got 1.5"),
    (["--eval-episodes", "0"], "eval_episodes must be >= 1, got 0"),
])
def test_bad_flags_fail_before_any_work(teacher_run, argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit):
        distill_main([str(teacher_run), *argv, "-f", str(tmp_path)])
    assert message in capsys.readouterr().err and not any(tmp_path.iterdir())


def test_a_folder_that_is_not_a_run_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        distill_main([str(tmp_path)])
    assert "is not a run folder (no config.yaml)" in capsys.readouterr().err
