"""Localisation in rendered PyBullet scenes: within 1 cm when visible, "not visible" when hidden."""
import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the Foresight/ ids)
from perception.wrappers import ObjectLocalizationWrapper, ObjectSpec


def _localised(env_id: str, name: str, spec_of) -> ObjectLocalizationWrapper:
    """``env_id`` at 84 px, localising ``name`` (``spec_of(task)``: its spec from the env's own sizes)."""
    env = gym.make(env_id, obs_mode="rgb+state", image_size=84)
    return ObjectLocalizationWrapper(env, {name: spec_of(env.unwrapped.task)}, frames_from="render_frames")


@pytest.fixture(scope="module")
def reach():
    env = _localised("Foresight/PandaReach-v0", "target", lambda task: ObjectSpec.sphere(task.distance_threshold / 2))
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


@pytest.fixture(scope="module")
def push():
    env = _localised("Foresight/PandaPush-v0", "object", lambda task: ObjectSpec.cube(task.object_half_size))
    yield env
    env.close()


def test_cube_within_one_centimetre(push):
    for seed in range(3):
        obs, _ = push.reset(seed=seed)
        assert obs["object_visible"][0] == 1.0
        assert np.linalg.norm(obs["object_positions"][0] - push.unwrapped.task.object_position()) < 0.01


def test_cube_behind_the_gripper_is_not_visible(push):
    push.reset(seed=0)
    unwrapped = push.unwrapped
    hand = unwrapped.robot.ee_position()
    ray = hand - unwrapped.camera_pose[:3, 3]
    hidden = hand + 0.05 * ray / np.linalg.norm(ray) + (0.0, 0.0, 0.03)  # 5 cm behind the hand, seen from the camera
    unwrapped.sim.set_base_pose(unwrapped.task.object, tuple(hidden))
    obs = push.step(np.zeros(3, np.float32))[0]  # one 40 ms step: the cube drops < 1 cm
    assert obs["object_visible"][0] == 0.0 and not obs["object_positions"].any()
