"""What a saved ``lmpc`` agent's reward and Q heads say along its env's scripted-expert episodes.

Planning needs Q to rank actions, not only states: at each expert step this compares the Q ensemble's
mean for the expert's action, zero action, the prior's action and the expert's action reversed,
binned by goal distance, and the reward head where the env paid its top reward and elsewhere
(with sparse rewards: inside the success radius and outside it) and in each distance bin (how sharp
its success radius is). With ``action_repeat`` k the head predicts a decision's k steps.
``--eval-episodes`` sets the number of expert episodes.
"""
from __future__ import annotations

import argparse
import pathlib
from collections.abc import Callable
from functools import partial

import gymnasium as gym
import numpy as np
import torch

RADIUS_BINS = (0.0, 1.0, 2.0, 10 / 3, 5.0, np.inf)  # goal-distance bins in success radii (PointNav: 0.3 ... 1.5 m)


def distance_bins(env: gym.Env) -> tuple[float, ...]:
    """Goal-distance bin edges in metres: :data:`RADIUS_BINS` times the task's success radius (1 m without one)."""
    radius = getattr(getattr(env.unwrapped, "task", None), "distance_threshold", 1.0)
    return tuple(radius * edge for edge in RADIUS_BINS)


def probe(path: pathlib.Path, make_env: Callable[[], gym.Env], episodes: int, seed: int = 20_000) -> np.ndarray:
    """Rows ``[steps, 7]``: goal distance, env reward, predicted reward, Q(expert), Q(zero), Q(prior), Q(-expert)."""
    from agents.planning.latent_agent import LatentPlanningAgent
    agent = LatentPlanningAgent.load(path, device="cpu")
    env, rows = make_env(), []
    for episode in range(episodes):
        obs, done = env.reset(seed=seed + episode)[0], False
        while not done:
            expert = np.asarray(env.get_wrapper_attr("scripted_action")(), dtype=np.float32)
            with torch.no_grad():
                tensors = agent.coding.tensors(obs, agent.device)
                z, goal = agent.model.encode(tensors), tensors["goal"]
                towards = torch.as_tensor(agent.to_normalised(expert[None]))
                actions = (towards, torch.zeros_like(towards), agent.model.pi(z, goal, deterministic=True)[0], -towards)
                qs = [agent.model.qs(z, a, goal).mean().item() for a in actions]
                predicted = agent.model.rewards(z, towards, goal).item()
            distance = float(np.linalg.norm(obs["achieved_goal"] - obs["desired_goal"]))
            obs, reward, terminated, truncated, _ = env.step(expert)
            rows.append((distance, reward, predicted, *qs))
            done = terminated or truncated
    env.close()
    return np.array(rows)


def value_probe(args: argparse.Namespace, folder: pathlib.Path, make_env: Callable[[dict], gym.Env]) -> None:
    """Every saved ``lmpc_s<seed>.agent`` in ``folder`` (a goal env with a scripted expert)."""
    from scripts.benchmarks._latent_acting import saved_agents
    for seed, path, env_kwargs in saved_agents(folder, args.seeds):
        rows = probe(path, partial(make_env, env_kwargs), args.eval_episodes)
        distance, reward, predicted, expert, zero, prior, reverse = rows.T
        success = reward == reward.max()
        print(f"  seed {seed}, {len(rows)} expert steps: predicted reward {predicted[success].mean():.3f} where the "
              f"env paid {reward.max():.0f}, {predicted[~success].mean():.3f} elsewhere; corr(Q(expert), -distance) "
              f"{np.corrcoef(expert, -distance)[0, 1]:.2f}; Q(expert) > Q(zero) in {(expert > zero).mean():.0%}, "
              f"> Q(prior) {(expert > prior).mean():.0%}, > Q(reversed) {(expert > reverse).mean():.0%} of steps")
        env = make_env(env_kwargs)
        bins = distance_bins(env)
        env.close()
        for low, high in zip(bins[:-1], bins[1:], strict=True):
            inside = (distance >= low) & (distance < high)
            if inside.any():
                wins = (expert[inside] > reverse[inside]).mean()
                print(f"    distance [{low:.3g}, {high:.3g}) m, {inside.sum()} steps: "
                      f"Q expert {expert[inside].mean():.2f}, zero {zero[inside].mean():.2f}, "
                      f"prior {prior[inside].mean():.2f}, reversed "
                      f"{reverse[inside].mean():.2f}; expert > reversed in {wins:.0%}; reward head "
                      f"{predicted[inside].mean():.2f} per decision (env {reward[inside].mean():.2f} per step)")
