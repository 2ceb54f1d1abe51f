"""Fault injection around any adapter: latency, jitter, lost messages and sensor noise, seeded.

``FaultyAdapter(inner, FaultConfig(...), period_s)`` behaves like a robot behind a poor link: each
command reaches ``inner`` after ``latency_s`` +- ``jitter_s`` (rounded to control steps, since the
simulated robot advances one control period per ``act``), a lost command leaves the robot executing
the previous one, a lost observation returns the previous (stale, same timestamp) reading, and
observations get Gaussian noise. It is how the deploy path is tested against a bad day.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from envs.adapters.base import Command, Observation, RobotAdapter


@dataclass(frozen=True)
class FaultConfig:
    """Attributes:
        latency_s: mean delay from ``act`` to the robot (seconds).
        jitter_s: uniform +- spread of that delay (seconds).
        drop_command: probability a command is lost.
        drop_observation: probability a reading is lost (the previous one is returned).
        noise_std: standard deviation of Gaussian noise added to float observations (robot units).
        seed: seeds every random draw.
    """

    latency_s: float = 0.0
    jitter_s: float = 0.0
    drop_command: float = 0.0
    drop_observation: float = 0.0
    noise_std: float = 0.0
    seed: int = 0

    @property
    def active(self) -> bool:
        """True when any fault is switched on."""
        return any((self.latency_s, self.jitter_s, self.drop_command, self.drop_observation, self.noise_std))

    def __post_init__(self) -> None:
        for name in ("latency_s", "jitter_s", "noise_std"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("drop_command", "drop_observation"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be a probability in [0, 1), got {getattr(self, name)}")


class FaultyAdapter(RobotAdapter):
    """Wraps ``inner`` (its limits, its safe stop) and degrades the link to it.

    Args:
        inner: the robot; ``act`` must be called once per control period (it advances a simulator).
        faults: what to inject.
        period_s: the control period, to turn delays into steps.
    """

    def __init__(self, inner: RobotAdapter, faults: FaultConfig, period_s: float) -> None:
        super().__init__(inner.limits)
        if not period_s > 0:
            raise ValueError(f"period_s must be > 0, got {period_s}")
        self.inner, self.faults, self.period_s = inner, faults, period_s
        self.rng = np.random.default_rng(faults.seed)
        self.step_index = 0
        self.dropped = {"commands": 0, "observations": 0}
        self._queue: deque[tuple[int, Command]] = deque()
        self._current: Command | None = None
        self._last_obs: Observation | None = None

    def _connect(self) -> None:
        self.inner.connect()

    def _delay_steps(self) -> int:
        delay = self.faults.latency_s + self.rng.uniform(-self.faults.jitter_s, self.faults.jitter_s)
        return max(0, int(round(delay / self.period_s)))

    def _act(self, command: Command) -> Command:
        if self.rng.random() < self.faults.drop_command:
            self.dropped["commands"] += 1
        else:
            self._queue.append((self.step_index + self._delay_steps(), command))
        while self._queue and self._queue[0][0] <= self.step_index:  # newest due command wins
            self._current = self._queue.popleft()[1]
        if self._current is not None:
            self.inner.act(self._current)
        elif any(f.hold == "last" for f in self.limits.fields.values()):
            self.inner.stop()  # nothing has arrived yet and holding needs the robot's own position
        else:
            self.inner.act(self.limits.zero_command())  # nothing has arrived yet: zero velocity
        self.step_index += 1
        return command

    def _observe(self) -> Observation:
        if self._last_obs is not None and self.rng.random() < self.faults.drop_observation:
            self.dropped["observations"] += 1
            return self._last_obs
        obs = self.inner.observe()
        if self.faults.noise_std > 0:
            obs = Observation(obs.time_s, {k: self._noisy(v) for k, v in obs.data.items()})
        self._last_obs = obs
        return obs

    def _noisy(self, value: np.ndarray) -> np.ndarray:
        value = np.asarray(value)
        if value.dtype.kind != "f":
            return value
        return value + self.rng.normal(0.0, self.faults.noise_std, value.shape).astype(value.dtype)

    def home(self) -> None:
        """Home the inner robot (simulation) and forget commands in flight."""
        self._queue.clear()
        self._current = None
        self.inner.home()

    def reset_to(self, observation) -> None:
        self._queue.clear()
        self._current = None
        self.inner.reset_to(observation)

    def _stop(self) -> None:
        """The safe stop bypasses the faulty link: it is the robot's own (or its watchdog's) stop."""
        self._queue.clear()
        self._current = None
        self.inner.stop()

    def _close(self) -> None:
        self.inner.close()
