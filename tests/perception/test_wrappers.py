"""The localisation wrapper on a ray-cast gymnasium env whose ball moves with the action."""
import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

from perception.encoders import make_encoder
from perception.wrappers import EncodedObservationWrapper, ObjectLocalizationWrapper, ObjectSpec
from tests.perception.raycast import H, K, W, look_at, render
from tests.perception.synthetic import MovingSquare

RADIUS = 0.03
BALL_SPEC = ObjectSpec.sphere(RADIUS)


class RaycastBallEnv(gym.Env):
    """A ball on a plane seen by a fixed camera; the action moves it in x, y (metres)."""

    def __init__(self):
        self.observation_space = gym.spaces.Dict({
            "depth": gym.spaces.Box(0.0, np.inf, (H, W, 1), np.float32),
            "segmentation": gym.spaces.Box(-1, 2**30, (H, W), np.int32),
            "proprio": gym.spaces.Box(-1.0, 1.0, (2,), np.float32),
        })  # fmt: skip
        self.action_space = gym.spaces.Box(-0.05, 0.05, (2,), np.float32)
        self.camera_intrinsics = K
        self.camera_pose = look_at((0.7, -0.3, 0.6), (0.0, 0.0, 0.0))
        self.segmentation_ids = {"plane": 0, "ball": 1}

    def _observe(self):
        depth, ids = render(self.camera_pose, {1: ((*self.ball, RADIUS), RADIUS)})
        return {
            "depth": depth[..., None].astype(np.float32),
            "segmentation": ids.astype(np.int32),
            "proprio": np.zeros(2, np.float32),
        }

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.ball = self.np_random.uniform(-0.15, 0.15, 2)
        return self._observe(), {}

    def step(self, action):
        self.ball = self.ball + np.asarray(action, float)
        return self._observe(), 0.0, False, False, {}


def test_wrapper_tracks_the_ball_and_keeps_proprio():
    env = ObjectLocalizationWrapper(RaycastBallEnv(), {"ball": BALL_SPEC})
    obs, _ = env.reset(seed=0)
    for _ in range(3):
        truth = np.array([*env.unwrapped.ball, RADIUS])
        assert obs["object_visible"][0] == 1.0 and obs["object_confidence"][0] > 0.9
        assert np.linalg.norm(obs["object_positions"][0] - truth) < 0.003
        assert set(obs) == {"object_positions", "object_confidence", "object_visible", "proprio"}
        obs, *_ = env.step(np.array([0.05, -0.05], np.float32))


def test_wrapper_reports_out_of_view_as_not_visible():
    env = ObjectLocalizationWrapper(RaycastBallEnv(), {"ball": BALL_SPEC})
    env.reset(seed=0)
    env.unwrapped.ball = np.array([4.0, 4.0])
    obs, *_ = env.step(np.zeros(2, np.float32))
    assert obs["object_visible"][0] == 0.0 and not obs["object_positions"].any()


def test_hold_last_seen_keeps_the_old_measurement_flagged():
    env = ObjectLocalizationWrapper(RaycastBallEnv(), {"ball": BALL_SPEC}, hold_last_seen=True)
    for seed in (0, 1):  # the memory belongs to one episode
        first, _ = env.reset(seed=seed)
        env.unwrapped.ball = np.array([4.0, 4.0])  # out of view
        obs, *_ = env.step(np.zeros(2, np.float32))
        assert obs["object_visible"][0] == 0.0 and first["object_visible"][0] == 1.0
        np.testing.assert_array_equal(obs["object_positions"], first["object_positions"])


def test_wrapper_passes_the_gymnasium_checker():
    check_env(ObjectLocalizationWrapper(RaycastBallEnv(), {"ball": BALL_SPEC}), skip_render_check=True)


def test_bad_input_names_the_problem():
    with pytest.raises(ValueError, match="valid"):
        ObjectLocalizationWrapper(RaycastBallEnv(), {"cube": ObjectSpec()})
    with pytest.raises(ValueError, match="valid"):
        ObjectLocalizationWrapper(RaycastBallEnv(), {"ball": BALL_SPEC}, keep_keys=["joints"])


def test_shape_specs_give_localize_their_calibration_and_keep_other_fields():
    cube = ObjectSpec.cube(0.02, min_confidence=0.5, segmentation_id=7)
    assert cube.segmentation_id == 7 and cube.projected_area == pytest.approx(1.75 * 0.04**2)
    assert cube.localize_kwargs() == {"projected_area": cube.projected_area, "surface_offset": pytest.approx(0.012),
                                      "min_pixels": 8, "min_confidence": 0.5}  # fmt: skip
    assert ObjectSpec.sphere(0.03).surface_offset == pytest.approx(0.02)
    with pytest.raises(ValueError, match="radius.*-0.1"):
        ObjectSpec.sphere(-0.1)
    with pytest.raises(ValueError, match="half_size"):
        ObjectSpec.cube(0.0)


def test_encoded_observation_wrapper_gives_frozen_features():
    encoder = make_encoder("nature", 3, 12, (40, 40))
    env = EncodedObservationWrapper(MovingSquare(), encoder)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.shape == (12,) and obs.shape == (12,) and obs.dtype == np.float32
    image = env.unwrapped._observe()
    expected = encoder(torch.as_tensor(image).permute(2, 0, 1)[None])[0].detach().numpy()
    np.testing.assert_allclose(obs, expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="image_key"):
        EncodedObservationWrapper(RaycastBallEnv(), encoder, image_key="rgb")
