"""How a saved ``lmpc`` agent acts: each way of choosing the action on the same seeded episodes.

A trained agent's model is fixed; what MPPI returns from it (``select``: the top-scored sample, an
elite drawn by weight, or the elites' weighted mean) and the prior alone are compared episode by
episode, with paired bootstrap CIs against the select the agent trained with. For goal envs the
distance between achieved and desired goal is traced too: the final one decides success, the
closest one says whether the agent got there at all. ``info["is_success"]`` is traced at every step,
so an episode that reached the goal and then left it (success at some step, not at the last) counts
apart from one that never got there.
"""
from __future__ import annotations

import argparse
import json
import pathlib
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import gymnasium as gym
import numpy as np

from world_models.planners import MPPI_SELECT

ActingRow = dict[str, list[float]]


class GoalDistanceTrace(gym.Wrapper):
    """Records ``|achieved - desired|`` (the task's units, metres for Foresight's) and ``info["is_success"]``
    at every step."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.distances: list[float] = []
        self.successes: list[bool] = []

    def _record(self, obs: Any) -> None:
        if isinstance(obs, dict) and "achieved_goal" in obs and "desired_goal" in obs:
            self.distances.append(float(np.linalg.norm(np.asarray(obs["achieved_goal"], dtype=np.float64)
                                                       - np.asarray(obs["desired_goal"], dtype=np.float64))))

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        self.distances, self.successes = [], []
        self._record(obs)
        return obs, info

    def step(self, action: Any):
        result = self.env.step(action)
        self._record(result[0])
        self.successes.append(bool(result[4].get("is_success", False)))
        return result


def act_variants(path: pathlib.Path, episodes: int, make_env: Callable[[], gym.Env],
                 seed: int = 20_000) -> dict[str, ActingRow]:
    """Per-episode success, return and goal distances of every acting variant of the agent saved at
    ``path``, on the same seeded episodes (those of the benchmark's final evaluation by default)."""
    from agents.evaluation.episodes import model_policy, run_episode
    from agents.planning.latent_agent import LatentPlanningAgent
    variants: dict[str, Any] = {f"plan ({select})": model_policy(LatentPlanningAgent.load(path, device="cpu",
                                                                                          select=select))
                                for select in MPPI_SELECT}
    variants["prior alone"] = LatentPlanningAgent.load(path, device="cpu").predict_prior
    rows: dict[str, ActingRow] = {}
    for name, policy in variants.items():
        env = GoalDistanceTrace(make_env())
        row: ActingRow = {"success": [], "reached": [], "return": [], "final_distance": [], "closest_distance": []}
        for i in range(episodes):
            episode = run_episode(env, policy, seed + i)
            row["success"].append(float(bool(episode.success)))
            row["reached"].append(float(any(env.successes)))
            row["return"].append(episode.episode_return)
            if env.distances:
                row["final_distance"].append(env.distances[-1])
                row["closest_distance"].append(min(env.distances))
        env.close()
        rows[name] = row
        print(f"    {name:>14}: success {np.mean(row['success']):.2f} (reached the goal at some step "
              f"{np.mean(row['reached']):.2f}), return {np.mean(row['return']):.1f}"
              + (f", final distance median {np.median(row['final_distance']):.3f}, closest median "
                 f"{np.median(row['closest_distance']):.3f}" if row["final_distance"] else ""), flush=True)
    return rows


def saved_agents(folder: pathlib.Path, seeds: list[int]) -> Iterator[tuple[int, pathlib.Path, dict[str, Any]]]:
    """(seed, agent path, env kwargs of its run) for each seed whose ``lmpc_s<seed>.agent`` was saved."""
    for seed in seeds:
        path = folder / f"lmpc_s{seed}.agent"
        if not path.exists():
            print(f"{path} missing: run --what learn with --save-agents first")
            continue
        yield seed, path, json.loads(path.with_suffix(".json").read_text())["env_kwargs"]


def acting(args: argparse.Namespace, folder: pathlib.Path,
           make_env: Callable[[dict[str, Any], list[str]], gym.Env]) -> None:
    """Every saved ``lmpc_s<seed>.agent`` in ``folder``: its acting variants, paired against its own select.

    ``make_env(env_kwargs, privileged_keys)`` builds the evaluation env as the learn section did."""
    from agents.evaluation.statistics import bootstrap_ci
    from agents.planning.latent_agent import LatentPlanningAgent
    pooled: dict[str, list[np.ndarray]] = {}
    for seed, path, env_kwargs in saved_agents(folder, args.seeds):
        agent = LatentPlanningAgent.load(path, device="cpu")
        print(f"  seed {seed} (trained with select={agent.config.select}), {args.final_episodes} episodes:", flush=True)
        rows = act_variants(path, args.final_episodes,
                            partial(make_env, env_kwargs, list(agent.coding.privileged_keys)))
        path.with_name(f"acting_s{seed}.json").write_text(json.dumps(rows, indent=1))
        own = np.array(rows[f"plan ({agent.config.select})"]["success"])
        for name, row in rows.items():
            pooled.setdefault(name, []).append(np.array(row["success"]) - own)
    for name, differences in pooled.items():
        difference = np.concatenate(differences)
        low, high = bootstrap_ci(difference[None], statistic=np.mean)
        print(f"  {name:>14} - the trained select, success, pooled over seeds: {difference.mean():+.3f} "
              f"(95% CI [{low:+.3f}, {high:+.3f}])")
