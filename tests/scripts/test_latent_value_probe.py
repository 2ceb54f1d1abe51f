"""benchmark.py latent --what value: a saved agent's heads along the scripted expert's episodes."""
import argparse
import json

import gymnasium as gym
import numpy as np
import pytest
import torch

import envs  # noqa: F401  (registers the Foresight/ ids)
from agents.planning.latent_agent import LatentPlanningAgent
from scripts.benchmarks._latent_value_probe import distance_bins, probe, value_probe
from tests.scripts.latent_fixtures import TINY

ENV_ID = "Foresight/PandaReach-v0"


def make_env(env_kwargs):
    return gym.make(ENV_ID, **env_kwargs)


def test_the_probe_reads_every_expert_step_and_bins_distances_in_success_radii(tmp_path, capsys):
    torch.set_num_threads(1)
    env_kwargs = {"obs_mode": "goal"}
    agent = LatentPlanningAgent(make_env(env_kwargs), seed=0, **TINY).learn(50)
    agent.save(tmp_path / "lmpc_s0.agent")
    (tmp_path / "lmpc_s0.json").write_text(json.dumps({"algo": "lmpc", "seed": 0, "env_kwargs": env_kwargs}))

    rows = probe(tmp_path / "lmpc_s0.agent", lambda: make_env(env_kwargs), episodes=2)
    assert rows.shape == (2 * 50, 7) and np.isfinite(rows).all()  # Reach: 50-step episodes
    assert set(np.unique(rows[:, 1])) <= {-1.0, 0.0}  # the env's sparse rewards, as paid

    assert distance_bins(make_env(env_kwargs)) == pytest.approx((0.0, 0.05, 0.1, 0.5 / 3, 0.25, np.inf))
    assert distance_bins(gym.make("Pendulum-v1")) == pytest.approx((0.0, 1.0, 2.0, 10 / 3, 5.0, np.inf))
    value_probe(argparse.Namespace(seeds=[0], eval_episodes=1), tmp_path, make_env)
    assert "distance [0, 0.05) m" in capsys.readouterr().out  # Reach's radius, not PointNav's metres
