"""World-model uncertainty for the safety supervisor's gate: ensemble disagreement on the step ahead.

An ensemble trained on the data the policy was trained on disagrees where that data was thin; the
supervisor slows (``SafetyConfig.uncertainty_slow``) or holds (``uncertainty_stop``) there.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np
import torch


def ensemble_disagreement(model: Any, state_of: Callable[[Mapping[str, np.ndarray]], np.ndarray] | None = None,
                          ) -> Callable[[Mapping[str, np.ndarray], np.ndarray], float]:
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

    def score(reading: Mapping[str, np.ndarray], action: np.ndarray) -> float:
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
