"""Domain randomization: seeded, explicit, off by default.

Each reset draws dynamics (friction, mass, object size), appearance (colours, light direction)
and camera pose jitter from the environment's ``np_random``, so one seed gives one sequence of
worlds. Pass ``randomize=True`` for the defaults below or a :class:`Randomization` to choose.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.tasks.base import GOAL_RGBA

RECOLOURED = ("object", "table", "floor")  # the target keeps its colour: it marks the goal
MIN_DISTANCE_TO_GOAL_COLOUR = 0.5  # RGB distance: a random colour never passes for the goal marker
FRICTION_BODIES = ("object", "table", "floor")


@dataclass(frozen=True)
class Randomization:
    """What varies between episodes. Ranges are (low, high), sampled uniformly.

    Attributes:
        friction_scale: Multiplies the nominal lateral friction of object, table and floor.
        mass_scale: Multiplies the nominal object mass.
        object_size_scale: Multiplies the cube's edge (tabletop tasks).
        colors: Draw random RGB colours for object, table and floor.
        light_direction: Draw the light direction from the upper hemisphere.
        camera_position_jitter: Max camera displacement per axis, metres.
        camera_rotation_jitter_deg: Max camera rotation per axis, degrees.
    """

    friction_scale: tuple[float, float] = (0.8, 1.2)
    mass_scale: tuple[float, float] = (0.5, 2.0)
    object_size_scale: tuple[float, float] = (0.9, 1.1)
    colors: bool = True
    light_direction: bool = True
    camera_position_jitter: float = 0.02
    camera_rotation_jitter_deg: float = 2.0

    def __post_init__(self) -> None:
        for name in ("friction_scale", "mass_scale", "object_size_scale"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"{name} must satisfy 0 < low <= high, got {(low, high)}")


def rotation_matrix(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """3x3 rotation from x-y-z Euler angles (radians)."""
    cr, sr, cp, sp, cy, sy = np.cos(roll), np.sin(roll), np.cos(pitch), np.sin(pitch), np.cos(yaw), np.sin(yaw)
    rx = np.array(((1, 0, 0), (0, cr, -sr), (0, sr, cr)))
    ry = np.array(((cp, 0, sp), (0, 1, 0), (-sp, 0, cp)))
    rz = np.array(((cy, -sy, 0), (sy, cy, 0), (0, 0, 1)))
    return rz @ ry @ rx


def _random_colour(rng: np.random.Generator) -> np.ndarray:
    """An RGB colour in [0.05, 0.95]^3 far enough from the goal marker's green."""
    while True:
        colour = rng.uniform(0.05, 0.95, size=3)
        if np.linalg.norm(colour - np.array(GOAL_RGBA[:3])) > MIN_DISTANCE_TO_GOAL_COLOUR:
            return colour


class Randomizer:
    """Applies a :class:`Randomization` to a ``RobotTaskEnv`` at reset (``randomizer(env, rng)``)."""

    def __init__(self, config: Randomization) -> None:
        self.config = config
        self._nominal: dict[str, tuple[float, float]] = {}  # name -> (mass, friction)

    def __call__(self, env, rng: np.random.Generator) -> bool:
        """Randomize ``env`` in place; True when bodies were replaced (the object was resized)."""
        replaced = self._resize_object(env, rng)
        self._dynamics(env, rng)
        self._appearance(env, rng)
        self._camera(env, rng)
        return replaced

    def _resize_object(self, env, rng: np.random.Generator) -> bool:
        task = env.task
        if not hasattr(task, "scale_object"):
            return False
        before = task.object
        task.scale_object(rng.uniform(*self.config.object_size_scale))
        return task.object != before

    def _dynamics(self, env, rng: np.random.Generator) -> None:
        ids = env.segmentation_ids
        for name in FRICTION_BODIES:
            if name not in ids:
                continue
            mass, friction = self._nominal.setdefault(name, (env.sim.mass(ids[name]),
                                                             env.sim.lateral_friction(ids[name])))
            changes = {"lateralFriction": friction * rng.uniform(*self.config.friction_scale)}
            if name == "object":
                changes["mass"] = mass * rng.uniform(*self.config.mass_scale)
            env.sim.set_dynamics(ids[name], **changes)

    def _appearance(self, env, rng: np.random.Generator) -> None:
        ids = env.segmentation_ids
        if self.config.colors:
            for name in RECOLOURED:
                if name in ids:
                    env.sim.set_color(ids[name], (*_random_colour(rng), 1.0))
        if self.config.light_direction:
            direction = rng.normal(size=3)
            direction[2] = abs(direction[2]) + 0.5
            env.light_direction = direction / np.linalg.norm(direction)

    def _camera(self, env, rng: np.random.Generator) -> None:
        offset = np.eye(4)
        offset[:3, :3] = rotation_matrix(*np.deg2rad(rng.uniform(-1, 1,
                                                                 size=3) * self.config.camera_rotation_jitter_deg))
        offset[:3, 3] = rng.uniform(-1, 1, size=3) * self.config.camera_position_jitter
        env.camera_offset = offset


def make_randomizer(randomize: bool | Randomization) -> Randomizer | None:
    """None for ``False``, the defaults for ``True``, or the given config."""
    if randomize is False or randomize is None:
        return None
    if randomize is True:
        return Randomizer(Randomization())
    if isinstance(randomize, Randomization):
        return Randomizer(randomize)
    raise ValueError(f"randomize must be False, True or a Randomization, got {randomize!r}")
