"""Domain randomization: off by default, seeded, and it really changes the world."""
from __future__ import annotations

import numpy as np
import pytest

from envs.randomization import Randomization
from tests.envs.conftest import make


def _world(env, seed: int) -> dict:
    obs, _ = env.reset(seed=seed)
    unwrapped = env.unwrapped
    obj = unwrapped.segmentation_ids["object"]
    return {
        "image": obs,
        "mass": unwrapped.sim.mass(obj),
        "friction": unwrapped.sim.lateral_friction(unwrapped.segmentation_ids["table"]),
        "size": unwrapped.task.object_half_size,
        "pose": unwrapped.camera_pose,
    }


@pytest.fixture(scope="module")
def randomized():
    env = make("Foresight/PandaPush-v0", obs_mode="rgb", randomize=True)
    yield env
    env.close()


def test_off_by_default(closing):
    env = make("Foresight/PandaPush-v0", obs_mode="rgb")
    closing.append(env)
    a, b = _world(env, 0), _world(env, 1)
    assert a["mass"] == b["mass"] and a["size"] == b["size"]
    np.testing.assert_array_equal(a["pose"], b["pose"])


def test_seeds_draw_different_worlds(randomized):
    a, b = _world(randomized, 0), _world(randomized, 1)
    for key in ("mass", "friction", "size"):
        assert a[key] != b[key], key
    assert not np.allclose(a["pose"], b["pose"])
    assert np.abs(a["image"].astype(int) - b["image"].astype(int)).mean() > 5


def test_same_seed_same_world(randomized):
    a, b = _world(randomized, 5), _world(randomized, 5)
    for key in ("mass", "friction", "size"):
        assert a[key] == b[key], key
    np.testing.assert_array_equal(a["image"], b["image"])


def test_ranges_are_respected(closing):
    config = Randomization(mass_scale=(2.0, 2.0), object_size_scale=(1.5, 1.5), colors=False)
    env = make("Foresight/PandaPush-v0", randomize=config)
    closing.append(env)
    world = _world(env, 0)
    assert world["mass"] == pytest.approx(0.2) and world["size"] == pytest.approx(0.03)


def test_bad_configs_raise():
    with pytest.raises(ValueError, match="mass_scale"):
        Randomization(mass_scale=(2.0, 1.0))
    with pytest.raises(ValueError, match="False, True or a Randomization"):
        make("Foresight/PandaReach-v0", randomize="yes")
