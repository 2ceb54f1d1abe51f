"""Long work says how far it is in a log file too, and a bar never reads 32,768/25,000."""
import io
import subprocess
import sys

import gymnasium as gym
from stable_baselines3 import PPO

import envs  # noqa: F401  (registers the batched ids)
from agents.progress import Progress
from agents.sb3.vec_env import VectorEnvToSB3
from agents.training.callbacks import planned_steps
from agents.training.run import RunConfig, train
from tests.agents import point_goal_env
from tests.helpers import SCRIPTS, subprocess_env

MPC_TINY = ["learning_starts=20", "train_freq=20", "num_candidates=8", "horizon=2", "iterations=1", "num_elites=2",
            "hidden_size=8", "num_layers=1", "ensemble_size=2", "max_epochs=1"]


def test_lines_not_carriage_returns_when_the_output_is_a_file():
    log = io.StringIO()
    with Progress(4, "fit", unit="update", stream=log, every_s=0) as bar:
        for _ in range(4):
            bar.update()
    lines = log.getvalue().splitlines()
    assert lines[0].startswith("fit: 0/4 updates (0%)") and "\r" not in log.getvalue()
    assert "fit: 2/4 updates (50%)" in lines[2] and "left" in lines[2]
    assert lines[-1].startswith("fit: 4/4 updates (100%)") and len(lines) == 5
    quiet = io.StringIO()
    Progress(4, "x", stream=quiet, every_s=60).update(3)
    assert quiet.getvalue().count("\n") == 1  # one line at the start, the next one a minute later
    resumed = io.StringIO()
    Progress(100, "learn", stream=resumed, every_s=0, initial=30).set(30)
    assert "/s" not in resumed.getvalue()  # no rate before a new step: it was 1 step over microseconds


def test_an_mpc_run_logs_its_progress_while_it_trains(tmp_path):
    """The issue's case: ``train.py --algo mpc > log`` printed nothing until the end."""
    cmd = [sys.executable, str(SCRIPTS / "train.py"), "--algo", "mpc", "--env", point_goal_env.ENV_ID, "--gym-packages",
           "tests.agents.point_goal_env", "-n", "60", "--eval-freq", "0", "--eval-episodes", "1",
           "--video-episodes", "0",
           "-f", str(tmp_path), "--params", *MPC_TINY]
    done = subprocess.run(cmd, env={**subprocess_env(), "FORESIGHT_PROGRESS_EVERY_S": "0"}, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    steps = [int(line.split(": ")[1].split("/")[0]) for line in done.stderr.splitlines()
             if line.startswith(f"train mpc {point_goal_env.ENV_ID}: ")]
    assert steps[0] == 0 and steps[-1] == 60 and len(set(steps)) > 10 and steps == sorted(steps)


def test_the_bar_counts_to_the_steps_training_really_reaches(tmp_path, capsys):
    venv = VectorEnvToSB3(gym.make_vec("Foresight/BatchedCartPole-v0", num_envs=256, device="cpu"))
    assert planned_steps(PPO("MlpPolicy", venv, n_steps=128, batch_size=256), 25_000) == 32_768  # whole rollouts
    config = RunConfig(algo="ppo", env_id="Foresight/BatchedCartPole-v0", vec_env="batched", n_envs=16,
                       n_timesteps=100, eval_freq=0, eval_episodes=1, save_freq=0, video_episodes=0,
                       log_folder=str(tmp_path), params={"n_steps": 8, "batch_size": 64,
                                                         "policy_kwargs": "dict(net_arch=[8])"})
    assert train(config).num_timesteps == 128
    err = capsys.readouterr().err
    assert "0/128 steps" in err and "128/128 steps (100%)" in err and "/100 " not in err
