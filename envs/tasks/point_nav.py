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
OBSTACLE_OBS = ("world", "none")


def _wrap(angle: float) -> float:
    return float((angle + np.pi) % (2.0 * np.pi) - np.pi)


class PointNav(GoalTask):
    """Reach a goal 1 to 2.5 m away; four 20 cm-radius pillars stand in the arena.

    Goals are xy positions [2] (metres); success within ``distance_threshold`` of the goal.
    Task observation [2 * NUM_OBSTACLES]: obstacle centres xy in the world frame, metres
    (``obstacle_obs="world"``), or zeros (``"none"``: a blind base, as with no obstacle sensor; the
    layout of the observation stays the same).

    Args:
        sim: The world.
        base_position: Robot ability: xy of the base [2], metres.
        base_yaw: Robot ability: heading, radians.
        reward_type: ``"sparse"`` or ``"dense"``.
        distance_threshold: Success radius, metres.
        obstacle_obs: ``"world"`` or ``"none"``: whether the obstacle centres are observed.
    """

    goal_size = 2
    observation_size = 2 * NUM_OBSTACLES

    def __init__(self, sim: Simulator, base_position: Callable[[], np.ndarray], base_yaw: Callable[[], float],
                 reward_type: str = "sparse", distance_threshold: float = 0.3, obstacle_obs: str = "world") -> None:
        check_choice("obstacle_obs", obstacle_obs, OBSTACLE_OBS)
        super().__init__(reward_type, distance_threshold)
        self.obstacle_obs = obstacle_obs
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
