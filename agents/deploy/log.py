"""A control-loop recorder that writes the world-models dataset format (``world_models.data``).

One control run (until a safe stop; long runs in chunks of ``max_episode_steps``) is one
episode: ``observations`` are the robot's readings [T + 1] (the first is the start state),
``actions`` are the commands actually sent [T, A] (flat, in the robot's command key order), and
``infos`` [T + 1], row k for the control step that started at reading k, hold the policy's raw
action (``policy_action`` [A], NaN where it was not a valid vector), the supervisor's
interventions as a bitmask (``interventions``, bit i = ``deploy.json``'s ``interventions[i]``),
the step start time (``time_s``), its compute latency (``compute_s``) and the reading's time on the
robot's own clock (``robot_time_s``). The last command has no following reading, so it is not a
transition and is not written (its info row is). ``deploy.json`` beside ``data/`` records the loop
rate, the robot's own seconds per command (``robot_period_s``, null for a real-time robot) and names;
:func:`replay_period` refuses a log whose rates disagree instead of replaying it at the wrong one.
"""
from __future__ import annotations

import json
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces


def _as_logged(value: Any) -> np.ndarray:
    """Readings as logged: camera images keep their integer dtype, everything else float64."""
    array = np.asarray(value)
    return array if array.dtype == np.uint8 else array.astype(np.float64)


def observation_space_like(observation: Mapping[str, np.ndarray]) -> spaces.Dict:
    """A Dict space with the keys, shapes and dtypes of one reading (uint8 images, float64 else)."""
    return spaces.Dict({k: spaces.Box(0, 255, np.shape(v), np.uint8) if np.asarray(v).dtype == np.uint8
                        else spaces.Box(-np.inf, np.inf, np.shape(v), np.float64) for k, v in observation.items()})


