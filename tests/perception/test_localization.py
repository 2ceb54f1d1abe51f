"""Localisation on exactly ray-cast depth images: geometry, occlusion, out of view, conventions."""
import numpy as np
import pytest

from perception.localization import (
    backproject,
    colour_mask,
    depth_to_world,
    localize,
    segmentation_mask,
)
from perception.wrappers import ObjectSpec
from tests.perception.raycast import K, look_at, render

EYE, TARGET = (0.7, -0.3, 0.6), (0.0, 0.0, 0.0)
BALL, RADIUS = (0.1, 0.05, 0.03), 0.03
BALL_SPEC = ObjectSpec.sphere(RADIUS)


def _locate(depth, ids, pose, body=1, k=K, **kwargs):
    return localize(segmentation_mask(ids, body), depth, k, pose, **{**BALL_SPEC.localize_kwargs(), **kwargs})


def test_backprojection_reprojects():
    points = backproject(np.array([10.0, 70.0]), np.array([5.0, 40.0]), np.array([0.5, 2.0]), K)
    pixels = points @ K.T
    np.testing.assert_allclose(pixels[:, :2] / pixels[:, 2:], [[10.5, 5.5], [70.5, 40.5]])  # pixel centres


def test_ground_plane_lands_on_z_zero():
    pose = look_at(EYE, TARGET)
    depth, ids = render(pose, {})
    world = depth_to_world(depth, K, pose)
    assert np.abs(world[ids == 0][:, 2]).max() < 1e-9


def test_visible_sphere_within_a_few_millimetres():
    pose = look_at(EYE, TARGET)
    depth, ids = render(pose, {1: (BALL, RADIUS)})
    found = _locate(depth, ids, pose)
    assert found.visible and found.confidence > 0.9
    assert np.linalg.norm(found.position - BALL) < 0.003


def test_opengl_pose_gives_the_same_answer():
    pose = look_at(EYE, TARGET)
    depth, ids = render(pose, {1: (BALL, RADIUS)})
    opengl_pose = pose @ np.diag([1.0, -1.0, -1.0, 1.0])
    a, b = _locate(depth, ids, pose), _locate(depth, ids, opengl_pose, convention="opengl")
    np.testing.assert_allclose(a.position, b.position)


def test_opencv_calibrated_k_with_integer_pixel_centres_gives_the_same_answer():
    pose = look_at(EYE, TARGET)
    depth, ids = render(pose, {1: (BALL, RADIUS)})
    opencv_k = K - np.array([[0, 0, 0.5], [0, 0, 0.5], [0, 0, 0]])  # origin at pixel (0, 0)'s centre
    a = _locate(depth, ids, pose)
    b = _locate(depth, ids, pose, k=opencv_k, pixel_centre=(0.0, 0.0))
    np.testing.assert_allclose(a.position, b.position)
    assert np.linalg.norm(_locate(depth, ids, pose, pixel_centre=(0.0, 0.0)).position - a.position) > 1e-4


def test_fully_occluded_is_not_visible():
    pose = look_at(EYE, TARGET)
    blocker = tuple(np.add(BALL, np.subtract(EYE, BALL) * 0.3))
    depth, ids = render(pose, {1: (BALL, RADIUS), 2: (blocker, 0.06)})
    found = _locate(depth, ids, pose)
    assert not found.visible and found.position is None and found.pixels == 0


def test_mostly_occluded_is_not_visible_and_partly_occluded_loses_confidence():
    pose = look_at(EYE, TARGET)
    toward_camera = np.subtract(EYE, BALL) / np.linalg.norm(np.subtract(EYE, BALL))
    side = np.cross(toward_camera, [0, 0, 1])
    side /= np.linalg.norm(side)
    confidences = []
    for shift in (0.015, 0.04):  # blocker slides off the ball: mostly, then partly hiding it
        blocker = tuple(np.add(BALL, toward_camera * 0.15 + side * shift))
        depth, ids = render(pose, {1: (BALL, RADIUS), 2: (blocker, 0.03)})
        confidences.append(_locate(depth, ids, pose, min_confidence=0.0).confidence)
        assert _locate(depth, ids, pose).visible == (confidences[-1] >= 0.3)
    assert confidences[0] < 0.3 < confidences[1] < 0.95


def test_out_of_view_is_not_visible():
    pose = look_at(EYE, TARGET)
    depth, ids = render(pose, {1: ((3.0, 3.0, 0.03), RADIUS)})
    assert not _locate(depth, ids, pose).visible


def test_colour_mask_selects_the_coloured_pixels():
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[1:3, 2:4] = (220, 30, 30)  # red
    rgb[0, 0] = (30, 200, 30)  # green
    mask = colour_mask(rgb, (0, 120, 80), (10, 255, 255))
    assert mask.sum() == 4 and mask[1:3, 2:4].all()


def test_packed_pybullet_segmentation_ids():
    seg = np.array([[3, 3 + (2 << 24), 4, -1]])
    assert segmentation_mask(seg, 3).tolist() == [[True, True, False, False]]


def test_bad_input_names_the_problem():
    with pytest.raises(ValueError, match="3x3"):
        localize(np.ones((2, 2), bool), np.ones((2, 2)), np.eye(4), np.eye(4))
    with pytest.raises(ValueError, match="valid"):
        localize(np.ones((2, 2), bool), np.ones((2, 2)), K, np.eye(4), convention="ros")
    with pytest.raises(ValueError, match="same"):
        localize(np.ones((2, 3), bool), np.ones((2, 2)), K, np.eye(4))
