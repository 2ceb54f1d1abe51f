"""World-model uncertainty for the safety supervisor's gate: ensemble disagreement on the step ahead.

An ensemble trained on the data the policy was trained on disagrees where that data was thin; the
supervisor slows (``SafetyConfig.uncertainty_slow``) or holds (``uncertainty_stop``) there.
``load_gate`` turns a model file written by ``scripts/fit_world_model.py`` into that score for one
robot, checking before the robot moves that the model's states and actions fit the robot's.
"""
from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Mapping

import numpy as np
import torch
from gymnasium import spaces

from world_models.models import EnsembleDynamics, load_model
from world_models.spaces import StateLayout, space_from_json

Reading = Mapping[str, np.ndarray]
Score = Callable[[Reading, np.ndarray], float]


def ensemble_disagreement(model: EnsembleDynamics, state_of: Callable[[Reading], np.ndarray] | None = None) -> Score:
    """``(reading, action) -> disagreement`` for ``ControlLoop(uncertainty=...)``.

    Args:
        model: an ensemble with ``step(states [B, S], actions [B, A], propagation="mean")`` returning
            ``(next_states, rewards, disagreement [B])`` (``world_models.models.EnsembleDynamics``).
        state_of: reading dict -> the flat state [S] the model was trained on (default: its
            ``observation`` entry).

    Returns:
        A function giving the std across members of the predicted next state (the model's
        normalised units, mean over dimensions); NaN for an action that is not a finite vector,
        which the supervisor treats as "stop".
    """
    state_of = state_of or (lambda reading: reading["observation"])
    parameter = next(model.parameters())

    def score(reading: Reading, action: np.ndarray) -> float:
        try:
            flat = np.asarray(action, dtype=np.float32).reshape(1, -1)
        except (TypeError, ValueError):
            return float("nan")
        if not np.all(np.isfinite(flat)) or flat.shape[1] != model.action_dim:
            return float("nan")
        state = torch.as_tensor(np.asarray(state_of(reading), np.float32).reshape(1, -1), device=parameter.device)
        with torch.no_grad():
            _, _, disagreement = model.step(state, torch.as_tensor(flat, device=parameter.device), propagation="mean")
        return float(disagreement[0])

    return score


def reading_state(observation_space: spaces.Space | None,
                  achieved_goal: Callable[[Reading], np.ndarray] | None = None) -> Callable[[Reading], np.ndarray]:
    """Robot reading -> the model's flat state, following the observation space it was fit on.

    A ``Box`` (or no recorded space) is the reading's ``observation``; a goal dict is
    ``concat(observation, achieved_goal)`` as in ``world_models.spaces.StateLayout``, with the
    achieved goal computed from the reading (e.g. the end-effector position), which needs
    ``achieved_goal``.
    """
    if observation_space is None or not StateLayout(observation_space).is_goal:
        return lambda reading: np.asarray(reading["observation"], np.float32).reshape(-1)
    if achieved_goal is None:
        raise ValueError("the uncertainty model was fit on goal observations (observation + achieved_goal), "
                         "but this robot has no achieved goal to read; fit it on state observations instead")
    return lambda reading: np.concatenate([np.asarray(reading["observation"], np.float32).reshape(-1),
                                           np.asarray(achieved_goal(reading), np.float32).reshape(-1)])


class RecordedScore:
    """A score that keeps what it gave, so a run can report the disagreement it saw.

    Thresholds are in the model's normalised units: run once on the simulated robot with a high
    ``--max-disagreement``, read ``summary()`` (where the policy behaves, its p99 is a calm level),
    then gate the real run a few times above it.
    """

    def __init__(self, score: Score, keep: int = 100_000) -> None:
        self.score = score
        self.recent: deque[float] = deque(maxlen=keep)  # finite scores, for the percentiles (bounded memory)
        self.steps = self.non_finite = 0
        self.max = -np.inf

    def __call__(self, reading: Reading, action: np.ndarray) -> float:
        value = self.score(reading, action)
        self.steps += 1
        if np.isfinite(value):
            self.recent.append(value)
            self.max = max(self.max, value)
        else:
            self.non_finite += 1
        return value

    def summary(self) -> dict[str, float]:
        """Steps scored, non-finite scores (held), max, and p50 / p99 over the last ``keep`` finite ones."""
        if not self.recent:
            return {"steps": self.steps, "non_finite": self.non_finite}
        p50, p99 = np.percentile(np.asarray(self.recent), (50, 99))
        return {"steps": self.steps, "non_finite": self.non_finite, "p50": float(p50), "p99": float(p99),
                "max": float(self.max)}


def load_gate(path: str | os.PathLike, reading: Reading, action_size: int,
              achieved_goal: Callable[[Reading], np.ndarray] | None = None, device: str = "cpu") -> RecordedScore:
    """The disagreement score of the ensemble in ``path`` for a robot, checked against it first.

    Args:
        path: a state model written by ``scripts/fit_world_model.py`` (``model.pt``, tensors only).
        reading: one reading of the robot (``robot.observe().data``), to check the state size.
        action_size: the robot's flat command size [A] (the policy's action).
        achieved_goal: reading -> achieved goal [G], for models fit on goal observations.
        device: where the model runs (a small MLP: the CPU is fine at control rates).

    Raises:
        ValueError: the file is not a state ensemble, or its state / action sizes differ from the robot's.
    """
    model, checkpoint = load_model(str(path), device)
    space = space_from_json(checkpoint["observation_space"]) if "observation_space" in checkpoint else None
    state_of = reading_state(space, achieved_goal)
    state_size = state_of(reading).size
    if state_size != model.state_dim or action_size != model.action_dim:
        raise ValueError(f"uncertainty model {path} takes states [{model.state_dim}] and actions "
                         f"[{model.action_dim}], but this robot gives states [{state_size}] and takes "
                         f"commands [{action_size}]; fit it on data from this robot's env")
    return RecordedScore(ensemble_disagreement(model.eval(), state_of))
