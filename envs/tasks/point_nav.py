"""PointNav: drive a mobile base to a goal position on the floor among random cylinder obstacles."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from envs.sim.bullet import Simulator
from envs.tasks.base import GOAL_RGBA, GoalTask
from foresight_base.checks import check_choice

NUM_OBSTACLES = 4
OBSTACLE_RADIUS = 0.2  # metres
OBSTACLE_HEIGHT = 0.5  # metres
ARENA_HALF_SIZE = 2.5  # metres: obstacles lie in [-2.5, 2.5]^2 around the start
GOAL_DISTANCE = (1.0, 2.5)  # metres from the start
ROBOT_RADIUS = 0.55  # metres: circle around the base used for clearances
OBSTACLE_RGBA = (0.6, 0.25, 0.2, 1.0)
INFLUENCE = 0.6  # metres of clearance within which obstacles repel the scripted driver
TURN_GAIN = 1.5  # turn command per radian of heading error
OBSTACLE_OBS = ("world", "none", "lidar")
LIDAR_BEAMS = 24  # beams evenly spread over a full turn, the first straight ahead
LIDAR_RANGE = 1.5  # metres from the base's centre; farther pillars read as this range


def _wrap(angle: float) -> float:
    return float((angle + np.pi) % (2.0 * np.pi) - np.pi)


def lidar_ranges(origin: np.ndarray, yaw: float, centres: np.ndarray, radius: float = OBSTACLE_RADIUS,
                 beams: int = LIDAR_BEAMS, max_range: float = LIDAR_RANGE) -> np.ndarray:
    """Distances [beams] (metres, at most ``max_range``) from ``origin`` [2] to the first circle hit.

    Beams leave at ``yaw + 2 pi k / beams``; circles have centres [n, 2] and a shared ``radius``.
    Exact ray-circle intersection, so it costs no simulator ray casts; an origin inside a circle
    reads 0 on every beam.
    """
    angles = yaw + 2.0 * np.pi * np.arange(beams) / beams
    directions = np.stack((np.cos(angles), np.sin(angles)), axis=1)  # [beams, 2]
    offsets = np.asarray(centres, dtype=float) - origin  # [n, 2]
    along = directions @ offsets.T  # [beams, n]: distance along each beam to the closest approach
    miss_sq = (offsets ** 2).sum(axis=1) - along ** 2  # squared distance of each centre from each beam
    chord = np.sqrt(np.clip(radius ** 2 - miss_sq, 0.0, None))
    hits = np.where((miss_sq <= radius ** 2) & (along + chord >= 0.0), np.maximum(along - chord, 0.0), np.inf)
    return np.minimum(hits.min(axis=1, initial=np.inf), max_range)


class PointNav(GoalTask):
    """Reach a goal 1 to 2.5 m away; four 20 cm-radius pillars stand in the arena.

    Goals are xy positions [2] (metres); success within ``distance_threshold`` of the goal.
    Task observation, by ``obstacle_obs``:

    - ``"world"`` [2 * NUM_OBSTACLES]: obstacle centres xy in the world frame, metres.
    - ``"none"`` [2 * NUM_OBSTACLES]: zeros, a blind base as with no obstacle sensor (same layout).
    - ``"lidar"`` [LIDAR_BEAMS]: a planar range scanner on the base. Each beam's distance to the first
      pillar surface as a fraction of ``LIDAR_RANGE`` (1 = nothing within range), beams at even
      angles in the base's frame, counter-clockwise from straight ahead. It reads only what is near,
      so the observation does not carry the whole layout the way ``"world"`` does.

    Args:
        sim: The world.
        base_position: Robot ability: xy of the base [2], metres.
        base_yaw: Robot ability: heading, radians.
        reward_type: ``"sparse"`` or ``"dense"``.
        distance_threshold: Success radius, metres.
        obstacle_obs: ``"world"``, ``"none"`` or ``"lidar"``: how the obstacles are observed.
    """

    goal_size = 2
    observation_size = 2 * NUM_OBSTACLES

    def __init__(self, sim: Simulator, base_position: Callable[[], np.ndarray], base_yaw: Callable[[], float],
                 reward_type: str = "sparse", distance_threshold: float = 0.3, obstacle_obs: str = "world") -> None:
        check_choice("obstacle_obs", obstacle_obs, OBSTACLE_OBS)
        super().__init__(reward_type, distance_threshold)
        self.obstacle_obs = obstacle_obs
        if obstacle_obs == "lidar":
            self.observation_size = LIDAR_BEAMS
        self.sim = sim
        self.base_position = base_position
        self.base_yaw = base_yaw
        self.obstacles = [
            sim.create_cylinder(OBSTACLE_RADIUS, OBSTACLE_HEIGHT, (3.0 + i, 3.0, OBSTACLE_HEIGHT / 2), OBSTACLE_RGBA)
            for i in range(NUM_OBSTACLES)
        ]
        self.marker = sim.create_sphere(0.1, (1.0, 0.0, 0.1), GOAL_RGBA, ghost=True)
        self.obstacle_xy = np.zeros((NUM_OBSTACLES, 2))

    @property
    def segmentation_ids(self) -> dict[str, int]:
        return {"target": self.marker, **{f"obstacle{i}": body for i, body in enumerate(self.obstacles)}}

    def reset(self, rng: np.random.Generator) -> None:
        angle = rng.uniform(-np.pi, np.pi)
        self.goal = rng.uniform(*GOAL_DISTANCE) * np.array((np.cos(angle), np.sin(angle)))
        self.sim.set_base_pose(self.marker, (*self.goal, 0.1))
        for i, body in enumerate(self.obstacles):
            self.obstacle_xy[i] = self._free_spot(rng)
            self.sim.set_base_pose(body, (*self.obstacle_xy[i], OBSTACLE_HEIGHT / 2))

    def _free_spot(self, rng: np.random.Generator) -> np.ndarray:
        """An obstacle position clear of the start (origin) and the goal."""
        clearance = ROBOT_RADIUS + OBSTACLE_RADIUS + 0.1
        while True:
            spot = rng.uniform(-ARENA_HALF_SIZE, ARENA_HALF_SIZE, size=2)
            if np.linalg.norm(spot) > clearance and np.linalg.norm(spot - self.goal) > clearance:
                return spot

    def snapshot(self) -> dict[str, np.ndarray]:
        return {**super().snapshot(), "obstacle_xy": self.obstacle_xy.copy()}

    def restore(self, snapshot: dict[str, np.ndarray]) -> None:
        super().restore(snapshot)
        self.obstacle_xy = snapshot["obstacle_xy"].copy()

    def observation(self) -> np.ndarray:
        if self.obstacle_obs == "none":
            return np.zeros(self.observation_size)
        if self.obstacle_obs == "lidar":
            return lidar_ranges(self.base_position(), self.base_yaw(), self.obstacle_xy) / LIDAR_RANGE
        return self.obstacle_xy.reshape(-1).copy()

    def achieved_goal(self) -> np.ndarray:
        return self.base_position()

    def scripted_command(self) -> np.ndarray:
        """Potential field: attraction to the goal, repulsion plus a sidestep around close pillars."""
        position = self.base_position()
        to_goal = self.goal - position
        distance = np.linalg.norm(to_goal)
        if distance < self.distance_threshold / 3:
            return np.zeros(2)  # arrived: turning on the spot would skid the base away again
        heading = to_goal / max(distance, 1e-6)
        for centre in self.obstacle_xy:
            away = position - centre
            gap = np.linalg.norm(away) - OBSTACLE_RADIUS - ROBOT_RADIUS
            if gap < INFLUENCE:
                away /= np.linalg.norm(away)
                side = np.array((-away[1], away[0]))
                side *= np.sign(side @ heading) or 1.0
                strength = (INFLUENCE - gap) / INFLUENCE
                heading = heading + strength * (away + 2.0 * side)
        error = _wrap(np.arctan2(heading[1], heading[0]) - self.base_yaw())
        forward = min(1.0, 1.5 * distance) * max(np.cos(error), 0.0) ** 2
        return np.array((forward, np.clip(TURN_GAIN * error, -1.0, 1.0)))
