"""benchmark.py latent --what detours: PointNav's rescored episodes split by a pillar across the way."""
import json

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the Foresight/ ids)
from scripts.benchmarks._pointnav_detours import clearances, detours, path_clearance


def test_path_clearance_measures_from_the_segment_not_the_line():
    goal = np.array([2.0, 0.0])
    assert path_clearance(goal, np.array([[1.0, 0.3], [5.0, 5.0]])) == pytest.approx(0.3)  # beside the way
    assert path_clearance(goal, np.array([[3.0, 0.0]])) == pytest.approx(1.0)  # beyond the goal: to its end
    assert path_clearance(goal, np.array([[-0.4, 0.3]])) == pytest.approx(0.5)  # behind the start


def test_detours_splits_every_agents_rows_by_the_episodes_layouts(tmp_path):
    make = lambda kwargs: gym.make("Foresight/MobilePointNav-v0", **kwargs)  # noqa: E731
    (tmp_path / "lmpc_s0.json").write_text(json.dumps({"algo": "lmpc", "seed": 0, "env_kwargs": {"obs_mode": "goal"}}))
    env = make({"obs_mode": "goal"})
    clearance = clearances(env, 20)
    env.close()
    assert clearance.shape == (20,) and (clearance >= 0).all() and np.unique(clearance).size > 1
    # an agent that succeeds exactly where the way is clear of pillars by 0.6 m or more
    clear = [float(c >= 0.6) for c in clearance]
    (tmp_path / "rescore_20_s0.json").write_text(json.dumps({"lmpc": {"0": clear}, "expert": {"0": [1.0] * 20}}))
    table = detours(tmp_path, make)
    assert table["lmpc"]["0.6-inf m"] == 1.0 and table["expert"]["0.6-inf m"] == 1.0
    blocked = [band for band in table["lmpc"] if band != "0.6-inf m" and not np.isnan(table["lmpc"][band])]
    assert blocked and all(table["lmpc"][band] == 0.0 for band in blocked)  # episodes 13 and 17 are blocked


def test_an_env_without_pillars_is_refused():
    with pytest.raises(ValueError, match="no obstacle_xy.*MobilePointNav"):
        clearances(gym.make("Foresight/PandaReach-v0"), 1)
