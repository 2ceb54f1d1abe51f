"""Gymnasium faces of the deploy path.

- :class:`AdapterEnv`: a gymnasium env over any :class:`RobotAdapter`, every action passing the
  safety supervisor; with a :class:`GoalSpec` its observations are the sim env's goal dict
  (``observation``, ``achieved_goal``, ``desired_goal``, same units), so a policy trained in
  simulation runs on it unchanged and sim/adapter parity can be tested.
- :class:`SupervisedEnv`: a wrapper that puts the same supervisor in front of a simulated env, so
  evaluation in simulation reports how often a policy would have been clamped on the robot.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.adapters.base import RobotAdapter
from envs.adapters.safety import SafetyConfig, SafetySupervisor


@dataclass(frozen=True)
class GoalSpec:
    """What a goal-reaching task needs from a robot's readings (no simulator involved).

    Attributes:
        achieved: reading dict -> achieved goal [G] (e.g. the end-effector position, metres).
        sample: rng -> a desired goal [G].
        reward: batched ``[..., G], [..., G] -> [...]`` reward, as the sim task computes it.
        success: batched ``[..., G], [..., G] -> [...]`` bool.
        observation_key: the reading entry that is the policy's ``observation``.
    """

    achieved: Callable[[Mapping[str, np.ndarray]], np.ndarray]
    sample: Callable[[np.random.Generator], np.ndarray]
    reward: Callable[[np.ndarray, np.ndarray], np.ndarray]
    success: Callable[[np.ndarray, np.ndarray], np.ndarray]
    observation_key: str = "observation"

    def view(self, data: Mapping[str, np.ndarray], desired: np.ndarray) -> dict[str, np.ndarray]:
        """A robot reading -> the goal dict a goal-conditioned policy takes (float64 arrays)."""
        return {"observation": np.asarray(data[self.observation_key], np.float64),
                "achieved_goal": np.asarray(self.achieved(data), np.float64),
                "desired_goal": np.asarray(desired, np.float64).copy()}


def _box_like(value: np.ndarray) -> spaces.Box:
    value = np.asarray(value)
    return spaces.Box(-np.inf, np.inf, value.shape, np.float64)


def command_space(supervisor: SafetySupervisor) -> spaces.Box:
    """The flat action space [A] of a robot's command limits (key order)."""
    low, high = supervisor.limits.bounds
    return spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)


class AdapterEnv(gym.Env):
    """A gymnasium env over a connected adapter.

    Args:
        adapter: the robot (connected here if it is not).
        supervisor: the safety gate (default: limits from the adapter, no watchdog since the
            caller drives time).
        goal: make observations a goal dict like the sim env's ``obs_mode="goal"``.
    """

    def __init__(self, adapter: RobotAdapter, supervisor: SafetySupervisor | None = None,
                 goal: GoalSpec | None = None) -> None:
        self.adapter = adapter.connect()
        self.supervisor = supervisor or SafetySupervisor(adapter.limits, SafetyConfig(watchdog_s=None))
        self.goal = goal
        self.desired = None if goal is None else np.asarray(goal.sample(np.random.default_rng(0)), np.float64)
        self.action_space = command_space(self.supervisor)
        first = self._observation(self.adapter.observe().data)
        self.observation_space = spaces.Dict({k: _box_like(v) for k, v in first.items()})

    def _observation(self, data: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.goal is None:
            return {k: np.asarray(v, np.float64) for k, v in data.items()}
        return self.goal.view(data, self.desired)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Home the robot when it can (``adapter.home()``), clear a latched stop, draw a goal."""
        super().reset(seed=seed)
        self.adapter.stop()
        if hasattr(self.adapter, "home"):
            self.adapter.home()
        self.supervisor.resume()
        if self.goal is not None:
            self.desired = np.asarray(self.goal.sample(self.np_random), np.float64)
        obs = self._observation(self.adapter.observe().data)
        return obs, self._info(obs, ())

    def step(self, action: np.ndarray):
        decision = self.supervisor.supervise(action)
        self.adapter.act(decision.command)
        obs = self._observation(self.adapter.observe().data)
        reward = 0.0 if self.goal is None else float(self.goal.reward(obs["achieved_goal"], obs["desired_goal"]))
        return obs, reward, False, False, self._info(obs, decision.interventions)

    def _info(self, obs: Mapping[str, np.ndarray], interventions: tuple[str, ...]) -> dict[str, Any]:
        info: dict[str, Any] = {"interventions": interventions}
        if self.goal is not None:
            info["is_success"] = bool(self.goal.success(obs["achieved_goal"], obs["desired_goal"]))
        return info

    def compute_reward(self, achieved_goal: np.ndarray, desired_goal: np.ndarray, info: Any = None) -> np.ndarray:
        if self.goal is None:
            raise AttributeError("compute_reward needs a GoalSpec")
        return self.goal.reward(achieved_goal, desired_goal)

    def close(self) -> None:
        self.adapter.close()


class SupervisedEnv(gym.Wrapper):
    """Every action goes through ``supervisor`` before the wrapped (simulated) env sees it.

    ``info["interventions"]`` names what was done to each action and :meth:`report` sums them, so
    an evaluation tells how often the policy would have been clamped or refused on the robot.
    The supervisor's limits must be in the env's action units (e.g. ``panda_limits()``).
    """

    def __init__(self, env: gym.Env, supervisor: SafetySupervisor) -> None:
        super().__init__(env)
        space = env.action_space
        if not isinstance(space, spaces.Box) or space.shape != (supervisor.limits.action_size,):
            raise ValueError(f"env action space {space} does not match the supervisor's "
                             f"{supervisor.limits.action_size} command entries {list(supervisor.limits.keys)}")
        self.supervisor = supervisor

    def step(self, action):
        decision = self.supervisor.supervise(action)
        sent = self.supervisor.limits.join(decision.command).astype(self.env.action_space.dtype)
        obs, reward, terminated, truncated, info = self.env.step(sent)
        return obs, reward, terminated, truncated, {**info, "interventions": decision.interventions}

    def reset(self, **kwargs):
        self.supervisor.resume()  # a new episode: rate limits start from rest
        return self.env.reset(**kwargs)

    def report(self) -> dict[str, float]:
        return self.supervisor.report()
