"""A control-loop recorder that writes the world-models dataset format (``world_models.data``).

One control run (until a safe stop) is one episode: ``observations`` are the robot's readings [T + 1] (the first is
the start state), ``actions`` are the commands actually sent [T, A] (flat, in the robot's command
key order), and ``infos`` hold per step the policy's raw action (``policy_action`` [T, A], NaN
where it was not a valid vector), the supervisor's interventions as a bitmask (``interventions``
[T], bit i = ``deploy.json``'s ``interventions[i]``), the step start time (``time_s``) and the
compute latency (``compute_s``). The last command has no following reading, so it is not a
transition and is not written. ``deploy.json`` beside ``data/`` records the rate and names.
"""
from __future__ import annotations

import json
import pathlib
from typing import Any, Mapping, Sequence

import numpy as np
from gymnasium import spaces


def observation_space_like(observation: Mapping[str, np.ndarray]) -> spaces.Dict:
    """An unbounded Dict space with the keys, shapes and float dtypes of one reading."""
    return spaces.Dict({k: spaces.Box(-np.inf, np.inf, np.shape(v), np.float64) for k, v in observation.items()})


class DeployLog:
    """Recorder for :class:`agents.control_loop.ControlLoop` (``append`` each step, ``close`` once).

    Args:
        path: dataset folder to create (must not exist yet).
        action_low, action_high: command bounds [A], in command key order.
        command_keys: the robot's command keys and sizes, e.g. ``{"ee_delta": 3, "gripper": 1}``.
        interventions: the supervisor's intervention names (bit order of the bitmask).
        rate_hz: the control rate, for replay.
        extra: more JSON-able facts for ``deploy.json`` (e.g. the robot's configuration).
    """

    def __init__(self, path: str | pathlib.Path, action_low: np.ndarray, action_high: np.ndarray,
                 command_keys: Mapping[str, int], interventions: Sequence[str], rate_hz: float,
                 extra: Mapping[str, Any] | None = None) -> None:
        self.path = pathlib.Path(path)
        self.action_space = spaces.Box(np.asarray(action_low, np.float64), np.asarray(action_high, np.float64),
                                       dtype=np.float64)
        self.sidecar = {"rate_hz": rate_hz, "command_keys": dict(command_keys),
                        "interventions": list(interventions), **dict(extra or {})}
        self._writer: Any = None
        self._pending: tuple[np.ndarray, dict[str, Any]] | None = None
        self.steps = 0

    def append(self, record: Any) -> None:
        """Record one control step (a ``StepRecord``)."""
        observation = {k: np.asarray(v, dtype=np.float64) for k, v in record.observation.items()}
        if self._writer is None:
            self._open(observation)
        if self._pending is None:
            self._writer.reset(observation)
        else:
            self._writer.step(self._pending[0], observation, 0.0, False, False, self._pending[1])
            self.steps += 1
        command = np.concatenate([np.asarray(record.command[k], np.float64).reshape(-1)
                                  for k in self.sidecar["command_keys"]])
        info = {"policy_action": np.asarray(record.action, np.float64), "interventions": int(record.interventions),
                "time_s": float(record.time_s), "compute_s": float(record.compute_s)}
        self._pending = (command, info)

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
    sidecar = json.loads((path / "deploy.json").read_text())
    episodes = read_episodes(path)
    if not episodes:
        raise ValueError(f"{path} holds no complete control step")
    return sidecar, episodes
