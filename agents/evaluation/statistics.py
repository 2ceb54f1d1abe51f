"""Statistics researchers trust for few runs: Wilson intervals and IQM with bootstrap CIs.

The interquartile mean and its stratified bootstrap interval follow Agarwal et al. (2021),
"Deep RL at the edge of the statistical precipice", as the ``rliable`` library computes them.
"""
from __future__ import annotations

import math

import numpy as np


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a success rate; sensible at 0/n and n/n, unlike the normal one."""
    if trials <= 0:
        raise ValueError(f"trials must be > 0, got {trials}")
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def iqm(scores: np.ndarray) -> float:
    """Interquartile mean: the mean of the middle 50% of ``scores`` (flattened), trimming 25% each side."""
    flat = np.sort(np.asarray(scores, dtype=float).ravel())
    n = len(flat)
    if n == 0:
        raise ValueError("iqm of no scores")
    low, high = int(math.floor(0.25 * n)), int(math.ceil(0.75 * n))
    return float(flat[low:high].mean()) if high > low else float(flat.mean())


def bootstrap_ci(
    scores: np.ndarray, statistic=iqm, reps: int = 2000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Stratified percentile bootstrap of ``statistic`` over ``scores`` ``[runs, episodes]``.

    Runs are resampled with replacement, and within each resampled run its episodes too (rliable
    resamples runs per task; we treat each run's episodes as its stratum).
    """
    scores = np.atleast_2d(np.asarray(scores, dtype=float))
    rng = np.random.default_rng(seed)
    n_runs, n_eps = scores.shape
    stats = np.empty(reps)
    for r in range(reps):
        runs = scores[rng.integers(0, n_runs, n_runs)]
        episodes = rng.integers(0, n_eps, (n_runs, n_eps))
        stats[r] = statistic(np.take_along_axis(runs, episodes, axis=1))
    alpha = (1 - confidence) / 2
    return float(np.quantile(stats, alpha)), float(np.quantile(stats, 1 - alpha))
