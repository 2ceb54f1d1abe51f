"""Object localisation from RGB-D: mask -> 3D points -> a world position, or an honest "not visible".

The pipeline of "Does computer vision matter for action?" (Zhou, Krähenbühl, Koltun 2019) reduced
to geometry: an object mask (from a segmentation image or a colour threshold) selects pixels, each
pixel is back-projected with its depth and the camera intrinsics ``K`` into the camera frame, moved
to the world with the camera pose, and the points are averaged. Too few pixels, or far fewer than
the object's size predicts at that distance, give ``visible=False`` and no position at all.

Conventions (numpy, metres):
    * ``K``: 3x3 intrinsics in pixels with the origin at the top-left pixel *corner* (as in
      ``envs`` and OpenGL): pixel (row v, column u) has its centre at ``(u + 0.5, v + 0.5)``, and
      a camera point projects to ``fx * x / z + cx``. ``pixel_centre`` changes this for a K
      from another convention: ``(0, 0)`` for an OpenCV-calibrated K (pixel centres at integers).
    * camera frame: ``"opencv"`` (x right, y down, z forward, the default) or ``"opengl"``
      (x right, y up, z backward, as in PyBullet's view matrix).
    * ``world_from_camera``: 4x4 pose, ``p_world = R @ p_camera + t``.
    * depth: distance along the optical axis (z-depth), metres; 0, NaN or inf mark no depth.
"""
from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from foresight_base.checks import check_choice

CONVENTIONS = ("opencv", "opengl")
CORNER_PIXEL_CENTRE = (0.5, 0.5)
# opengl camera axes expressed in the opencv camera frame (flip y and z)
_OPENGL_FROM_OPENCV = np.diag([1.0, -1.0, -1.0])


class ObjectLocation(NamedTuple):
    """One object's estimate.

    Attributes:
        position: ``[3]`` world position in metres, or ``None`` when not visible.
        confidence: in [0, 1]: visible pixels over the pixels the object would cover unoccluded
            (capped at 1); below the caller's threshold the object counts as not visible.
        visible: whether ``position`` is a measurement.
        pixels: number of valid mask pixels used.
    """

    position: np.ndarray | None
    confidence: float
    visible: bool
    pixels: int


def check_camera(intrinsics: np.ndarray, world_from_camera: np.ndarray, convention: str) -> None:
    """Raise a clear error for a malformed ``K``, pose or convention name."""
    if np.shape(intrinsics) != (3, 3):
        raise ValueError(f"intrinsics K must be 3x3, got shape {np.shape(intrinsics)}")
    if np.shape(world_from_camera) != (4, 4):
        raise ValueError(f"world_from_camera must be 4x4, got shape {np.shape(world_from_camera)}")
    check_choice("camera convention", convention, CONVENTIONS)


def backproject(
    u: np.ndarray,
    v: np.ndarray,
    depth: np.ndarray,
    intrinsics: np.ndarray,
    pixel_centre: tuple[float, float] = CORNER_PIXEL_CENTRE,
) -> np.ndarray:
    """Pixels with z-depth -> ``[N, 3]`` points in the OpenCV camera frame (metres).

    Args:
        u: ``[N]`` column indices.
        v: ``[N]`` row indices.
        depth: ``[N]`` z-depth in metres.
        intrinsics: 3x3 ``K``.
        pixel_centre: (u, v) image coordinates of the centre of pixel (0, 0) in ``K``'s frame.
    """
    fx, fy, cx, cy = intrinsics[0, 0], intrinsics[1, 1], intrinsics[0, 2], intrinsics[1, 2]
    x = (np.asarray(u, np.float64) + pixel_centre[0] - cx) / fx * depth
    y = (np.asarray(v, np.float64) + pixel_centre[1] - cy) / fy * depth
    return np.stack([x, y, np.asarray(depth, np.float64)], axis=-1)


def camera_to_world(points: np.ndarray, world_from_camera: np.ndarray, convention: str = "opencv") -> np.ndarray:
    """``[N, 3]`` OpenCV-frame camera points -> world points, for a pose given in ``convention``."""
    rotation, translation = world_from_camera[:3, :3], world_from_camera[:3, 3]
    if convention == "opengl":
        rotation = rotation @ _OPENGL_FROM_OPENCV
    return points @ rotation.T + translation


