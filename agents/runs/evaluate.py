"""Evaluate saved runs: per-run summaries, per-episode CSV, videos, and a comparison across runs.

The library behind ``scripts/evaluate.py``. Episodes are seeded (``seed + i``), so runs compared
here meet the same start states, and a remote worker (``--ray``) gives the same numbers.
"""
from __future__ import annotations

import csv
import dataclasses
import pathlib
from collections.abc import Callable
from typing import Any

import numpy as np

from agents.evaluation.episodes import Episode, EvalSummary, evaluate, model_policy, summarize
from agents.evaluation.media import optional_output, record_video
from agents.evaluation.statistics import REPS, bootstrap_ci, iqm, stratified_bootstrap_ci
from agents.runs.loading import LoadedRun, load_run
from agents.training.run_folder import RunFolder

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


def evaluate_loaded(loaded: LoadedRun, request: EvalRequest, out: pathlib.Path | None = None,
                    on_episode: Callable[[int], None] | None = None) -> RunReport:
    """Evaluate a loaded run; write ``episodes.csv`` (and ``eval_video.mp4``) into ``out`` if given.

    The video replays the first seeded episodes with rendering after the numbers are written, so a
    renderer that fails (no pygame, no OpenGL) costs the video only, with a warning.
    """
    env = loaded.make_env(env_kwargs=request.env_kwargs)
    policy = model_policy(loaded.model, request.deterministic, loaded.obs_transform)
    try:
        episodes, _ = evaluate(env, policy, request.n_episodes, request.seed, on_episode=on_episode)
    finally:
        env.close()
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_episodes_csv(episodes, out / "episodes.csv")
        if request.video_episodes:
            with optional_output("eval_video.mp4"):
                record_video(lambda mode: loaded.make_env(render_mode=mode, env_kwargs=request.env_kwargs), policy,
                             min(request.video_episodes, request.n_episodes), request.seed, out / "eval_video.mp4")
    return RunReport(loaded.run.path, episodes, summarize(episodes))


def evaluate_run(path: str | pathlib.Path, request: EvalRequest, out: pathlib.Path | None = None,
                 on_episode: Callable[[int], None] | None = None) -> RunReport:
    """Load the run at ``path`` and evaluate it (``on_episode(n)`` after each episode: progress)."""
    return evaluate_loaded(load_run(path, request.which), request, out, on_episode)


def write_episodes_csv(episodes: list[Episode], path: pathlib.Path) -> None:
    """One row per episode: ``episode, seed, return, length, success``."""
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["episode", "seed", "return", "length", "success"])
        for i, e in enumerate(episodes):
            writer.writerow([i, e.seed, f"{e.episode_return:.6g}", e.length,
                             "" if e.success is None else int(e.success)])


@dataclasses.dataclass(frozen=True)
class RunInfo:
    """What a run is, read from its ``config.yaml``: rows and plot labels say it, groups use it."""

    path: pathlib.Path
    env_id: str
    algo: str

    @classmethod
    def read(cls, path: str | pathlib.Path) -> RunInfo:
        config = RunFolder.open(path).read_yaml()["config"]
        return cls(pathlib.Path(path), str(config["env_id"]), str(config["algo"]))


def run_labels(infos: list[RunInfo]) -> list[str]:
    """Unique labels that say what each run is: ``sac Foresight/PandaReach-v0 <stamp>_s0``, with more
    of the path when two runs share that (the same run twice, or copies in different folders)."""
    parts = [info.path.resolve().parts for info in infos]
    for depth in range(1, max(len(p) for p in parts) + 1):
        labels = [f"{info.algo} {info.env_id} {'/'.join(p[-depth:])}" for info, p in zip(infos, parts, strict=False)]
        if len(set(labels)) == len(labels):
            return labels
    return [f"{i} {info.algo} {info.env_id} {info.path.name}" for i, info in enumerate(infos)]


def interval(low: float, high: float, digits: int = 2, percent: bool = False) -> str:
    """``[-2.60, -1.64]``: an interval that reads right whatever the signs (``-2.60--1.64`` did not)."""
    show = (lambda v: f"{v:.0%}") if percent else (lambda v: f"{v:.{digits}f}")
    return f"[{show(low)}, {show(high)}]"


