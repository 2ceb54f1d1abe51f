"""scripts/train.py and scripts/evaluate.py: flags, fail-fast errors, the run folder, kill -9 + resume."""
import json
import signal
import subprocess
import sys
import time

import pytest
import torch

from agents.runs.cli import evaluate_main, train_main, train_parser
from tests.agents import point_goal_env  # registers TestPointGoal-v0
from tests.helpers import ROOT, subprocess_env

ENV = point_goal_env.ENV_ID
TINY = ["--params", "learning_starts=100", "batch_size=32", "buffer_size=2000", "policy_kwargs=dict(net_arch=[16])"]


def test_help_lists_every_flag_users_expect():
    text = train_parser().format_help()
    for flag in ("--algo", "--env", "-n", "--n-timesteps", "--seed", "--n-envs", "--vec-env", "--device", "--eval-freq",
                 "--eval-episodes", "--save-freq", "--params", "--env-kwargs", "-f", "--log-folder", "--resume"):
        assert flag in text, flag
    assert "dummy" in text and "subproc" in text and "batched" in text


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--algo", "sacc"], "'sacc' (choose from 'a2c', 'ddpg', 'dqn', 'lmpc', 'mpc', 'ppo', 'sac', 'td3', 'tqc')"),
        (["--vec-env", "threads"], "'threads' (choose from 'dummy', 'subproc', 'batched')"),
        (["--env", "Foresight/PandaReech-v0"], "unknown env id 'Foresight/PandaReech-v0'"),
        (["--n-envs", "0"], "n_envs must be >= 1, got 0"),
        (["--device", "tpu"], "valid: 'auto', 'cpu', 'cuda', 'cuda:<index>', 'mps'"),
        (["--params", "gamma"], "expected key=value, got 'gamma'"),
        (["--resume", "/nonexistent/run"], "not a run folder"),
        (["--env-kwargs", "obs_mode=bogus"], "cannot make Foresight/PandaReach-v0 with env kwargs obs_mode=bogus: "
                                             "ValueError: unknown obs_mode 'bogus'; valid: state, goal"),
        (["--env-kwargs", "colour=red"], "unexpected keyword argument 'colour'"),
        (["--params", "bogus=1"], "unknown sac hyperparameter(s) 'bogus'; valid: action_noise, batch_size"),
        (["--params", "batch_size=abc"], "batch_size='abc' must be a number (sac's default: 256)"),
        (["--params", "seed=3"], "hyperparameter 'seed' is set by the run; use --seed instead"),
        (["--env", "no_such_package:Reach-v0"], "cannot import 'no_such_package'"),
    ],
)
def test_bad_flags_fail_before_any_work_naming_valid_choices(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train_main([*argv, "-f", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())  # no run folder was started


def test_gymnasium_module_colon_id_form_trains_and_evaluates(tmp_path, capsys):
    """``--env module:Id`` (gymnasium's own form, as collect.py and plan.py take it) imports the module."""
    env = "tests.agents.point_goal_env:TestPointGoal-v0"
    assert train_main(["--env", env, "-n", "50", "--eval-freq", "0", "--eval-episodes", "1", "--video-episodes", "0",
                       "-f", str(tmp_path), "--no-progress", *TINY]) == 0
    run = next(tmp_path.glob("TestPointGoal-v0/sac/*_s0"))
    assert f"env_id: {env}" in (run / "config.yaml").read_text()
    assert evaluate_main([str(run), "--episodes", "2"]) == 0
    assert "sac tests.agents.point_goal_env:TestPointGoal-v0" in capsys.readouterr().out


def test_train_writes_the_whole_run_folder_and_evaluate_reads_it(tmp_path, capsys):
    torch.set_num_threads(1)
    args = ["--env", ENV, "-n", "200", "--eval-freq", "100", "--eval-episodes", "3", "--save-freq", "100",
            "-f", str(tmp_path), "--no-progress", *TINY]
    assert train_main(args) == 0
    out = capsys.readouterr().out
    run = next(tmp_path.glob(f"{ENV}/sac/*_s0"))
    assert f"results in {run}/" in out and "success" in out
    for name in ("config.yaml", "eval.json", "evaluations.json", "curve.png", "video.mp4", "checkpoints/best.pt"):
        assert (run / name).is_file() and (run / name).stat().st_size > 0, name
    assert any((run / "tb").glob("events.out.tfevents*"))
    assert [r["step"] for r in json.loads((run / "evaluations.json").read_text())] == [100, 200]
    second = tmp_path / "second"
    short = ["--env", ENV, "-n", "100", "--eval-freq", "0", "--eval-episodes", "2", "--save-freq", "0"]
    train_main([*short, "--seed", "1", "-f", str(second), "--no-progress", "--video-episodes", "0", *TINY])
    other = next(second.glob(f"{ENV}/sac/*_s1"))
    assert evaluate_main([str(run), str(other), "--episodes", "6", "--out", str(tmp_path / "cmp"), "--plot",
                          "--video-episodes", "1"]) == 0
    table = capsys.readouterr().out
    assert "| run | env | algo | episodes |" in table and "return IQM" in table
    summary = json.loads((tmp_path / "cmp" / "summary.json").read_text())
    assert len(summary["runs"]) == 2 and len(summary["aggregate"][0]["return_iqm_ci"]) == 2
    assert (tmp_path / "cmp" / "comparison.png").is_file()
    assert any((tmp_path / "cmp").glob("*/eval_video.mp4")) and any((tmp_path / "cmp").glob("*/episodes.csv"))


def test_kill_9_mid_training_then_resume_continues_the_step_count_and_curve(tmp_path):
    cmd = [sys.executable, str(ROOT / "scripts" / "train.py"), "--env", ENV, "--gym-packages",
           "tests.agents.point_goal_env",
           "-n", "400", "--eval-freq", "100", "--eval-episodes", "2", "--save-freq", "100", "-f", str(tmp_path),
           "--no-progress", "--video-episodes", "0", *TINY]
    proc = subprocess.Popen(cmd, env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not list(tmp_path.glob("*/sac/*/checkpoints/step_0000000100.pt")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run = next(tmp_path.glob(f"{ENV}/sac/*_s0"))
    assert not (run / "eval.json").exists()  # it really died mid-training
    done = subprocess.run([*cmd[:2], "--resume", str(run), "--gym-packages", "tests.agents.point_goal_env",
                           "--no-progress"],
                          env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "resuming" in done.stdout and "after 400 steps" in done.stdout
    steps = [r["step"] for r in json.loads((run / "evaluations.json").read_text())]
    assert steps == list(range(100, 401, 100))  # unbroken: no gap, no duplicate


def test_the_main_job_defaults_run_on_pybullet_reach(tmp_path, capsys):
    """``train.py`` with no flags, shortened: SAC + HER on Foresight/PandaReach-v0 in goal mode."""
    torch.set_num_threads(1)
    args = ["-n", "200", "--eval-freq", "0", "--eval-episodes", "2", "--video-episodes", "1", "-f", str(tmp_path),
            "--no-progress"]
    assert train_main(args) == 0
    run = next(tmp_path.glob("Foresight_PandaReach-v0/sac/*_s0"))
    config = (run / "config.yaml").read_text()
    assert "HerReplayBuffer" in config and "obs_mode: goal" in config
    assert (run / "video.mp4").stat().st_size > 1000
    assert "success" in capsys.readouterr().out
