"""When planning picks a worse plan than the scripted expert's, is the dynamics model or the value to blame?

At every decision that starts outside the goal, two H-decision plans from the same state: the one
the agent chose and the scripted expert's next H decisions. Each is replayed in the env from a
saved simulator state (restored afterwards, so the episode goes on as if nothing happened) and
scored three ways (a search that maximises the imagined score finds where the model errs in its
favour, so the chosen plan's imagined minus real score, beside the expert's, measures that):

- the env: the goal distance where the plan ends;
- imagined: the planner's own score, the reward head along the imagined latents plus the
  discounted value of the last imagined latent;
- real: the same sum on what really happened, the env's rewards plus the value of the *encoded*
  end observation.

The value here is every Q member's mean at the prior's mode action (planning uses two random
members): a fixed reading, the same for every plan. Where the env prefers the expert's plan and
the imagined score the agent's, the planner was misled. If the real score then prefers the
expert's plan, the value reads the true outcomes right and the imagined end was wrong: the
dynamics misled it. Otherwise the value misjudges the outcomes themselves.

With a dynamics ensemble (``num_dynamics`` >= 2), each plan's *spread* is what planning pays for
per unit of ``disagreement``: the members' discounted relative spread along the imagined latents.
If the spread is what gives exploited plans away, it is larger for the chosen plan than for the
expert's and it rises with the chosen plan's optimism (their correlation is printed).
"""
from __future__ import annotations

import argparse
import pathlib
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from scripts.benchmarks._latent_imagined import replay, roll_rewards


