"""Honest model diagnostics: k-step open-loop error against copy-last and a linear model, calibration.

A model that cannot beat "copy the last state" is not a model; the report says so plainly.
Errors are RMSE in units of each state dimension's standard deviation (floored at the model's
``std_floor``), so dimensions in metres and radians weigh alike; Euler angles are compared as
rotation features (a wrap by 2 pi is no error), and :func:`rotation_error` gives orientations'
geodesic angle.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch

from world_models.data import Episode
from world_models.models import EnsembleDynamics, floored_std
from world_models.replay import Transitions
from world_models.spaces import StateLayout
from world_models.state_coding import StateCoding, rotation_angle

RolloutFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``(start_states[B, S], actions[B, H, A]) -> predicted states[B, H, S]``."""


class Windows(NamedTuple):
    """Open-loop test cases cut from episodes."""

    start: torch.Tensor
    """``[W, S]``."""
    actions: torch.Tensor
    """``[W, K, A]``."""
    truth: torch.Tensor
    """``[W, K, S]`` real states after each action."""


def episode_windows(episodes: list[Episode], layout: StateLayout, horizon: int, stride: int = 1) -> Windows:
    """Every ``horizon``-step window (every ``stride`` steps) of every long-enough episode."""
    starts, actions, truths = [], [], []
    for episode in episodes:
        states = layout.state(episode.observations)
        acts = episode.actions.reshape(len(episode), -1).astype(np.float32)
        for t in range(0, len(episode) - horizon + 1, stride):
            if episode.terminations[t:t + horizon - 1].any():
                break  # a termination inside the window would make the real continuation meaningless
            starts.append(states[t])
            actions.append(acts[t:t + horizon])
            truths.append(states[t + 1:t + horizon + 1])
    if not starts:
        raise ValueError(f"no episode is at least {horizon} steps long; collect longer episodes or lower k")
    return Windows(*(torch.as_tensor(np.stack(x)) for x in (starts, actions, truths)))


