"""Score saved agents again, on more seeded episodes than the learn section's final 20.

Twenty episodes give a success rate a 95% interval some 35 points wide, and they are not typical:
on PointNav's first twenty the scripted expert itself fails two. Here every saved agent of a
results folder (``lmpc_s<seed>.agent`` and the peer's ``<algo>_s<seed>.agent``, from
``learn --save-agents``) and, where the env has one, its scripted expert act on the same
``--final-episodes`` seeded episodes. Each row says how the agents compare with one another and
with the expert on identical episodes. The peer's file is read without unpickling
(:func:`agents.runs.sb3_load.load_sb3_policy`).

:func:`compare` pairs the lmpc rows of one folder against every row of others (variants of the
agent or of the env scored on the same episodes), reading the files rescore wrote; it acts nothing.
"""
from __future__ import annotations

import argparse
import json
import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import gymnasium as gym
import numpy as np

from agents.runs.sb3_load import ALGORITHMS, load_sb3_policy

EXPERT = "expert"


def saved_runs(folder: pathlib.Path, seeds: list[int]) -> Iterator[tuple[str, int, pathlib.Path, dict[str, Any]]]:
    """(algo, seed, agent path, its learn record) for every saved agent of ``seeds`` in ``folder``."""
    for path in sorted(folder.glob("*_s*.agent")):
        record = json.loads(path.with_suffix(".json").read_text()) if path.with_suffix(".json").exists() else {}
        if record.get("seed") in seeds and "algo" in record:
            yield record["algo"], record["seed"], path, record


def agent_policy(algo: str, path: pathlib.Path, env: gym.Env,
                 overrides: dict[str, Any] | None = None) -> Callable[[Any], np.ndarray] | None:
    """The deterministic policy of a saved agent: ``lmpc`` planning as it evaluates (with acting-time
    ``overrides`` of its hyperparameters, e.g. ``pessimism``), or an SB3 actor.

    ``None`` for an ``lmpc`` agent trained with privileged keys (it needs them hidden: ``--what acting``)
    and for a peer whose file :func:`load_sb3_policy` cannot read (``tqc`` lives in sb3-contrib).
    """
    from agents.evaluation.episodes import model_policy
    if algo == "lmpc":
        from agents.planning.latent_agent import LatentPlanningAgent
        agent = LatentPlanningAgent.load(path, device="cpu", **(overrides or {}))
        return None if agent.coding.privileged_keys else model_policy(agent)
    if algo.upper() not in ALGORITHMS:
        return None
    actor = load_sb3_policy(path, algo.upper(), env.observation_space, env.action_space)
    return lambda obs: actor.predict(obs, deterministic=True)[0]


def success_rows(policy: Callable[[Any], np.ndarray], env: gym.Env, episodes: int, seed: int) -> list[float]:
    """Per-episode success (0 / 1) of ``policy`` on episodes ``seed ...``, as the learn section scores them."""
    from agents.evaluation.episodes import evaluate
    return [float(bool(row.success)) for row in evaluate(env, policy, episodes, seed=seed)[0]]


def rescore(args: argparse.Namespace, folder: pathlib.Path, make_env: Callable[[dict[str, Any]], gym.Env],
            seed: int = 20_000, overrides: dict[str, Any] | None = None) -> dict[str, dict[int, list[float]]]:
    """Per-episode success of every saved agent (and the expert) on episodes ``seed ...``; written to
    ``rescore_<N>_s<seeds>.json`` in ``folder`` and summarised with paired bootstrap CIs.

    With ``overrides`` (acting-time hyperparameters of lmpc, ``--params``) only the lmpc agents act,
    as the row ``lmpc k=v ...`` of ``rescore_<N>_s<seeds>_<k=v ...>.json``, paired against the rows
    they were scored with as trained: what acting otherwise does with the same trained model.
    """
    from agents.evaluation.statistics import bootstrap_ci
    variant = " ".join(f"{k}={v}" for k, v in (overrides or {}).items())
    scores: dict[str, dict[int, list[float]]] = {}
    kwargs_seen: dict[str, Any] | None = None
    for algo, run_seed, path, record in saved_runs(folder, args.seeds):
        if variant and algo != "lmpc":
            continue
        env = make_env(record["env_kwargs"])
        kwargs_seen = record["env_kwargs"]
        policy = agent_policy(algo, path, env, overrides)
        row = f"{algo} {variant}".strip()
        if policy is None:
            print(f"  {path.name}: skipped (privileged keys, which --what acting hides; or an algorithm "
                  f"other than lmpc and {sorted(ALGORITHMS)})")
        else:
            scores.setdefault(row, {})[run_seed] = success_rows(policy, env, args.final_episodes, seed)
            print(f"  {row} seed {run_seed}: success {np.mean(scores[row][run_seed]):.3f} on "
                  f"{args.final_episodes} episodes", flush=True)
        env.close()
    if kwargs_seen is None:
        print(f"no saved agents of seeds {args.seeds} in {folder}: run --what learn with --save-agents first")
        return scores
    env = make_env(kwargs_seen)
    if hasattr(env.unwrapped, "scripted_action") and not variant:
        scores[EXPERT] = {0: success_rows(lambda _: env.unwrapped.scripted_action(), env, args.final_episodes, seed)}
        print(f"  the scripted expert: success {np.mean(scores[EXPERT][0]):.3f}", flush=True)
    env.close()
    suffix = "_" + variant.replace(" ", "_") if variant else ""
    name = f"rescore_{args.final_episodes}_s{'-'.join(map(str, args.seeds))}{suffix}.json"
    (folder / name).write_text(json.dumps(scores, indent=1))
    summarise(scores, bootstrap_ci)
    if variant:
        as_trained = load_rescored(folder, args.final_episodes).get("lmpc", {})
        paired(scores.get(f"lmpc {variant}", {}), as_trained, f"lmpc {variant} - lmpc as trained", bootstrap_ci)
    return scores


