"""Pinhole camera geometry in numpy: look-at poses, intrinsics and OpenGL matrices for PyBullet.

Conventions (used everywhere in ``envs``):
    * ``pose`` is the 4x4 world-from-camera transform in the OpenCV convention: camera x points
      right in the image, y down, z forward along the optical axis. A world point ``p`` projects to
      pixel ``(u, v)`` by ``K @ (inv(pose) @ [p, 1])[:3]`` followed by division by depth.
    * ``K`` is the 3x3 intrinsic matrix in pixels (origin at the top-left pixel corner).
    * Depth is z-depth along the optical axis in metres (not distance to the optical centre).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# OpenGL cameras look down -z with y up; OpenCV cameras look down +z with y down.
_GL_FROM_CV = np.diag([1.0, -1.0, -1.0, 1.0])


@dataclass(frozen=True)
class CameraSpec:
    """Where a camera looks from and what it sees.

    Attributes:
        eye: Camera centre in world coordinates [3], metres.
        target: Point the optical axis passes through [3], metres.
        up: World direction that appears upward in the image [3].
        fov_deg: Vertical field of view, degrees.
        near: Near clipping plane, metres.
        far: Far clipping plane, metres.
    """

    eye: tuple[float, float, float]
    target: tuple[float, float, float]
    up: tuple[float, float, float] = (0.0, 0.0, 1.0)
    fov_deg: float = 50.0
    near: float = 0.05
    far: float = 5.0


def look_at_pose(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    """World-from-camera 4x4 pose (OpenCV axes) of a camera at ``eye`` looking at ``target``."""
    eye, target, up = (np.asarray(v, dtype=np.float64) for v in (eye, target, up))
    forward = target - eye
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, up)
    if np.linalg.norm(right) < 1e-9:
        raise ValueError(f"camera up {up.tolist()} is parallel to the viewing direction {forward.tolist()}")
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, down, forward, eye
    return pose


def intrinsics(fov_deg: float, width: int, height: int) -> np.ndarray:
    """3x3 pinhole intrinsics K in pixels for a vertical field of view and square pixels."""
    focal = 0.5 * height / np.tan(np.deg2rad(fov_deg) / 2.0)
    return np.array([[focal, 0.0, width / 2.0], [0.0, focal, height / 2.0], [0.0, 0.0, 1.0]])


def gl_view_matrix(pose: np.ndarray) -> list[float]:
    """PyBullet's view matrix (column-major 16 floats) for a world-from-camera OpenCV pose."""
    camera_from_world = np.linalg.inv(pose)
    return (_GL_FROM_CV @ camera_from_world).T.reshape(-1).tolist()


def gl_projection_matrix(
    fov_deg: float, width: int, height: int, near: float, far: float, sample_offset: tuple[float, float] = (0.0, 0.0)
) -> list[float]:
    """PyBullet's perspective projection matrix (column-major 16 floats) for ``width x height`` images.

    ``sample_offset`` is where the rasterizer samples each pixel relative to its centre, in window
    pixels (x right, y up). The frustum moves by that much, so every pixel shows the scene at its
    centre and the images match ``intrinsics`` (principal point at the image centre) exactly.
    """
    f = 1.0 / np.tan(np.deg2rad(fov_deg) / 2.0)
    # ndc = clip / w with w = -z: an entry p in column 2 shifts ndc by -p, i.e. by -p * size / 2 pixels
    shift_x, shift_y = -2.0 * sample_offset[0] / width, -2.0 * sample_offset[1] / height
    proj = np.array(
        [
            [f * height / width, 0.0, shift_x, 0.0],
            [0.0, f, shift_y, 0.0],
            [0.0, 0.0, (far + near) / (near - far), 2.0 * far * near / (near - far)],
            [0.0, 0.0, -1.0, 0.0],
        ]
    )
    return proj.T.reshape(-1).tolist()


def linearize_depth(depth_buffer: np.ndarray, near: float, far: float) -> np.ndarray:
    """Metric z-depth (metres, float32) from an OpenGL depth buffer in [0, 1]."""
    depth = far * near / (far - (far - near) * depth_buffer)
    return depth.astype(np.float32)
