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
