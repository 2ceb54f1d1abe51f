"""The static scenes: the tabletop every arm task shares (table top at z = 0) and the mobile base's floor.

A scene owns the camera that watches it, so the gym envs and the simulated robots behind the
deploy adapters render the same view from one definition.
"""
from __future__ import annotations

from envs.sim.bullet import Simulator
from envs.sim.camera import CameraSpec

TABLE_HALF_EXTENTS = (0.55, 0.35, 0.2)  # metres
TABLE_CENTRE_X = -0.15  # metres; the robot base sits on the table at x = -0.6
FLOOR_RGBA = (0.92, 0.92, 0.92, 1.0)
TABLE_RGBA = (0.55, 0.55, 0.55, 1.0)
GROUND_RGBA = (0.75, 0.75, 0.72, 1.0)  # the mobile base's floor
# Third-person view from the front right of the table, looking at the workspace (metres, degrees).
ARM_CAMERA = CameraSpec(eye=(0.4, 0.65, 0.6), target=(-0.15, 0.0, 0.12), fov_deg=50.0, near=0.05, far=3.0)


def build_table_scene(sim: Simulator) -> dict[str, int]:
    """Create floor and table; return their body ids by name (for segmentation)."""
    floor = sim.create_box((2.0, 2.0, 0.01), (0.0, 0.0, -0.41), FLOOR_RGBA)
    table = sim.create_box(TABLE_HALF_EXTENTS, (TABLE_CENTRE_X, 0.0, -TABLE_HALF_EXTENTS[2]), TABLE_RGBA)
    sim.set_dynamics(table, lateralFriction=1.0)
    return {"floor": floor, "table": table}


def build_floor_scene(sim: Simulator) -> dict[str, int]:
    """The mobile base's 12 x 12 m floor, top at z = 0; its body id by name (for segmentation)."""
    return {"floor": sim.create_box((6.0, 6.0, 0.05), (0.0, 0.0, -0.05), GROUND_RGBA)}
