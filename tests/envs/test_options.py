"""Bad options fail fast with errors that name the bad value and the valid choices."""
from __future__ import annotations

import numpy as np
import pytest

from envs.robots.mobile_base import MobileBase
from envs.tasks.point_nav import LIDAR_BEAMS, LIDAR_RANGE
from tests.envs.conftest import PYBULLET_IDS, make

BAD_OPTIONS = [
    ({"obs_mode": "pixels"}, ["'pixels'", "state", "goal", "rgbd+state"]),
    ({"image_size": 0}, ["0", "positive"]),
    ({"reward_type": "shaped"}, ["'shaped'", "sparse", "dense"]),
    ({"control": "torque"}, ["'torque'"]),
    ({"renderer": "vulkan"}, ["'vulkan'", "tiny", "egl"]),
    ({"render_mode": "video"}, ["'video'", "rgb_array", "human"]),
]


@pytest.mark.parametrize("env_id", PYBULLET_IDS)
@pytest.mark.parametrize("kwargs, expected", BAD_OPTIONS, ids=lambda v: str(v))
def test_bad_option_names_valid_values(env_id, kwargs, expected):
    with pytest.raises(ValueError) as error:
        make(env_id, **kwargs)
    for text in expected:
        assert text in str(error.value)


def test_pointnav_hides_its_pillars_on_request_and_refuses_an_unknown_choice(closing):
    env = make("Foresight/MobilePointNav-v0", obs_mode="goal", obstacle_obs="none")
    seen = make("Foresight/MobilePointNav-v0", obs_mode="goal")
    closing += [env, seen]
    hidden, _ = env.reset(seed=3)
    shown, _ = seen.reset(seed=3)
    pillars = slice(-8, None)  # the task part: four pillar centres after the base's seven entries
    assert (hidden["observation"][pillars] == 0).all() and (shown["observation"][pillars] != 0).all()
    assert (hidden["observation"][:7] == shown["observation"][:7]).all()
    assert env.observation_space == seen.observation_space
    with pytest.raises(ValueError, match="'sonar'.*world, none, lidar"):
        make("Foresight/MobilePointNav-v0", obstacle_obs="sonar")


def test_pointnav_lidar_reads_what_pybullet_rays_hit(closing):
    """The analytic scanner agrees with PyBullet's own ray casts against the pillars it placed."""
    env = make("Foresight/MobilePointNav-v0", obs_mode="goal", obstacle_obs="lidar")
    closing.append(env)
    base = env.unwrapped
    some_near = False
    for seed in range(6):
        observation, _ = env.reset(seed=seed)
        for _ in range(5):  # drive a little so the base's heading and place differ from the start
            observation, *_ = env.step(np.array([1.0, 0.6], dtype=np.float32))
        readings = observation["observation"][MobileBase.observation_size:]
        assert readings.shape == (LIDAR_BEAMS,) and ((readings >= 0) & (readings <= 1)).all()
        start = 0.6  # metres: rays start outside the base's own body, which would stop them first
        position, yaw = base.robot.position(), base.robot.yaw()
        angles = yaw + 2 * np.pi * np.arange(LIDAR_BEAMS) / LIDAR_BEAMS
        directions = np.stack([np.cos(angles), np.sin(angles), np.zeros_like(angles)], axis=1)
        origin = np.array([*position, 0.3])
        hits = base.sim.client.rayTestBatch(list(origin + start * directions),
                                            list(origin + LIDAR_RANGE * directions))
        cast = np.array([start + hit[2] * (LIDAR_RANGE - start) if hit[0] >= 0 else LIDAR_RANGE for hit in hits])
        assert np.allclose(readings * LIDAR_RANGE, cast, atol=2e-3), (seed, readings * LIDAR_RANGE, cast)
        some_near |= bool((readings < 1).any())
    assert some_near, "no pillar came within range in any episode: the comparison checked nothing"
