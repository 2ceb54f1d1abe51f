"""PointNav's rescored episodes split by whether a pillar stands across the straight way to the goal.

The base starts at the origin; an episode where a pillar's centre lies close to the segment from
there to the goal needs a detour, one where every pillar is well off it does not. Reading the
``rescore_*.json`` files that ``--what rescore`` wrote, this rebuilds each episode's layout (only
``reset``, no agent) and prints every agent's success on the blocked and the clear episodes apart:
it says whether the gap left to the expert is about steering round pillars or about the rest.
"""
from __future__ import annotations

import json
import pathlib
from collections.abc import Callable

import gymnasium as gym
import numpy as np

BANDS = ((0.0, 0.3), (0.3, 0.6), (0.6, np.inf))  # metres from a pillar's centre to the straight path


def path_clearance(goal: np.ndarray, centres: np.ndarray) -> float:
    """Metres from the nearest centre ``[n, 2]`` to the segment from the origin to ``goal`` ``[2]``."""
    along = np.clip(centres @ goal / (goal @ goal), 0.0, 1.0)
    return float(np.linalg.norm(centres - along[:, None] * goal, axis=1).min())


def clearances(env: gym.Env, episodes: int, seed: int = 20_000) -> np.ndarray:
    """Path clearance ``[episodes]`` (metres) of the episodes ``reset(seed=seed + i)`` draws."""
    task = env.unwrapped.task
    if not hasattr(task, "obstacle_xy"):
        raise ValueError(f"{env.spec.id if env.spec else env}: no obstacle_xy on its task; this split is for "
                         "Foresight/MobilePointNav-v0")
    values = []
    for i in range(episodes):
        env.reset(seed=seed + i)
        values.append(path_clearance(np.asarray(task.goal, dtype=float), task.obstacle_xy))
    return np.array(values)


def run_env_kwargs(folder: pathlib.Path) -> dict:
    """The env kwargs the learn section recorded for the runs in ``folder`` (``{}`` if none did)."""
    for path in sorted(folder.glob("*_s*.json")):
        record = json.loads(path.read_text())
        if isinstance(record, dict) and "env_kwargs" in record:
            return record["env_kwargs"]
    return {}


def detours(folder: pathlib.Path, make_env: Callable[[dict], gym.Env]) -> dict[str, dict[str, float]]:
    """Success by clearance band of every agent in ``folder``'s ``rescore_*.json`` files."""
    from scripts.benchmarks._latent_rescore import load_rescored
    rows = load_rescored(folder)
    episodes = min(len(scores) for by_seed in rows.values() for scores in by_seed.values())
    env = make_env(run_env_kwargs(folder))
    clearance = clearances(env, episodes)
    env.close()
    table: dict[str, dict[str, float]] = {}
    for algo, by_seed in rows.items():
        success = np.array([scores[:episodes] for scores in by_seed.values()])  # [seeds, episodes]
        for low, high in BANDS:
            chosen = (clearance >= low) & (clearance < high)
            band = f"{low:.1f}-{high:.1f} m"
            table.setdefault(algo, {})[band] = float(success[:, chosen].mean()) if chosen.any() else float("nan")
            print(f"  {algo:>6}, pillar centre {band} from the straight path ({int(chosen.sum())} episodes): "
                  f"success {table[algo][band]:.2f} over seeds {sorted(by_seed)}")
    return table
