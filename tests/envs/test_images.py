"""Image observation modes give the documented shapes, dtypes and units."""
from __future__ import annotations

import numpy as np
import pytest

from tests.envs.conftest import make

SIZE = 24
EXPECTED = {
    "rgb": ((SIZE, SIZE, 3), np.uint8),
    "depth": ((SIZE, SIZE, 1), np.float32),
    "segmentation": ((SIZE, SIZE, 1), np.int32),
    "image": ((SIZE, SIZE, 3), np.uint8),
}


def _check(name: str, array: np.ndarray) -> None:
    shape, dtype = EXPECTED[name]
    assert array.shape == shape and array.dtype == dtype, (name, array.shape, array.dtype)


@pytest.fixture(scope="module")
def reach_env():
    env = make("Foresight/PandaReach-v0", obs_mode="rgbd+state", image_size=SIZE, render_mode="rgb_array")
    yield env
    env.close()


@pytest.mark.parametrize("obs_mode", ["rgb", "depth", "segmentation"])
def test_single_image_modes(obs_mode, closing):
    env = make("Foresight/PandaReach-v0", obs_mode=obs_mode, image_size=SIZE)
    closing.append(env)
    obs, _ = env.reset(seed=0)
    _check(obs_mode, obs)
    assert env.observation_space.contains(obs)


def test_dict_image_modes(closing):
    env = make("Foresight/PandaReach-v0", obs_mode="rgb+state", image_size=SIZE)
    closing.append(env)
    obs, _ = env.reset(seed=0)
    _check("image", obs["image"])
    assert obs["state"].dtype == np.float32 and env.observation_space.contains(obs)


def test_depth_is_metres_and_segmentation_names_bodies(reach_env):
    obs, _ = reach_env.reset(seed=0)
    depth, ids = obs["depth"], reach_env.unwrapped.segmentation_ids
    centre_ray = np.linalg.norm(np.subtract(reach_env.unwrapped.camera.eye, reach_env.unwrapped.camera.target))
    assert 0.3 < np.median(depth) < 3.0 and abs(depth[SIZE // 2, SIZE // 2, 0] - centre_ray) < 0.5
    seg = reach_env.unwrapped.render_frames().segmentation
    assert {ids["table"], ids["robot"]} <= set(np.unique(seg).tolist())


def test_intrinsics_and_pose_project_the_target_where_it_is_seen(reach_env):
    reach_env.reset(seed=0)
    env = reach_env.unwrapped
    size = 96
    frames = env.render_frames(size)
    world = np.append(env.task.goal, 1.0)
    camera_point = np.linalg.inv(env.camera_pose) @ world
    k = env.camera_intrinsics * (size / env.image_size)
    k[2, 2] = 1.0
    u, v, w = k @ camera_point[:3]
    col, row = int(u / w), int(v / w)
    assert frames.segmentation[row, col, 0] == env.segmentation_ids["target"]
    assert abs(frames.depth[row, col, 0] - camera_point[2]) < 0.03


def test_render_returns_rgb_array(reach_env):
    reach_env.reset(seed=0)
    image = reach_env.render()
    assert image.shape == (240, 240, 3) and image.dtype == np.uint8 and image.std() > 10


def test_egl_renderer_sees_the_scene(closing):
    try:
        env = make("Foresight/PandaReach-v0", obs_mode="rgb", renderer="egl")
    except RuntimeError as error:  # no EGL library on this machine
        pytest.skip(str(error))
    closing.append(env)
    obs, _ = env.reset(seed=0)
    assert obs.std() > 10, "EGL rendered an empty scene (plugin loaded after the bodies?)"


def test_full_visuals_render_too(closing):
    env = make("Foresight/PandaReach-v0", obs_mode="rgb", visuals="full")
    closing.append(env)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (32, 32, 3) and obs.std() > 10
