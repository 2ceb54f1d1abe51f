"""collect -> fit_world_model -> plan, end to end on Pendulum with tiny budgets."""
import importlib.util
import json

import pytest
import torch

from tests.helpers import SCRIPTS
from world_models.models import load_model


def script(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_collect_fit_plan_pendulum(tmp_path, capsys):
    torch.set_num_threads(1)
    data, out = tmp_path / "pendulum-random-v0", tmp_path / "fit"
    env_args = ["--env", "Pendulum-v1", "--env-kwargs", '{"max_episode_steps": 60}']
    assert script("collect").main([*env_args, "--episodes", "12", "--out", str(data)]) == 0
    assert json.loads(capsys.readouterr().out)["episodes"] == 12
    assert script("fit_world_model").main([
        "--data", str(data), "--out", str(out), "--hidden-size", "64", "--num-layers", "2", "--max-epochs", "40",
        "--ks", "1", "5", "10", "--batch-size", "64"]) == 0
    printed = capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    assert "beats copy-last and linear at every k" in report["verdict"], printed
    assert report["k_step_rmse"]["model"]["10"] < 0.5 * report["k_step_rmse"]["copy_last"]["10"]
    model, checkpoint = load_model(str(out / "model.pt"))
    assert model.members == 5 and "observation_space" in checkpoint
    assert script("plan").main([*env_args[:2], "--model", str(out / "model.pt"), "--episodes", "1",
                                "--horizon", "5", "--candidates", "50", "--iterations", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["episodes"] == 1


def test_collect_rejects_unknown_policy(tmp_path):
    with pytest.raises(SystemExit, match="unknown --policy 'expert'"):
        script("collect").main(["--env", "Pendulum-v1", "--policy", "expert", "--out", str(tmp_path / "d")])
