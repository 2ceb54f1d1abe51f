"""Fit a forward model on a dataset and report it honestly (what ``scripts/fit_world_model.py`` prints).

Episodes are split, not transitions: the test episodes are never seen in training, so k-step
errors measure generalisation along real trajectories.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from world_models.data import Episode
from world_models.evaluation import (
    ErrorFn,
    calibration,
    compare_to_baselines,
    episode_windows,
    k_step_errors,
    predict_windows,
    verdict,
)
from world_models.fitting import FitConfig, fit
from world_models.models import EnsembleDynamics, ModelConfig
from world_models.replay import Transitions, transitions_from_episodes
from world_models.spaces import StateLayout


def split_episodes(episodes: list[Episode], test_fraction: float, seed: int) -> tuple[list[Episode], list[Episode]]:
    """Random train/test split by episode (at least one of each)."""
    if len(episodes) < 2:
        raise ValueError(f"need at least 2 episodes to hold some out for testing, got {len(episodes)}")
    order = np.random.default_rng(seed).permutation(len(episodes))
    count = min(max(1, int(round(len(episodes) * test_fraction))), len(episodes) - 1)
    return [episodes[i] for i in order[count:]], [episodes[i] for i in order[:count]]


def fit_and_report(episodes: list[Episode], layout: StateLayout, model_config: ModelConfig = ModelConfig(),
                   fit_config: FitConfig = FitConfig(), ks: tuple[int, ...] = (1, 5, 10, 20),
                   test_fraction: float = 0.2, seed: int = 0, device: str | torch.device = "cpu",
                   groups: dict[str, Callable[[Transitions], ErrorFn]] | None = None,
                   on_epoch: Callable[[int], None] | None = None) -> tuple[EnsembleDynamics, dict[str, Any]]:
    """Train on some episodes, then k-step errors vs copy-last and linear, and calibration, on the rest.

    ``groups`` adds named error tables (``report["k_step_rmse_groups"]``): each value builds an
    :data:`~world_models.evaluation.ErrorFn` from the training transitions (for their std). ``on_epoch``
    is called with the epochs done after each (a progress bar)."""
    train_episodes, test_episodes = split_episodes(episodes, test_fraction, seed)
    train, test = transitions_from_episodes(train_episodes, layout), transitions_from_episodes(test_episodes, layout)
    torch.manual_seed(seed)
    model = EnsembleDynamics(layout.state_dim, train.actions.shape[1], model_config).to(device)
    history = fit(model, train, fit_config, seed=seed, on_epoch=on_epoch)
    horizon = min(max(ks), min(len(e) for e in test_episodes))
    windows = episode_windows(test_episodes, layout, horizon)
    errors = compare_to_baselines(model, train, windows, ks)
    report = {
        "train_transitions": len(train), "test_transitions": len(test), "epochs": len(history.train_loss),
        "holdout_mse": history.holdout_mse[history.best_epoch], "k_step_rmse": errors, "verdict": verdict(errors),
        "calibration": [{"predicted_std": p, "actual_rmse": a} for p, a in calibration(model, test)],
    }
    if layout.is_goal:  # the part the planner's reward reads: the achieved goal (e.g. the object position)
        goal_dims = slice(layout.state_dim - layout.goal_dim, layout.state_dim)
        report["k_step_rmse_achieved_goal"] = compare_to_baselines(model, train, windows, ks, goal_dims,
                                                                   normalise=False)
        report["verdict_achieved_goal"] = verdict(report["k_step_rmse_achieved_goal"])
    if groups:
        predictions = predict_windows(model, train, windows)
        report["k_step_rmse_groups"] = {name: k_step_errors(predictions, windows, ks, make(train))
                                        for name, make in groups.items()}
    return model, report


def _error_table(title: str, errors: dict[str, dict[int, float]]) -> list[str]:
    lines = [title, f"{'k':>4} " + " ".join(f"{name:>10}" for name in errors)]
    for k in errors["model"]:
        lines.append(f"{k:>4} " + " ".join(f"{errors[name][k]:>10.4f}" for name in errors))
    return lines


def format_report(report: dict[str, Any]) -> str:
    """Human-readable table of a :func:`fit_and_report` result."""
    lines = [f"trained on {report['train_transitions']} transitions, {report['epochs']} epochs; "
             f"tested on {report['test_transitions']} held-out transitions"]
    lines += _error_table("k-step open-loop RMSE, all state dims (units of state std):", report["k_step_rmse"])
    lines.append(report["verdict"])
    if "k_step_rmse_achieved_goal" in report:
        lines += _error_table("k-step open-loop RMSE, achieved-goal dims (the env's units, e.g. metres):",
                              report["k_step_rmse_achieved_goal"])
        lines.append(report["verdict_achieved_goal"])
    for name, errors in report.get("k_step_rmse_groups", {}).items():
        lines += _error_table(f"k-step open-loop RMSE, {name}:", errors)
    lines.append("calibration (predicted std vs actual one-step RMSE, normalised):")
    lines += [f"  {c['predicted_std']:.4f} vs {c['actual_rmse']:.4f}" for c in report["calibration"]]
    return "\n".join(lines)
