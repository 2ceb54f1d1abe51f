"""Small geometric helpers shared by the reaching worlds; all batched along the last axis."""
from __future__ import annotations

from envs.batched.ops import Array, ops_for


def split(state: Array, sizes: tuple[int, ...]) -> list[Array]:
    """Cut ``state [..., sum(sizes)]`` into consecutive pieces ``[..., size]``."""
    pieces, start = [], 0
    for size in sizes:
        pieces.append(state[..., start:start + size])
        start += size
    return pieces


def push_out(point: Array, centre: Array, radius: float) -> tuple[Array, Array, Array]:
    """Move points inside a ball onto its surface, radially (differentiable almost everywhere).

    Args:
        point: Points ``[..., D]``, metres.
        centre: Ball centres ``[..., D]``, metres.
        radius: Ball radius, metres.

    Returns:
        ``(moved [..., D], inside bool [...], outward unit normal [..., D])``.
    """
    ops = ops_for(point)
    offset = point - centre
    distance = ops.norm(offset)[..., None]
    normal = offset / ops.maximum(distance, 1e-9)
    inside = distance[..., 0] < radius
    return ops.where(inside[..., None], centre + normal * radius, point), inside, normal
