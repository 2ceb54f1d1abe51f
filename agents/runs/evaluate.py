"""Evaluate saved runs: per-run summaries, per-episode CSV, videos, and a comparison across runs.

The library behind ``scripts/evaluate.py``. Episodes are seeded (``seed + i``), so runs compared
here meet the same start states, and a remote worker (``--ray``) gives the same numbers.
"""
from __future__ import annotations

import csv
import dataclasses
import pathlib
from typing import Any

import numpy as np

from agents.evaluation.episodes import Episode, EvalSummary, evaluate, model_policy, summarize
from agents.evaluation.media import write_mp4
from agents.evaluation.statistics import bootstrap_ci, iqm
from agents.runs.loading import LoadedRun, load_run

EVAL_SEED = 1_000_000  # default start seeds, away from training (seed..) and in-training eval seeds


@dataclasses.dataclass(frozen=True)
class EvalRequest:
    """How to evaluate: episodes, seeds, determinism, env overrides, videos."""

    n_episodes: int = 50
    seed: int = EVAL_SEED
    deterministic: bool = True
    env_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    video_episodes: int = 0
    which: str = "best"
    trusted_wrappers: tuple[str, ...] = ()
    """``env_wrapper`` paths the user trusted (``--trust-wrapper``); Ray workers trust them too."""


@dataclasses.dataclass(frozen=True)
class RunReport:
    """One run's evaluation."""

    path: pathlib.Path
    episodes: list[Episode]
    summary: EvalSummary


def evaluate_loaded(loaded: LoadedRun, request: EvalRequest, out: pathlib.Path | None = None) -> RunReport:
    """Evaluate a loaded run; write ``episodes.csv`` (and ``eval_video.mp4``) into ``out`` if given."""
    render = "rgb_array" if request.video_episodes and out is not None else None
    env = loaded.make_env(render_mode=render, env_kwargs=request.env_kwargs)
    policy = model_policy(loaded.model, request.deterministic, loaded.obs_transform)
    frames_of_first = request.video_episodes if render else 0
    episodes, frames = evaluate(env, policy, request.n_episodes, request.seed, frames_of_first)
    env.close()
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_episodes_csv(episodes, out / "episodes.csv")
        if frames:
            write_mp4(frames, out / "eval_video.mp4", fps=int(env.metadata.get("render_fps") or 25))
    return RunReport(loaded.run.path, episodes, summarize(episodes))


def evaluate_run(path: str | pathlib.Path, request: EvalRequest, out: pathlib.Path | None = None) -> RunReport:
    """Load the run at ``path`` and evaluate it."""
    return evaluate_loaded(load_run(path, request.which), request, out)


def write_episodes_csv(episodes: list[Episode], path: pathlib.Path) -> None:
    """One row per episode: ``episode, seed, return, length, success``."""
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["episode", "seed", "return", "length", "success"])
        for i, e in enumerate(episodes):
            writer.writerow([i, e.seed, f"{e.episode_return:.6g}", e.length,
                             "" if e.success is None else int(e.success)])


def aggregate(reports: list[RunReport], reps: int = 2000) -> dict[str, Any]:
    """IQM of returns (and success) across runs with stratified bootstrap 95% CIs (rliable-style)."""
    returns = np.array([[e.episode_return for e in r.episodes] for r in reports])
    out = {"n_runs": len(reports), "return_iqm": iqm(returns), "return_iqm_ci": bootstrap_ci(returns, reps=reps)}
    if all(r.summary.success_rate is not None for r in reports):
        success = np.array([[float(e.success) for e in r.episodes] for r in reports])
        out |= {"success_mean": float(success.mean()), "success_ci": bootstrap_ci(success, np.mean, reps=reps)}
    return out


def comparison_table(reports: list[RunReport], labels: list[str]) -> str:
    """Markdown table: one row per run."""
    lines = ["| run | episodes | success (95% CI) | return mean +/- std |", "| --- | --- | --- | --- |"]
    for label, r in zip(labels, reports, strict=True):
        s = r.summary
        success = ("n/a" if s.success_rate is None
                   else f"{s.success_rate:.0%} ({s.success_ci[0]:.0%}-{s.success_ci[1]:.0%})")
        lines.append(f"| {label} | {s.n_episodes} | {success} | {s.return_mean:.2f} +/- {s.return_std:.2f} |")
    return "\n".join(lines)


def run_labels(paths: list[str]) -> list[str]:
    """Short unique labels: the shortest path tails (``sac/20260101-000000_s0``) that differ."""
    parts = [pathlib.Path(p).resolve().parts for p in paths]
    for depth in range(1, max(len(p) for p in parts) + 1):
        labels = ["_".join(p[-depth:]) for p in parts]
        if len(set(labels)) == len(labels):
            return labels
    return [f"{i}_{pathlib.Path(p).name}" for i, p in enumerate(paths)]


def aggregate_line(agg: dict[str, Any]) -> str:
    low, high = agg["return_iqm_ci"]
    text = (f"aggregate over {agg['n_runs']} runs: return IQM {agg['return_iqm']:.2f} "
            f"(95% bootstrap CI {low:.2f}-{high:.2f})")
    if "success_mean" in agg:
        s_low, s_high = agg["success_ci"]
        text += f", success {agg['success_mean']:.0%} (CI {s_low:.0%}-{s_high:.0%})"
    return text


def plot_comparison(reports: list[RunReport], labels: list[str], path: pathlib.Path) -> pathlib.Path:
    """Per-run success rate and return with 95% intervals, side by side."""
    from agents.evaluation.media import headless_pyplot

    plt = headless_pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.5 * len(reports) + 2.5))
    y = np.arange(len(reports))
    means = [r.summary.return_mean for r in reports]
    lows, highs = zip(*(bootstrap_ci(np.array([[e.episode_return for e in r.episodes]]), np.mean,
                                     500) for r in reports), strict=True)
    axes[0].errorbar(means, y, xerr=[np.subtract(means, lows), np.subtract(highs, means)], fmt="o")
    axes[0].set(yticks=y, yticklabels=labels, xlabel="return (mean, 95% bootstrap CI)")
    rates = [r.summary.success_rate or 0.0 for r in reports]
    cis = [r.summary.success_ci or (0.0, 0.0) for r in reports]
    below = [r - c[0] for r, c in zip(rates, cis, strict=True)]
    above = [c[1] - r for r, c in zip(rates, cis, strict=True)]
    axes[1].errorbar(rates, y, xerr=[below, above], fmt="o")
    axes[1].set(yticks=y, yticklabels=[], xlabel="success rate (95% Wilson CI)", xlim=(-0.02, 1.02))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
