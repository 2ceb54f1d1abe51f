"""``scripts/deploy.py run --uncertainty-model``: the ensemble's disagreement gates the simulated Panda.

A tiny ensemble is fit on the simulated Panda's own transitions; the CLI then runs the exported
policy with the gate: above the threshold every command is held (the robot does not move), far
below it nothing is held; a model that does not fit the robot is refused before anything moves.
"""
import importlib.util
import json

import numpy as np
import pytest
import torch
from gymnasium import spaces

from agents.deploy.log import read_deploy_log
from envs.adapters.sim import make_sim_robot, physics_for_rate
from tests.helpers import SCRIPTS
from world_models.fitting import FitConfig, fit
from world_models.models import EnsembleDynamics, ModelConfig, save_model
from world_models.replay import Transitions
from world_models.spaces import space_to_json


def _deploy_main():
    spec = importlib.util.spec_from_file_location("deploy_cli", SCRIPTS / "deploy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _ensemble_file(path, states, actions, next_states, observation_space):
    model = EnsembleDynamics(states.shape[1], actions.shape[1],
                             ModelConfig(ensemble_size=3, hidden_size=16, num_layers=1, learn_reward=False))
    data = Transitions(*(torch.as_tensor(x, dtype=torch.float32) for x in
                         (states, actions, np.zeros(len(states)), next_states, np.zeros(len(states)))))
    fit(model, data, FitConfig(max_epochs=3, batch_size=64), seed=0)
    save_model(str(path), model, {"observation_space": space_to_json(observation_space)})
    return path


@pytest.fixture(scope="module")
def panda_model(tmp_path_factory):
    """An ensemble of the simulated Panda (ee control, gripper blocked, 25 Hz) from 150 random steps."""
    rng = np.random.default_rng(0)
    states, actions, next_states = [], [], []
    with make_sim_robot("panda", "ee", True, physics=physics_for_rate(25)) as robot:
        reading = robot.observe().data["observation"]
        for _ in range(150):
            action = rng.uniform(-0.5, 0.5, 3)
            robot.act({"ee_delta": action})
            following = robot.observe().data["observation"]
            states.append(reading), actions.append(action), next_states.append(following)
            reading = following
    states = np.asarray(states)
    space = spaces.Box(-np.inf, np.inf, states.shape[1:], np.float32)
    return _ensemble_file(tmp_path_factory.mktemp("gate") / "model.pt", states, np.asarray(actions),
                          np.asarray(next_states), space)


def _run(exported, capsys, log, *gate):
    main = _deploy_main()
    status = main(["run", "--policy", str(exported / "policy.onnx"), "--robot", "panda", "--block-gripper",
                   "--rate", "25", "--steps", "12", "--no-resume", "--watchdog-s", "5", "--log", str(log), *gate])
    out = capsys.readouterr().out
    return status, json.loads(out[out.index("{"):out.rindex("}") + 1])


def test_above_the_threshold_the_gate_holds_every_command(exported, panda_model, capsys, tmp_path):
    status, result = _run(exported, capsys, tmp_path / "held", "--uncertainty-model", str(panda_model),
                          "--max-disagreement", "0")
    assert status == 0 and result["safety"].get("uncertainty_stopped") == 12
    assert result["uncertainty"]["steps"] == 12 and result["uncertainty"]["p50"] > 0
    _, episodes = read_deploy_log(tmp_path / "held")
    ee = np.asarray(episodes[0].observations["ee_position"])
    assert np.abs(ee - ee[0]).max() < 2e-3  # held: under 2 mm of settling (the policy alone moves it ~90 mm)
    assert np.abs(episodes[0].actions).max() == 0.0  # every command sent was the hold command


def test_below_the_threshold_the_policy_drives(exported, panda_model, capsys, tmp_path):
    status, result = _run(exported, capsys, tmp_path / "free", "--uncertainty-model", str(panda_model),
                          "--max-disagreement", "1e6")
    assert status == 0 and result["safety"].get("uncertainty_stopped", 0) == 0
    _, episodes = read_deploy_log(tmp_path / "free")
    ee = np.asarray(episodes[0].observations["ee_position"])
    assert np.abs(episodes[0].actions).max() > 0 and np.abs(ee - ee[0]).max() > 0.02  # it moved > 2 cm


def test_a_model_of_another_robot_or_flags_without_a_model_are_refused(exported, capsys, tmp_path):
    other = spaces.Box(-np.inf, np.inf, (5,), np.float32)
    rng = np.random.default_rng(0)
    wrong = _ensemble_file(tmp_path / "wrong.pt", rng.normal(size=(64, 5)), rng.normal(size=(64, 3)),
                           rng.normal(size=(64, 5)), other)
    main = _deploy_main()
    with pytest.raises(ValueError, match=r"takes states \[5\] and actions \[3\], but this robot gives states \[7\]"):
        main(["run", "--policy", str(exported / "policy.onnx"), "--block-gripper", "--rate", "25", "--steps", "3",
              "--uncertainty-model", str(wrong), "--max-disagreement", "1"])
    with pytest.raises(SystemExit, match="need --uncertainty-model"):
        main(["run", "--policy", str(exported / "policy.onnx"), "--steps", "3", "--max-disagreement", "1"])
    with pytest.raises(SystemExit, match="needs --max-disagreement"):
        main(["run", "--policy", str(exported / "policy.onnx"), "--steps", "3", "--uncertainty-model", str(wrong)])

