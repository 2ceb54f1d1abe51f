"""How a model sees a flat state: Euler angles become continuous rotation features.

Euler angles are a poor thing to regress: they wrap at +-pi (a cube at rest upside down jitters
between roll = +pi and -pi), and at pitch = +-pi/2 (a cube on its side) roll and yaw are not even
defined, so tiny physical changes make them jump. :class:`StateCoding` replaces each
``(roll, pitch, yaw)`` triple by the first two columns of its rotation matrix (the continuous 6-D
representation of Zhou et al., CVPR 2019); the model predicts the change of those features, and
the next state's angles are read back from the re-orthonormalised matrix. Every other dimension
passes through unchanged. With no Euler triples the coding is the identity (the fast path).

Convention: ``R = Rz(yaw) @ Ry(pitch) @ Rx(roll)``, radians (PyBullet's and ROS's).
"""
from __future__ import annotations

import torch

ROTATION_FEATURES = 6
"""Features per Euler triple: two rotation-matrix columns."""


def euler_to_matrix(euler: torch.Tensor) -> torch.Tensor:
    """Rotation matrices ``[..., 3, 3]`` of ``(roll, pitch, yaw)`` triples ``[..., 3]`` (radians)."""
    cr, cp, cy = euler.cos().unbind(-1)
    sr, sp, sy = euler.sin().unbind(-1)
    rows = (cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr,
            sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr,
            -sp, cp * sr, cp * cr)
    return torch.stack(rows, -1).reshape(*euler.shape[:-1], 3, 3)


def matrix_to_euler(matrix: torch.Tensor) -> torch.Tensor:
    """``(roll, pitch, yaw)`` ``[..., 3]`` of rotation matrices ``[..., 3, 3]``; yaw = 0 at gimbal lock."""
    cos_pitch = torch.hypot(matrix[..., 0, 0], matrix[..., 1, 0])
    locked = cos_pitch < 1e-6
    pitch = torch.atan2(-matrix[..., 2, 0], cos_pitch)
    roll = torch.where(locked, torch.atan2(-matrix[..., 1, 2], matrix[..., 1, 1]),
                       torch.atan2(matrix[..., 2, 1], matrix[..., 2, 2]))
    yaw = torch.where(locked, torch.zeros_like(pitch), torch.atan2(matrix[..., 1, 0], matrix[..., 0, 0]))
    return torch.stack((roll, pitch, yaw), -1)


def matrix_from_features(features: torch.Tensor) -> torch.Tensor:
    """The nearest-by-Gram-Schmidt rotation ``[..., 3, 3]`` to two (possibly noisy) columns ``[..., 6]``."""
    first = torch.nn.functional.normalize(features[..., :3], dim=-1)
    second = features[..., 3:]
    second = torch.nn.functional.normalize(second - (first * second).sum(-1, keepdim=True) * first, dim=-1)
    return torch.stack((first, second, torch.linalg.cross(first, second)), -1)


def rotation_angle(euler_a: torch.Tensor, euler_b: torch.Tensor) -> torch.Tensor:
    """Geodesic angle ``[...]`` (radians, 0..pi) between the orientations of two Euler triples ``[..., 3]``."""
    relative = euler_to_matrix(euler_a).transpose(-1, -2) @ euler_to_matrix(euler_b)
    cosine = (relative.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2
    return torch.arccos(cosine.clamp(-1.0, 1.0))


class StateCoding:
    """Flat state ``[..., S]`` <-> model features ``[..., F]``: Euler triples as rotation features.

    Args:
        state_dim: S.
        euler_dims: Start index of each ``(roll, pitch, yaw)`` triple in the state; ``()`` for none.
    """

    def __init__(self, state_dim: int, euler_dims: tuple[int, ...] = ()) -> None:
        self.state_dim, self.euler_dims = state_dim, tuple(int(d) for d in euler_dims)
        covered = [d + i for d in self.euler_dims for i in range(3)]
        if any(d < 0 or d + 3 > state_dim for d in self.euler_dims) or len(set(covered)) != len(covered):
            raise ValueError(f"euler_dims {self.euler_dims} must start non-overlapping (roll, pitch, yaw) "
                             f"triples inside a state of {state_dim} dims (valid starts: 0..{state_dim - 3})")
        self.plain = torch.tensor([d for d in range(state_dim) if d not in set(covered)], dtype=torch.long)
        self._plain_on: dict[torch.device, torch.Tensor] = {}  # one copy per device, not one per rollout step
        self.feature_dim = state_dim + (ROTATION_FEATURES - 3) * len(self.euler_dims)

    @property
    def identity(self) -> bool:
        return not self.euler_dims

    def _plain_indices(self, device: torch.device) -> torch.Tensor:
        if device not in self._plain_on:
            self._plain_on[device] = self.plain.to(device)
        return self._plain_on[device]

    def features(self, states: torch.Tensor) -> torch.Tensor:
        """``[..., S] -> [..., F]``: plain dims first, then 6 rotation features per triple."""
        if self.identity:
            return states
        rotations = [euler_to_matrix(states[..., d:d + 3])[..., :2].transpose(-1, -2).flatten(-2)
                     for d in self.euler_dims]
        return torch.cat([states[..., self._plain_indices(states.device)], *rotations], dim=-1)

    def delta(self, states: torch.Tensor, next_states: torch.Tensor) -> torch.Tensor:
        """What a model predicts: the change of features ``[..., F]`` from ``states`` to ``next_states``."""
        if self.identity:
            return next_states - states
        return self.features(next_states) - self.features(states)

    def apply(self, states: torch.Tensor, delta: torch.Tensor, features: torch.Tensor | None = None) -> torch.Tensor:
        """Next states ``[..., S]`` from ``states`` and a predicted feature change ``[..., F]``.

        ``features``: ``self.features(states)`` where the caller already has it (a rollout step did)."""
        if self.identity:
            return states + delta
        plain = self._plain_indices(states.device)
        moved = (self.features(states) if features is None else features) + delta
        out = torch.empty_like(states)
        out[..., plain] = moved[..., :len(plain)]
        for i, d in enumerate(self.euler_dims):
            start = len(plain) + ROTATION_FEATURES * i
            out[..., d:d + 3] = matrix_to_euler(matrix_from_features(moved[..., start:start + ROTATION_FEATURES]))
        return out
