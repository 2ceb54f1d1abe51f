"""Localisation in rendered PyBullet scenes: within 1 cm when visible, "not visible" when hidden."""
import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the Foresight/ ids)
from perception.localization import PYBULLET_TINY_PIXEL_CENTRE
from perception.wrappers import ObjectLocalizationWrapper, ObjectSpec

TARGET_RADIUS = 0.025  # Reach's target sphere (distance_threshold / 2)
TARGET = ObjectSpec(projected_area=np.pi * TARGET_RADIUS**2, surface_offset=2 * TARGET_RADIUS / 3)


@pytest.fixture(scope="module")
def reach():
    env = ObjectLocalizationWrapper(
        gym.make("Foresight/PandaReach-v0", obs_mode="rgb+state", image_size=84),
        {"target": TARGET}, frames_from="render_frames", pixel_centre=PYBULLET_TINY_PIXEL_CENTRE,
    )  # fmt: skip
    yield env
    env.close()


def _move_target(env, position) -> dict:
    """Put Reach's target at ``position`` (metres) and observe again (a zero action: the arm stays)."""
    task = env.unwrapped.task
    task.goal = np.asarray(position, float)
    env.unwrapped.sim.set_base_pose(task.target, task.goal)
    return env.step(np.zeros(3, np.float32))[0]


def test_target_within_one_centimetre(reach):
    for seed in range(4):
        obs, _ = reach.reset(seed=seed)
        truth = reach.unwrapped.task.goal
        assert obs["object_visible"][0] == 1.0 and obs["object_confidence"][0] > 0.5
        assert np.linalg.norm(obs["object_positions"][0] - truth) < 0.01
    assert set(obs) == {"object_positions", "object_confidence", "object_visible", "state"}


def test_target_under_the_table_is_not_visible(reach):
    reach.reset(seed=0)
    obs = _move_target(reach, (0.0, 0.0, -0.1))  # the table top hides it
    assert obs["object_visible"][0] == 0.0 and not obs["object_positions"].any()


def test_target_out_of_view_is_not_visible(reach):
    reach.reset(seed=0)
    obs = _move_target(reach, (-3.0, 3.0, 0.1))
    assert obs["object_visible"][0] == 0.0 and obs["object_confidence"][0] == 0.0


def test_half_hidden_target_loses_confidence(reach):
    reach.reset(seed=0)
    obs = _move_target(reach, (0.05, 0.0, 0.0))  # sunk halfway into the table top
    assert obs["object_confidence"][0] < 0.8
