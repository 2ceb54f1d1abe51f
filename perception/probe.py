"""Linear probes: how much of a quantity (object position, gripper position) frozen features hold.

A ridge regression from standardised features to each target, fitted on one split and scored by
R^2 on another: 1 is perfect, 0 is no better than predicting the mean.
"""
from __future__ import annotations

from itertools import pairwise

import numpy as np
import torch
from torch import nn


@torch.no_grad()
def encode_frames(encoder: nn.Module, frames: torch.Tensor, batch_size: int = 256) -> np.ndarray:
    """``[N, C, H, W]`` uint8 frames -> ``[N, D]`` float64 features, encoder in eval mode."""
    was_training = encoder.training
    encoder.eval()
    device = next(encoder.parameters()).device
    features = [encoder(frames[i : i + batch_size].to(device)).cpu() for i in range(0, len(frames), batch_size)]
    encoder.train(was_training)
    return torch.cat(features).double().numpy()


def r2_scores(predicted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``[N, L]`` x 2 -> ``[L]`` coefficient of determination per column."""
    residual = ((target - predicted) ** 2).sum(axis=0)
    total = ((target - target.mean(axis=0)) ** 2).sum(axis=0)
    return 1.0 - residual / np.maximum(total, 1e-12)


RIDGES = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)


def _fit_ridge(x: np.ndarray, y: np.ndarray, ridge: float) -> np.ndarray:
    """Weights ``[D + 1, L]`` of ridge regression with an unpenalised bias (``x`` is ``[N, D + 1]``)."""
    penalty = ridge * len(x) * np.eye(x.shape[1])
    penalty[-1, -1] = 0.0
    return np.linalg.solve(x.T @ x + penalty, x.T @ y)


def _choose_ridge(x: np.ndarray, y: np.ndarray, folds: int = 5) -> float:
    """The penalty in ``RIDGES`` with the best mean R^2 over contiguous folds of the train split."""
    edges = np.linspace(0, len(x), folds + 1).astype(int)

    def score(ridge: float) -> float:
        scores = []
        for lo, hi in pairwise(edges):
            keep = np.r_[0:lo, hi : len(x)]
            weights = _fit_ridge(x[keep], y[keep], ridge)
            scores.append(r2_scores(x[lo:hi] @ weights, y[lo:hi]).mean())
        return float(np.mean(scores))

    return max(RIDGES, key=score)


def linear_probe(
    train_features: np.ndarray,
    train_targets: np.ndarray,
    test_features: np.ndarray,
    test_targets: np.ndarray,
    ridge: float | None = None,
) -> np.ndarray:
    """Fit ridge regression on the train split; return ``[L]`` test R^2 per target column.

    Args:
        train_features: ``[N, D]``.
        train_targets: ``[N, L]``.
        test_features: ``[M, D]``.
        test_targets: ``[M, L]``.
        ridge: L2 penalty on standardised features (per sample); ``None`` picks one from
            ``RIDGES`` by 5-fold cross-validation on the train split.
    """
    if len(train_features) != len(train_targets) or len(test_features) != len(test_targets):
        raise ValueError("features and targets must have the same number of rows in each split")
    mean, std = train_features.mean(axis=0), train_features.std(axis=0)
    std = np.where(std > 1e-6, std, 1.0)  # constant (dead) features are left unscaled
    x = np.c_[(train_features - mean) / std, np.ones(len(train_features))]
    x_test = np.c_[(test_features - mean) / std, np.ones(len(test_features))]
    ridge = _choose_ridge(x, train_targets) if ridge is None else ridge
    return r2_scores(x_test @ _fit_ridge(x, train_targets, ridge), test_targets)