def summarise(scores: dict[str, dict[int, list[float]]], bootstrap_ci: Callable) -> None:
    """Each algorithm's median over seeds with the mean's CI, then lmpc paired against every other row."""
    for algo, by_seed in scores.items():
        table = np.array(list(by_seed.values()))
        low, high = bootstrap_ci(table, statistic=np.mean)
        print(f"  {algo:>6}: per seed {np.round(table.mean(1), 3).tolist()}, median {np.median(table.mean(1)):.3f}, "
              f"mean's 95% CI [{low:.3f}, {high:.3f}]")
    if "lmpc" not in scores:
        return
    for other, theirs in scores.items():
        if other != "lmpc":
            paired(scores["lmpc"], theirs, f"lmpc - {other}", bootstrap_ci, expert=other == EXPERT)


def paired(mine: dict[int, list[float]], theirs: dict[int, list[float]], label: str, bootstrap_ci: Callable,
           expert: bool = False) -> tuple[float, float, float] | None:
    """Mean of ``mine - theirs`` over the episodes of the seeds both have (the expert's one row pairs
    with every seed), with its paired bootstrap CI; printed and returned, ``None`` without a common seed."""
    seeds = [s for s in mine if expert or s in theirs]
    if not seeds:
        return None
    difference = np.concatenate([np.array(mine[s]) - np.array(theirs[min(theirs) if expert else s]) for s in seeds])
    low, high = bootstrap_ci(difference[None], statistic=np.mean)
    print(f"  paired {label} (seeds {seeds}, {len(difference)} episodes): "
          f"{difference.mean():+.3f}, 95% CI [{low:+.3f}, {high:+.3f}]")
    return float(difference.mean()), float(low), float(high)


def load_rescored(folder: pathlib.Path, episodes: int | None = None) -> dict[str, dict[int, list[float]]]:
    """Every row of ``folder``'s ``rescore_<N>_s<seeds>.json`` files (of ``N = episodes`` only, if given),
    merged by algorithm and seed."""
    pattern = f"rescore_{episodes}_s*.json" if episodes else "rescore_*.json"
    files = sorted(folder.glob(pattern))
    if not files:
        raise FileNotFoundError(f"no {pattern} in {folder}: run --what rescore first")
    rows: dict[str, dict[int, list[float]]] = {}
    for path in files:
        for algo, by_seed in json.loads(path.read_text()).items():
            rows.setdefault(algo, {}).update({int(seed): scores for seed, scores in by_seed.items()})
    return rows


def compare(folder: pathlib.Path, others: dict[str, pathlib.Path], episodes: int) -> dict[str, tuple | None]:
    """lmpc of ``folder`` paired, seed by seed on the same ``episodes`` episodes, against every
    algorithm's rows in each of ``others`` (named by their tag): what a variant gained or lost."""
    from agents.evaluation.statistics import bootstrap_ci
    mine = load_rescored(folder, episodes)
    if "lmpc" not in mine:
        raise ValueError(f"{folder}: its rescore files hold no lmpc rows (they hold {sorted(mine)})")
    results: dict[str, tuple | None] = {}
    for tag, other in others.items():
        for algo, theirs in load_rescored(other, episodes).items():
            label = f"lmpc - {algo} of {tag}"
            results[label] = paired(mine["lmpc"], theirs, label, bootstrap_ci, expert=algo == EXPERT)
    return results