@torch.no_grad()
def value(agent: Any, latent: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
    """Every Q member's mean at the prior's mode action, ``[K]`` (the model's units)."""
    action, _ = agent.model.pi(latent, goal, deterministic=True)
    return agent.model.qs(latent, action, goal).mean(0)


@torch.no_grad()
def scores(agent: Any, obs: Any, plans: np.ndarray, ends: list[Any], rewards: np.ndarray) -> tuple[np.ndarray, ...]:
    """Imagined and real scores ``[K]`` of plans ``[K, H, A]`` from ``obs`` (env reward units), and the
    part of each that is the discounted rewards (the rest is the end's discounted value)."""
    count, horizon = plans.shape[:2]
    latent, goal = agent.encode_observation(obs)
    latent, goal = latent.expand(count, -1), goal.expand(count, -1)
    imagined_rewards, last = roll_rewards(agent, latent, goal, torch.as_tensor(plans))
    weights = agent.discount ** np.arange(horizon)
    end_weight, scale = agent.discount ** horizon, agent.config.reward_scale
    imagined_part, real_part = imagined_rewards @ weights, rewards @ weights
    imagined = imagined_part + end_weight * value(agent, last, goal).cpu().numpy() / scale
    end_latents = torch.cat([agent.encode_observation(end)[0] for end in ends])
    real = real_part + end_weight * value(agent, end_latents, goal).cpu().numpy() / scale
    return imagined, real, imagined_part, real_part


@torch.no_grad()
def spreads(agent: Any, obs: Any, plans: np.ndarray) -> np.ndarray:
    """Plans ``[K, H, A]`` from ``obs`` -> the dynamics members' discounted relative spread ``[K]`` along
    their imagined latents (what ``disagreement`` 1 subtracts from the score)."""
    latent, _ = agent.encode_observation(obs)
    latent, actions = latent.expand(len(plans), -1), torch.as_tensor(plans)
    total = torch.zeros(len(plans))
    for t in range(plans.shape[1]):
        latent, spread = agent.model.next_and_spread(latent, actions[:, t])
        total += agent.discount ** t * spread
    return total.cpu().numpy()


def trace(agent: Any, env: gym.Env, episodes: int, seed: int) -> dict[str, np.ndarray]:
    """Per decision outside the goal, for the chosen plan (column 0) and the expert's (column 1):
    goal distance at the start ``[N]``, at each plan's end ``[N, 2]``, imagined and real scores ``[N, 2]``
    and their discounted-reward parts ``[N, 2]``; with a dynamics ensemble also each plan's ``spread`` ``[N, 2]``."""
    rows: dict[str, list] = {"start": [], "end": [], "imagined": [], "real": [], "imagined_rewards": [],
                             "real_rewards": []}
    ensemble = agent.config.num_dynamics > 1
    if ensemble:
        rows["spread"] = []
    for episode in range(episodes):
        obs, info = env.reset(seed=seed + episode)
        agent.reseed(seed + episode)
        agent.planner.reset(None)
        done = False
        while not done:
            chosen = agent.planned_sequences(obs)[0].cpu().numpy()
            if not info.get("is_success", False):
                mine, expert = replay(env, agent, chosen), replay(env, agent, None)
                plans = np.stack([chosen, expert.decisions])
                ends = [mine.obs, expert.obs]
                imagined, real, imagined_rewards, real_rewards = scores(agent, obs, plans, ends,
                                                                        np.stack([mine.rewards, expert.rewards]))
                rows["start"].append(_distance(obs))
                rows["end"].append([_distance(end) for end in ends])
                rows["imagined"].append(imagined)
                rows["real"].append(real)
                rows["imagined_rewards"].append(imagined_rewards)
                rows["real_rewards"].append(real_rewards)
                if ensemble:
                    rows["spread"].append(spreads(agent, obs, plans))
            for _ in range(agent.config.action_repeat):
                obs, _, terminated, truncated, info = env.step(agent.env_actions(chosen[:1])[0])
                done = terminated or truncated
                if done:
                    break
    return {k: np.asarray(v, dtype=np.float64) for k, v in rows.items()}


def verdicts(rows: dict[str, np.ndarray], margin: float) -> dict[str, Any]:
    """Counts and fractions of :func:`trace`'s rows; plans whose ends differ by less than ``margin``
    metres of goal distance are not compared."""
    start, end, imagined, real = rows["start"], rows["end"], rows["imagined"], rows["real"]
    differ = np.abs(end[:, 0] - end[:, 1]) >= margin
    env_expert = differ & (end[:, 1] < end[:, 0])
    misled = env_expert & (imagined[:, 0] > imagined[:, 1])
    value_right = misled & (real[:, 1] > real[:, 0])
    spread = {}
    if "spread" in rows and len(start) > 1:
        optimism = imagined[:, 0] - real[:, 0]
        spread = {"spread": np.mean(rows["spread"], axis=0).tolist(),
                  "spread_optimism_corr": float(np.corrcoef(rows["spread"][:, 0], optimism)[0, 1])}
    return {**spread, "decisions": len(start),
            "farther": float(np.mean(end[:, 0] >= start + margin)) if len(start) else 0.0,
            "expert_farther": float(np.mean(end[:, 1] >= start + margin)) if len(start) else 0.0,
            "differ": int(differ.sum()), "env_prefers_expert": int(env_expert.sum()), "misled": int(misled.sum()),
            "dynamics_misled": int(value_right.sum()), "value_misjudged": int(misled.sum() - value_right.sum()),
            "optimism": np.mean(imagined - real, axis=0).tolist() if len(start) else [0.0, 0.0],
            "reward_optimism": np.mean(rows["imagined_rewards"] - rows["real_rewards"], axis=0).tolist()
            if len(start) else [0.0, 0.0]}


def blame(args: argparse.Namespace, folder: pathlib.Path, make_env: Callable[[dict[str, Any]], gym.Env],
          overrides: dict[str, Any] | None = None) -> dict[int, dict[str, Any]]:
    """Every saved ``lmpc_s<seed>.agent`` in ``folder`` on ``--final-episodes`` seeded episodes, acting with
    ``overrides`` of its acting-time hyperparameters (e.g. ``iterations``, ``pessimism``); the counts by seed."""
    from agents.planning.latent_agent import LatentPlanningAgent
    from scripts.benchmarks._latent_acting import saved_agents
    by_seed: dict[int, dict[str, Any]] = {}
    for seed, path, env_kwargs in saved_agents(folder, args.seeds):
        agent = LatentPlanningAgent.load(path, device="cpu", **(overrides or {}))
        env = make_env(env_kwargs)
        for needed in ("save_state", "scripted_action"):
            if not hasattr(env.unwrapped, needed):
                raise ValueError(f"{args.env} has no {needed}: blame replays the agent's and the scripted "
                                 "expert's plans from a saved simulator state")
        margin = getattr(getattr(env.unwrapped, "task", None), "distance_threshold", 0.05) / 5
        counts = by_seed[seed] = verdicts(trace(agent, env, args.final_episodes, 20_000), margin)
        env.close()
        print(f"  seed {seed}, {args.final_episodes} episodes, {counts['decisions']} decisions outside the goal: "
              f"the chosen plan ends >= {margin * 100:.1f} cm farther from the goal than it started in "
              f"{counts['farther']:.0%} (the expert's {counts['expert_farther']:.0%}); imagined minus real score: "
              f"chosen plan {counts['optimism'][0]:+.2f}, expert's {counts['optimism'][1]:+.2f} (of which the "
              f"rewards {counts['reward_optimism'][0]:+.2f} and {counts['reward_optimism'][1]:+.2f})")
        print(f"    plans ending >= {margin * 100:.1f} cm apart: {counts['differ']}; the expert's ends nearer in "
              f"{counts['env_prefers_expert']}; of those the imagined score preferred the chosen plan in "
              f"{counts['misled']}: the dynamics misled it in {counts['dynamics_misled']} (the value of the real "
              f"ends prefers the expert's), the value misjudged the real ends in {counts['value_misjudged']}",
              flush=True)
        if "spread" in counts:
            print(f"    dynamics members' relative spread along the plan: chosen {counts['spread'][0]:.2f}, "
                  f"expert's {counts['spread'][1]:.2f}; its correlation with the chosen plan's optimism "
                  f"{counts['spread_optimism_corr']:+.2f}", flush=True)
    return by_seed


def _distance(obs: dict[str, np.ndarray]) -> float:
    return float(np.linalg.norm(np.asarray(obs["achieved_goal"]) - np.asarray(obs["desired_goal"])))
