"""Statistics researchers trust for few runs: Wilson intervals, and IQM with rliable's bootstrap CIs.

The interquartile mean and its interval follow Agarwal et al. (2021), "Deep RL at the edge of the
statistical precipice", and reproduce the ``rliable`` library exactly (version 1.2.0, not a
dependency: its import needs pandas < 3): ``scores[runs, tasks]`` holds one score per run and task
(a run's mean episode return, say), the stratified bootstrap resamples runs with replacement within
each task, and the interval is the percentile interval of 50,000 replicates.
``stratified_bootstrap_ci(scores, seed=s)`` equals ``rliable.library.get_interval_estimates`` after
``numpy.random.seed(s)``, draw for draw (``tests/agents/evaluation/test_statistics.py``).
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

REPS = 50_000
"""Bootstrap replicates, rliable's default."""


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a success rate; sensible at 0/n and n/n, unlike the normal one."""
    if trials <= 0:
        raise ValueError(f"trials must be > 0, got {trials}")
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _trimmed_means(rows: np.ndarray) -> np.ndarray:
    """IQM of each row of ``rows[N, K]``: sorted, ``int(K / 4)`` cut each side (scipy's ``trim_mean``)."""
    count = rows.shape[-1]
    cut = int(0.25 * count)
    return np.sort(rows, axis=-1)[..., cut:count - cut].mean(axis=-1)


def iqm(scores: np.ndarray) -> float:
    """Interquartile mean of all ``scores`` (flattened): rliable's ``aggregate_iqm``, the 25% trimmed mean."""
    flat = np.asarray(scores, dtype=float).ravel()
    if flat.size == 0:
        raise ValueError("iqm of no scores")
    return float(_trimmed_means(flat[None])[0])


def _replicates(resampled: np.ndarray, statistic: Callable[[np.ndarray], float]) -> np.ndarray:
    """``statistic`` of each ``resampled[R, runs, tasks]`` (IQM and mean batched, anything else looped)."""
    flat = resampled.reshape(resampled.shape[0], -1)
    if statistic is iqm:
        return _trimmed_means(flat)
    if statistic is np.mean:
        return flat.mean(axis=1)
    return np.array([statistic(sample) for sample in resampled])


def stratified_bootstrap_ci(scores: np.ndarray, statistic: Callable[[np.ndarray], float] = iqm, reps: int = REPS,
                            confidence: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """rliable's stratified percentile bootstrap interval of ``statistic`` over ``scores``.

    Args:
        scores: ``[runs, tasks]``, one score per run and task (``[runs]``: a single task).
        statistic: Aggregate of a ``[runs, tasks]`` matrix: :func:`iqm`, ``np.mean`` or any callable.
        reps: Bootstrap replicates.
        confidence: Coverage of the interval.
        seed: Seeds a ``numpy.random.RandomState`` (rliable draws from numpy's global one).
    """
    scores = np.asarray(scores, dtype=float)
    scores = scores[:, None] if scores.ndim == 1 else scores
    if scores.ndim != 2 or scores.shape[0] < 1:
        raise ValueError(f"scores must be [runs, tasks] with at least one run, got shape {scores.shape}")
    runs, tasks = scores.shape
    rng = np.random.RandomState(seed)
    stats = np.empty(reps)
    for start in range(0, reps, 10_000):  # draws in rliable's order: [runs, tasks] per replicate
        chunk = min(10_000, reps - start)
        rows = rng.choice(runs, (chunk, runs, tasks), replace=True)
        stats[start:start + chunk] = _replicates(scores[rows, np.arange(tasks)], statistic)
    alpha = 100 * (1 - confidence) / 2
    low, high = np.percentile(stats, [alpha, 100 - alpha])
    return float(low), float(high)


def bootstrap_ci(samples: np.ndarray, statistic: Callable[[np.ndarray], float] = np.mean, reps: int = 2000,
                 confidence: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over independent ``samples[N]`` (e.g. episodes).

    The one-task case of :func:`stratified_bootstrap_ci`: each sample is resampled with replacement.
    """
    return stratified_bootstrap_ci(np.asarray(samples, dtype=float).reshape(-1), statistic, reps, confidence, seed)
