"""Bad options fail fast with errors that name the bad value and the valid choices."""
from __future__ import annotations

import pytest

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
    with pytest.raises(ValueError, match="'lidar'.*world, none"):
        make("Foresight/MobilePointNav-v0", obstacle_obs="lidar")