def copy_last(start: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Baseline: nothing moves, ``[B, S] -> [B, H, S]``."""
    return start.unsqueeze(1).expand(-1, actions.shape[1], -1)


class LinearModel:
    """Baseline: ``delta = [features(state), action, 1] @ W``, fit by least squares.

    ``coding`` (a model's :class:`StateCoding`) gives the baseline the same angle-free features
    and targets the model gets, so the comparison is of predictors, not of state representations."""

    def __init__(self, data: Transitions, coding: StateCoding | None = None) -> None:
        self.coding = coding or StateCoding(data.states.shape[1])
        inputs = torch.cat([self.coding.features(data.states), data.actions, torch.ones(len(data), 1)], dim=-1)
        targets = self.coding.delta(data.states, data.next_states).double()
        self.weights = torch.linalg.lstsq(inputs.double(), targets, driver="gelsd").solution.float()

    def __call__(self, start: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        states, state = [], start
        for t in range(actions.shape[1]):
            features = self.coding.features(state)
            inputs = torch.cat([features, actions[:, t], torch.ones(len(state), 1)], dim=-1)
            state = self.coding.apply(state, inputs @ self.weights, features)
            states.append(state)
        return torch.stack(states, 1)


def model_rollout_fn(model: EnsembleDynamics) -> RolloutFn:
    """A model's mean open-loop prediction (all members averaged) as a :data:`RolloutFn`."""
    device = next(model.parameters()).device

    @torch.no_grad()
    def rollout(start: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return model.rollout(start.to(device), actions.to(device), propagation="mean").states.cpu()
    return rollout


def predict_windows(model: EnsembleDynamics, train: Transitions, windows: Windows) -> dict[str, torch.Tensor]:
    """Open-loop predictions ``[W, K, S]`` of the model, copy-last and a linear model fit on ``train``."""
    predictors = {"model": model_rollout_fn(model), "copy_last": copy_last, "linear": LinearModel(train, model.coding)}
    return {name: fn(windows.start, windows.actions) for name, fn in predictors.items()}


ErrorFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``(predicted[W, K, S], truth[W, K, S]) -> errors[W, K, ...]`` whose RMS over all but K is reported."""


def k_step_errors(predictions: dict[str, torch.Tensor], windows: Windows, ks: tuple[int, ...],
                  error_fn: ErrorFn) -> dict[str, dict[int, float]]:
    """RMSE after k steps, for each k and each predictor."""
    ks = tuple(k for k in ks if k <= windows.actions.shape[1])
    out = {}
    for name, predicted in predictions.items():
        error = error_fn(predicted, windows.truth)
        out[name] = {k: float(error[:, k - 1].pow(2).mean().sqrt()) for k in ks}
    return out


def scaled_error(dims: slice | list[int] = slice(None), scale: torch.Tensor | float = 1.0,
                 coding: StateCoding | None = None) -> ErrorFn:
    """Errors of state ``dims`` (of the coded features if ``coding`` is given) divided by ``scale``."""
    def error(predicted: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
        if coding is not None:
            predicted, truth = coding.features(predicted), coding.features(truth)
        return ((predicted - truth) / scale)[..., dims]
    return error


def rotation_error(euler_dim: int) -> ErrorFn:
    """Geodesic angle (radians) between predicted and true orientations of the Euler triple at ``euler_dim``."""
    def error(predicted: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
        window = slice(euler_dim, euler_dim + 3)
        return rotation_angle(predicted[..., window], truth[..., window])
    return error


def compare_to_baselines(model: EnsembleDynamics, train: Transitions, windows: Windows,
                         ks: tuple[int, ...] = (1, 5, 10, 20), dims: slice = slice(None),
                         normalise: bool = True) -> dict[str, dict[int, float]]:
    """k-step open-loop errors over ``dims`` of the model, copy-last and a linear model fit on ``train``.

    ``normalise`` measures the model's features (Euler triples as rotation features) in units of
    their std in ``train``, floored at the model's ``std_floor``; without it errors are of the raw
    state ``dims`` in the state's own units (metres for goal positions)."""
    predictions = predict_windows(model, train, windows)
    if normalise:
        coding = model.coding
        error_fn = scaled_error(dims, floored_std(coding.features(train.states), model.config.std_floor), coding)
    else:
        error_fn = scaled_error(dims)
    return k_step_errors(predictions, windows, ks, error_fn)


def verdict(errors: dict[str, dict[int, float]]) -> str:
    """One line: does the model beat both baselines at every k?"""
    lines = []
    for k, err in errors["model"].items():
        best_baseline = min(errors["copy_last"][k], errors["linear"][k])
        lines.append(f"k={k}: model/copy-last = {err / max(errors['copy_last'][k], 1e-12):.3f}")
        if err >= best_baseline:
            return f"model does NOT beat the best baseline at k={k} ({err:.4f} vs {best_baseline:.4f})"
    return "model beats copy-last and linear at every k (" + "; ".join(lines) + ")"


@torch.no_grad()
def calibration(model: EnsembleDynamics, data: Transitions, bins: int = 5) -> list[tuple[float, float]]:
    """Predicted vs actual one-step error, ``bins`` quantile bins of predicted std (normalised units).

    The predicted std combines the members' own variance (aleatoric) and their disagreement
    (epistemic). A calibrated model gives pairs close to each other.
    """
    device = next(model.parameters()).device
    data = Transitions(*(x.to(device) for x in data))
    mean, logvar = model(data.states.expand(model.members, -1, -1), data.actions.expand(model.members, -1, -1))
    aleatoric = logvar.exp().mean(0) if logvar is not None else torch.zeros_like(mean[0])
    variance = aleatoric + mean.var(0, unbiased=False)
    target = model.target_norm.normalize(model.targets(data.states, data.next_states, data.rewards))
    predicted = variance.mean(-1).sqrt()
    actual = (mean.mean(0) - target).pow(2).mean(-1)
    order = predicted.argsort()
    return [(float(predicted[rows].mean()), float(actual[rows].mean().sqrt()))
            for rows in order.chunk(bins) if len(rows)]
