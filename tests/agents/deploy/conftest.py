"""Fixtures shared by the deploy CLI tests."""
import gymnasium as gym
import pytest
import torch
from stable_baselines3 import SAC

import envs  # noqa: F401  (registers the ids)
from agents.deploy.flows import export_sb3_zip


@pytest.fixture(scope="package")
def exported(tmp_path_factory):
    """A tiny SAC policy on PandaReach (goal obs) exported to ONNX, in a temporary folder."""
    tmp = tmp_path_factory.mktemp("deploy")
    env = gym.make("Foresight/PandaReach-v0", obs_mode="goal")
    torch.set_num_threads(1)  # tiny network on a shared CPU
    SAC("MultiInputPolicy", env, policy_kwargs={"net_arch": [16]}, device="cpu", seed=0).save(tmp / "model.zip")
    env.close()
    result = export_sb3_zip(tmp / "model.zip", "SAC", "Foresight/PandaReach-v0", {"obs_mode": "goal"},
                            tmp / "policy.onnx")  # what `deploy.py export --model` runs, in-process
    assert result["max_abs_error"] <= 1e-5
    return tmp

