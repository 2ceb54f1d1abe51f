"""Sim-vs-real: replay a deployment log's commands in simulation and measure where reality went.

The simulated robot starts from the logged start state and receives the logged commands, shifted
by 0..``max_delay_steps`` control steps; the shift whose trajectory stays closest to the logged one
estimates the command latency, and the per-step distance at that shift is the divergence that
latency does not explain (friction, calibration, contacts: the sim-to-real gap).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from envs.adapters.base import Command, Observation
from envs.adapters.limits import CommandLimits


class Replayable(Protocol):
    """A simulated robot that can be put into a logged state."""

    limits: CommandLimits

    def reset_to(self, observation: Mapping[str, np.ndarray]) -> None: ...
    def stop(self) -> None: ...
    def act(self, command: Mapping[str, np.ndarray]) -> Command: ...
    def observe(self) -> Observation: ...


@dataclass(frozen=True)
class ReplayReport:
    """Attributes:
        key: the observation entry compared (e.g. the end-effector position, metres).
        divergence: [T] distance between replayed and logged ``key`` after each step, at the best delay.
        divergence_no_delay: [T] the same with commands applied as logged (delay 0).
        mean_by_delay: [D + 1] mean divergence for each candidate delay in steps.
        delay_steps: the best delay; ``latency_s`` is that times the control period.
        latency_s: estimated command latency (seconds).
    """

    key: str
    divergence: np.ndarray
    divergence_no_delay: np.ndarray
    mean_by_delay: np.ndarray
    delay_steps: int
    latency_s: float

    def summary(self) -> dict[str, float]:
        return {"key": self.key, "steps": int(self.divergence.shape[0]), "latency_s": self.latency_s,
                "delay_steps": self.delay_steps, "divergence_mean": float(self.divergence.mean()),
                "divergence_max": float(self.divergence.max()),
                "divergence_no_delay_mean": float(self.divergence_no_delay.mean())}


def _rollout(sim: Replayable, start: Mapping[str, np.ndarray], commands: list[Command], hold: Command,
             delay: int, key: str) -> np.ndarray:
    sim.stop()  # at rest, so the adapter's change limit starts from zero as the logged run did
    sim.reset_to(start)
    out = []
    for t in range(len(commands)):
        sim.act(commands[t - delay] if t >= delay else hold)
        out.append(np.asarray(sim.observe().data[key], dtype=np.float64))
    return np.stack(out)


def replay_divergence(sim: Replayable, observations: Mapping[str, np.ndarray], commands: np.ndarray,
                      period_s: float, key: str, max_delay_steps: int = 10) -> ReplayReport:
    """Replay a log and estimate latency and divergence.

    Args:
        sim: the simulated robot (same limits as the deployed one).
        observations: logged observations, key -> [T + 1, ...] (row 0 is the start state).
        commands: logged commands as sent, flat [T, A] in the limits' key order.
        period_s: control period of the log (seconds).
        key: observation entry to compare, e.g. ``"ee_position"``.
        max_delay_steps: largest latency considered, in steps.
    """
    if key not in observations:
        raise KeyError(f"observation key {key!r} not in the log; available: {sorted(observations)}")
    logged = np.asarray(observations[key], dtype=np.float64)
    steps = int(commands.shape[0])
    if logged.shape[0] != steps + 1:
        raise ValueError(f"need T + 1 = {steps + 1} observations for {steps} commands, got {logged.shape[0]}")
    start = {k: np.asarray(v[0]) for k, v in observations.items()}
    split = [sim.limits.split(c) for c in commands]
    hold = {k: (split[0][k] if f.hold == "last" else np.zeros(f.size)) for k, f in sim.limits.fields.items()}
    distances = []
    for delay in range(min(max_delay_steps, steps - 1) + 1):
        replayed = _rollout(sim, start, split, hold, delay, key)
        distances.append(np.linalg.norm((replayed - logged[1:]).reshape(steps, -1), axis=1))
    means = np.array([d.mean() for d in distances])
    best = int(np.argmin(means))
    return ReplayReport(key, distances[best], distances[0], means, best, best * period_s)