class DeployLog:
    """Recorder for :class:`agents.deploy.control_loop.ControlLoop` (``append`` each step, ``close`` once).

    Args:
        path: dataset folder to create (must not exist yet).
        action_low, action_high: command bounds [A], in command key order.
        command_keys: the robot's command keys and sizes, e.g. ``{"ee_delta": 3, "gripper": 1}``.
        interventions: the supervisor's intervention names (bit order of the bitmask).
        rate_hz: the control rate, for replay.
        robot_period_s: the robot's own seconds per command (``RobotAdapter.period_s``), or None.
        extra: more JSON-able facts for ``deploy.json`` (e.g. the robot's configuration).
        max_episode_steps: a long run is written in episodes of at most this many steps (the
            writer holds an episode in memory); the next starts at the reading the last ended on.
    """

    def __init__(self, path: str | pathlib.Path, action_low: np.ndarray, action_high: np.ndarray,
                 command_keys: Mapping[str, int], interventions: Sequence[str], rate_hz: float,
                 extra: Mapping[str, Any] | None = None, max_episode_steps: int = 3000,
                 robot_period_s: float | None = None) -> None:
        self.path = pathlib.Path(path)
        self.action_space = spaces.Box(np.asarray(action_low, np.float64), np.asarray(action_high, np.float64),
                                       dtype=np.float64)
        self.sidecar = {"rate_hz": rate_hz, "robot_period_s": robot_period_s, "command_keys": dict(command_keys),
                        "interventions": list(interventions), **dict(extra or {})}
        self._writer: Any = None
        self._pending: np.ndarray | None = None  # the last command, written once its outcome is read
        if max_episode_steps < 1:
            raise ValueError(f"max_episode_steps must be >= 1, got {max_episode_steps}")
        self.max_episode_steps = max_episode_steps
        self.steps = 0
        self._episode_steps = 0

    def open(self, observation: Mapping[str, np.ndarray]) -> None:
        """Create the dataset from one reading now (file creation is slow: do it before the loop)."""
        if self._writer is None:
            self._open({k: np.asarray(v) for k, v in observation.items()})

    def append(self, record: Any) -> None:
        """Record one control step (a ``StepRecord``)."""
        observation = {k: _as_logged(v) for k, v in record.observation.items()}
        if self._writer is None:
            self._open(observation)
        info = {"policy_action": np.asarray(record.action, np.float64), "interventions": int(record.interventions),
                "time_s": float(record.time_s), "compute_s": float(record.compute_s),
                "robot_time_s": float(getattr(record, "robot_time_s", np.nan))}
        if self._pending is None:
            self._start_episode(observation, info)
        else:
            self._writer.step(self._pending, observation, 0.0, False, False, info)
            self.steps += 1
            self._episode_steps += 1
            if self._episode_steps >= self.max_episode_steps:
                self._start_episode(observation, info)  # writes the full one (truncated) first
        self._pending = np.concatenate([np.asarray(record.command[k], np.float64).reshape(-1)
                                        for k in self.sidecar["command_keys"]])

    def _start_episode(self, observation: Mapping[str, np.ndarray], info: dict[str, Any]) -> None:
        self._writer.reset(observation, info)
        self._episode_steps = 0

    def new_episode(self) -> None:
        """End the current episode (e.g. after a safe stop): the next step starts a new one."""
        self._pending = None

    def _open(self, observation: Mapping[str, np.ndarray]) -> None:
        from world_models.data import EpisodeWriter

        self._writer = EpisodeWriter(self.path, observation_space_like(observation), self.action_space)
        (self.path / "deploy.json").write_text(json.dumps(self.sidecar, indent=1))

    def close(self) -> None:
        """Write the episode (marked truncated) and close the file; safe to call twice."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def read_deploy_log(path: str | pathlib.Path) -> tuple[dict[str, Any], list[Any]]:
    """(``deploy.json`` contents, the episodes) of a log written by :class:`DeployLog`."""
    from world_models.data import read_episodes

    path = pathlib.Path(path)
    if not (path / "deploy.json").is_file():
        raise ValueError(f"{path} is not a deployment log (no deploy.json); record one with deploy.py run --log {path}")
    sidecar = json.loads((path / "deploy.json").read_text())
    episodes = read_episodes(path)
    if not episodes:
        raise ValueError(f"{path} holds no complete control step")
    return sidecar, episodes


def replay_period(sidecar: Mapping[str, Any], episodes: Sequence[Any], tolerance: float = 0.2) -> float:
    """Seconds per command to replay a log at: what the robot actually did, checked against the loop.

    A robot that steps (``robot_period_s``) advanced exactly that per command whatever the loop's
    rate; a real-time one is checked against its own reading timestamps (median step). A log whose
    loop ran at another rate is refused: replayed at either rate it would misstate the latency and
    the divergence.

    Raises:
        ValueError: naming both rates and the ``--rate`` that would have matched.
    """
    loop = 1.0 / float(sidecar["rate_hz"])
    declared = sidecar.get("robot_period_s")
    if declared is not None:
        if abs(declared / loop - 1.0) > 0.01:
            raise ValueError(f"the log's control loop ran at {1 / loop:.3g} Hz but the robot advanced {declared:.3g} s "
                             f"per command ({1 / declared:.3g} Hz): its replay would misstate latency and divergence; "
                             f"record it again with deploy.py run --rate {1 / declared:.3g}")
        return float(declared)
    steps = [np.diff(np.asarray(e.infos["robot_time_s"], dtype=float)) for e in episodes if "robot_time_s" in e.infos]
    steps = [s[np.isfinite(s) & (s > 0)] for s in steps]
    measured = float(np.median(np.concatenate(steps))) if steps and sum(map(len, steps)) else None
    if measured is not None and abs(measured / loop - 1.0) > tolerance:
        raise ValueError(f"the log's control loop ran at {1 / loop:.3g} Hz but the robot's readings are "
                         f"{measured:.3g} s apart ({1 / measured:.3g} Hz): the log does not show what the robot did "
                         "at the loop's rate; record it again at the robot's rate")
    return loop
