"""Differential inverse kinematics: one damped least-squares step per control step.

For end-effector moves of a few centimetres per step, one linearised step from the current joint
angles is accurate to millimetres, and the closed loop removes the rest on the next step. It costs
one Jacobian query instead of PyBullet's iterative IK. Quaternion maths is on plain floats: for
4-vectors that is several times faster than numpy's per-call overhead.
"""
from __future__ import annotations

import math

import numpy as np

_DAMPING = 0.05
_DAMPING_EYE = _DAMPING**2 * np.eye(6)  # 6 task dimensions: position and orientation


def orientation_error(desired, current) -> tuple[float, float, float]:
    """World-frame rotation vector (radians) turning ``current`` into ``desired`` ((x, y, z, w) quaternions)."""
    dx, dy, dz, dw = desired
    cx, cy, cz, cw = -current[0], -current[1], -current[2], current[3]  # inverse of a unit quaternion
    x = dw * cx + dx * cw + dy * cz - dz * cy
    y = dw * cy - dx * cz + dy * cw + dz * cx
    z = dw * cz + dx * cy - dy * cx + dz * cw
    w = dw * cw - dx * cx - dy * cy - dz * cz
    if w < 0:
        x, y, z, w = -x, -y, -z, -w  # the short way round
    sin_half = math.sqrt(x * x + y * y + z * z)
    if sin_half < 1e-9:
        return 0.0, 0.0, 0.0
    scale = 2.0 * math.atan2(sin_half, w) / sin_half
    return x * scale, y * scale, z * scale


def damped_least_squares(jacobian: np.ndarray, error: np.ndarray) -> np.ndarray:
    """Joint step ``[J]`` that best achieves a 6-D pose ``error`` for ``jacobian`` ``[6, J]``."""
    return jacobian.T @ np.linalg.solve(jacobian @ jacobian.T + _DAMPING_EYE, error)