def depth_to_world(
    depth: np.ndarray,
    intrinsics: np.ndarray,
    world_from_camera: np.ndarray,
    convention: str = "opencv",
    pixel_centre: tuple[float, float] = CORNER_PIXEL_CENTRE,
) -> np.ndarray:
    """A whole ``[H, W]`` depth image -> ``[H, W, 3]`` world points (NaN where depth is invalid)."""
    check_camera(intrinsics, world_from_camera, convention)
    h, w = depth.shape
    v, u = np.mgrid[0:h, 0:w]
    z = np.where(_valid(depth), depth, np.nan)
    return camera_to_world(backproject(u, v, z, intrinsics, pixel_centre), world_from_camera, convention)


def _valid(depth: np.ndarray) -> np.ndarray:
    return np.isfinite(depth) & (depth > 0)


def segmentation_mask(segmentation: np.ndarray, ids: int | list[int]) -> np.ndarray:
    """``[H, W]`` bool mask of pixels whose segmentation id is one of ``ids``.

    PyBullet packs ``object_id + (link_index + 1) << 24`` when link ids are requested; the low
    24 bits are the body id, so both packed and plain images work.
    """
    body = np.asarray(segmentation).astype(np.int64)
    body = np.where(body >= 0, body & ((1 << 24) - 1), body)
    return np.isin(body, np.atleast_1d(ids))


def colour_mask(rgb: np.ndarray, lower_hsv: tuple[int, int, int], upper_hsv: tuple[int, int, int]) -> np.ndarray:
    """``[H, W]`` bool mask of ``[H, W, 3]`` uint8 RGB pixels inside an OpenCV HSV box.

    OpenCV's HSV ranges: hue 0-179, saturation and value 0-255.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"rgb must be [H, W, 3] uint8, got shape {rgb.shape} dtype {rgb.dtype}")
    hsv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV)
    return cv2.inRange(hsv, np.array(lower_hsv, np.uint8), np.array(upper_hsv, np.uint8)) > 0


def expected_pixels(area_m2: float, depth_m: float, intrinsics: np.ndarray) -> float:
    """Pixels an unoccluded object of projected area ``area_m2`` covers at ``depth_m`` metres."""
    return area_m2 * intrinsics[0, 0] * intrinsics[1, 1] / depth_m**2


NOT_VISIBLE = ObjectLocation(None, 0.0, False, 0)


def localize(
    mask: np.ndarray,
    depth: np.ndarray,
    intrinsics: np.ndarray,
    world_from_camera: np.ndarray,
    *,
    convention: str = "opencv",
    pixel_centre: tuple[float, float] = CORNER_PIXEL_CENTRE,
    projected_area: float | None = None,
    surface_offset: float = 0.0,
    min_pixels: int = 8,
    min_confidence: float = 0.3,
) -> ObjectLocation:
    """World position of the object under ``mask``, or ``visible=False`` with no position.

    The mean of the back-projected mask pixels lies on the visible surface, nearer the camera than
    the object's centre: ``surface_offset`` (metres) moves it further along the viewing ray (about
    2/3 of the radius for a sphere or a cube seen from above at an angle).

    Args:
        mask: ``[H, W]`` bool, the object's pixels.
        depth: ``[H, W]`` z-depth in metres.
        intrinsics: 3x3 ``K``.
        world_from_camera: 4x4 camera pose in ``convention``.
        convention: ``"opencv"`` or ``"opengl"`` camera axes.
        pixel_centre: (u, v) of pixel (0, 0)'s centre in ``K``'s image coordinates.
        projected_area: the object's silhouette area in m^2 when unoccluded; gives the confidence
            (visible over expected pixels). ``None`` sets confidence 1 whenever enough pixels show.
        surface_offset: metres from the visible surface's centroid to the object's centre.
        min_pixels: fewer valid pixels than this is "not visible".
        min_confidence: a lower confidence (a mostly occluded object) is "not visible".
    """
    check_camera(intrinsics, world_from_camera, convention)
    if mask.shape != depth.shape:
        raise ValueError(f"mask {mask.shape} and depth {depth.shape} must have the same [H, W] shape")
    v, u = np.nonzero(mask & _valid(depth))
    if len(u) < min_pixels:
        return ObjectLocation(None, 0.0, False, len(u))
    centroid = backproject(u, v, depth[v, u], intrinsics, pixel_centre).mean(axis=0)
    confidence = 1.0
    if projected_area is not None:
        confidence = min(1.0, len(u) / expected_pixels(projected_area, centroid[2], intrinsics))
    if confidence < min_confidence:
        return ObjectLocation(None, confidence, False, len(u))
    centroid = centroid + surface_offset * centroid / np.linalg.norm(centroid)
    position = camera_to_world(centroid[None], world_from_camera, convention)[0]
    return ObjectLocation(position, confidence, True, len(u))