def aggregate(reports: list[RunReport], infos: list[RunInfo], labels: list[str],
              reps: int = REPS) -> list[dict[str, Any]]:
    """Per (env, algorithm): IQM of the runs' mean returns, and their mean success, with rliable's
    stratified bootstrap 95% CIs (runs resampled). Runs of different envs or algorithms are never
    pooled; a group of one run has no interval across runs (its own row has the episode CI)."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, info in enumerate(infos):
        groups.setdefault((info.env_id, info.algo), []).append(i)
    out = []
    for (env_id, algo), members in groups.items():
        returns = np.array([reports[i].summary.return_mean for i in members])
        group: dict[str, Any] = {"env_id": env_id, "algo": algo, "runs": [labels[i] for i in members],
                                 "n_runs": len(members), "return_iqm": iqm(returns), "return_iqm_ci": None}
        if len(members) > 1:
            group["return_iqm_ci"] = stratified_bootstrap_ci(returns, iqm, reps)
        rates = [reports[i].summary.success_rate for i in members]
        if all(rate is not None for rate in rates):
            group["success_mean"] = float(np.mean(rates))
            group["success_ci"] = stratified_bootstrap_ci(np.array(rates), np.mean, reps) if len(members) > 1 else None
        out.append(group)
    return out


def aggregate_lines(groups: list[dict[str, Any]]) -> list[str]:
    """One line per group, and a word when the runs were of different envs or algorithms."""
    lines = []
    for g in groups:
        runs = f"{g['n_runs']} run{'s' if g['n_runs'] > 1 else ''}"
        text = f"{g['algo']} on {g['env_id']}, {runs}: return IQM {g['return_iqm']:.2f}"
        if g["return_iqm_ci"] is not None:
            text += f" (95% bootstrap CI over runs {interval(*g['return_iqm_ci'])})"
        if "success_mean" in g:
            text += f", success {g['success_mean']:.0%}"
            if g["success_ci"] is not None:
                text += f" (CI {interval(*g['success_ci'], percent=True)})"
        lines.append(text)
    if len(groups) > 1:
        lines.append(f"runs differ in env or algorithm: aggregated per (env, algorithm) in {len(groups)} groups, "
                     "not pooled")
    return lines


def comparison_table(reports: list[RunReport], infos: list[RunInfo], labels: list[str]) -> str:
    """Markdown table: one row per run, saying its env and algorithm."""
    lines = ["| run | env | algo | episodes | success (95% CI) | return mean +/- std |",
             "| --- | --- | --- | --- | --- | --- |"]
    for label, info, r in zip(labels, infos, reports, strict=False):
        s = r.summary
        success = "n/a" if s.success_rate is None else f"{s.success_rate:.0%} {interval(*s.success_ci, percent=True)}"
        lines.append(f"| {label} | {info.env_id} | {info.algo} | {s.n_episodes} | {success} | "
                     f"{s.return_mean:.2f} +/- {s.return_std:.2f} |")
    return "\n".join(lines)


def plot_comparison(reports: list[RunReport], labels: list[str], path: pathlib.Path) -> pathlib.Path:
    """Write :func:`comparison_figure` to ``path`` (PNG)."""
    from agents.evaluation.media import headless_pyplot

    fig = comparison_figure(reports, labels)
    fig.savefig(path, dpi=100)
    headless_pyplot().close(fig)
    return path


def comparison_figure(reports: list[RunReport], labels: list[str]):
    """Per-run return (and success rate, for runs whose env reports one) with 95% intervals."""
    from agents.evaluation.media import headless_pyplot

    plt = headless_pyplot()
    with_success = [i for i, r in enumerate(reports) if r.summary.success_rate is not None]
    panels = 2 if with_success else 1
    fig, axes = plt.subplots(1, panels, figsize=(6 + 4 * panels, 0.5 * len(reports) + 2.5), squeeze=False)
    y = np.arange(len(reports))
    means = [r.summary.return_mean for r in reports]
    lows, highs = zip(*(bootstrap_ci(np.array([e.episode_return for e in r.episodes]), np.mean,
                                     2000) for r in reports), strict=False)
    axes[0, 0].errorbar(means, y, xerr=[np.subtract(means, lows), np.subtract(highs, means)], fmt="o")
    axes[0, 0].set(yticks=y, yticklabels=labels, xlabel="return (mean, 95% bootstrap CI)")
    if with_success:
        ax = axes[0, 1]
        rates = [reports[i].summary.success_rate for i in with_success]
        cis = [reports[i].summary.success_ci for i in with_success]
        ax.errorbar(rates, with_success, xerr=[[r - c[0] for r, c in zip(rates, cis, strict=False)],
                                               [c[1] - r for r, c in zip(rates, cis, strict=False)]],
                    fmt="o")
        for i in sorted(set(y) - set(with_success)):  # no success signal: say so, never plot 0
            ax.text(0.5, i, "n/a (no success signal)", ha="center", va="center", color="grey")
        ax.set(yticks=y, yticklabels=[], ylim=axes[0, 0].get_ylim(), xlabel="success rate (95% Wilson CI)",
               xlim=(-0.02, 1.02))
    fig.tight_layout()
    return fig
