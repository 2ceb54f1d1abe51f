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


def _centroid_errors(env, renderer_size: int, rng: np.random.Generator, count: int = 12) -> np.ndarray:
    """``[count, 2]`` pixels from a small sphere's drawn centroid to its projection with the env's K and pose.

    Spheres sit between the camera and its target (in front of the arm and the table); pixel
    (v, u) has its centre at (u + 0.5, v + 0.5) in K's frame, the convention docs/envs.md states.
    """
    sim, pose = env.sim, env.camera_pose
    k = env.camera_intrinsics * (renderer_size / env.image_size)
    k[2, 2] = 1.0
    eye, target = np.asarray(env.camera.eye), np.asarray(env.camera.target)
    errors = []
    for _ in range(count):
        centre = eye + rng.uniform(0.4, 0.6) * (target - eye) + rng.uniform(-0.06, 0.06, 3)
        body = sim.create_sphere(0.03, centre, (1.0, 0.0, 0.0, 1.0), ghost=True)
        rows, cols = np.nonzero(env.render_frames(renderer_size).segmentation[..., 0] == body)
        sim.remove_body(body)
        camera_point = np.linalg.inv(pose) @ np.append(centre, 1.0)
        projected = (k @ camera_point[:3])[:2] / camera_point[2]
        assert len(rows) > 12, f"sphere at {centre} covers only {len(rows)} pixels"
        errors.append([cols.mean() + 0.5 - projected[0], rows.mean() + 0.5 - projected[1]])
    return np.array(errors)


@pytest.mark.parametrize("renderer", ["tiny", "egl"])
def test_a_small_sphere_is_drawn_where_the_reported_intrinsics_project_it(renderer, closing):
    try:
        env = make("Foresight/PandaReach-v0", obs_mode="state", image_size=64, renderer=renderer)
    except RuntimeError as error:  # no EGL library on this machine
        pytest.skip(str(error))
    closing.append(env)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for size in (64, 85):  # the observation size, and an odd size through the scaled K
        errors = _centroid_errors(env.unwrapped, size, rng)
        # a half-pixel offset (TinyRenderer's own sampling) would give |mean| ~ 0.5 per axis
        assert np.all(np.abs(errors.mean(axis=0)) < 0.1), (size, errors.mean(axis=0))
        assert np.linalg.norm(errors, axis=1).mean() < 0.3, (size, errors)
