"""What a saved ``lmpc`` agent imagines its chosen plans will earn, against what the env pays for them.

At every decision of the final evaluation's seeded episodes the agent plans as it would act; the
chosen sequence (H decisions) and, for contrast, the all-zero one are then scored twice: by the
model (the reward head along the imagined latents) and by the env itself, replayed from a saved
simulator state (envs with ``save_state`` / ``restore_state``, as Foresight's have) and restored
afterwards, so the episode goes on as if nothing happened. Decisions that start inside the goal
(``info["is_success"]``) are reported apart: that is where a sparse task is lost by leaving.
"""
from __future__ import annotations

import argparse
import pathlib
from collections.abc import Callable
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import torch


class Replay(NamedTuple):
    """What the env did with a replayed plan."""
    rewards: np.ndarray  # [H] the env's reward per decision (summed over its held steps)
    obs: Any  # the observation where the plan ends
    info: dict  # the last step's info
    decisions: np.ndarray  # [H, A] the normalised decisions taken


def replay(env: gym.Env, agent: Any, plan: np.ndarray | None) -> Replay:
    """Replay ``plan`` [H, A] (normalised; ``None``: the scripted expert's next H decisions) from the
    env's current state, each decision held ``action_repeat`` steps as training held it; the simulator
    is restored afterwards, so the episode goes on as if nothing happened."""
    base = env.unwrapped
    state = base.save_state()
    rewards, taken = [], []
    for t in range(agent.config.horizon if plan is None else len(plan)):
        if plan is None:
            decision = agent.to_normalised(np.asarray(base.scripted_action(), dtype=np.float32)[None])[0]
        else:
            decision = plan[t]
        total = 0.0
        for _ in range(agent.config.action_repeat):
            obs, reward, _, _, info = base.step(agent.env_actions(decision[None])[0])
            total += float(reward)
        rewards.append(total)
        taken.append(decision)
    base.restore_state(state)
    return Replay(np.asarray(rewards), obs, info, np.asarray(taken, dtype=np.float32))


def env_rewards(env: gym.Env, agent: Any, plan: np.ndarray) -> tuple[np.ndarray, bool]:
    """The env's reward for each decision of ``plan`` [H, A] (normalised), and whether success was lost
    by the end (:func:`replay`)."""
    played = replay(env, agent, plan)
    return played.rewards, not bool(played.info.get("is_success", False))


@torch.no_grad()
def imagined_rewards(agent: Any, obs: Any, plans: torch.Tensor) -> np.ndarray:
    """The model's reward for each decision of each plan ``[K, H, A]`` -> ``[K, H]`` (env units)."""
    latent, goal = agent.encode_observation(obs)
    return roll_rewards(agent, latent.expand(len(plans), -1), goal.expand(len(plans), -1), plans)[0]


@torch.no_grad()
def roll_rewards(agent: Any, latent: torch.Tensor, goal: torch.Tensor, plans: torch.Tensor
                 ) -> tuple[np.ndarray, torch.Tensor]:
    """Latents ``[K, L]`` rolled along plans ``[K, H, A]``: the reward head's ``[K, H]`` (env units) and
    the last imagined latents ``[K, L]``."""
    rewards = []
    for t in range(plans.shape[1]):
        rewards.append(agent.model.rewards(latent, plans[:, t], goal))
        latent = agent.model.next(latent, plans[:, t])
    return torch.stack(rewards, 1).cpu().numpy() / agent.config.reward_scale, latent


def trace(agent: Any, env: gym.Env, episodes: int, seed: int) -> dict[str, list]:
    """Per decision: where it started (inside the goal or not), imagined and real rewards of the
    chosen and the zero plan, and whether each really left the goal."""
    rows: dict[str, list] = {"inside": [], "chosen_imagined": [], "chosen_real": [], "chosen_left": [],
                             "zero_imagined": [], "zero_real": [], "zero_left": []}
    for episode in range(episodes):
        obs, info = env.reset(seed=seed + episode)
        agent.reseed(seed + episode)
        agent.planner.reset(None)
        inside, done = False, False
        while not done:
            chosen = agent.planned_sequences(obs)[0]
            plans = torch.stack([chosen, torch.zeros_like(chosen)])
            imagined = imagined_rewards(agent, obs, plans)
            rows["inside"].append(inside)
            for name, plan, dreamt in zip(("chosen", "zero"), plans.cpu().numpy(), imagined, strict=True):
                real, left = env_rewards(env, agent, plan)
                rows[f"{name}_imagined"].append(dreamt)
                rows[f"{name}_real"].append(real)
                rows[f"{name}_left"].append(left)
            for _ in range(agent.config.action_repeat):
                obs, _, terminated, truncated, info = env.step(agent.env_actions(chosen[:1].cpu().numpy())[0])
                done = terminated or truncated
                if done:
                    break
            inside = bool(info.get("is_success", False))
    return rows


def imagined(args: argparse.Namespace, folder: pathlib.Path, make_env: Callable[[dict[str, Any]], gym.Env]) -> None:
    """For each saved agent: mean imagined and real reward per horizon step of its chosen plans and of
    standing still, from inside the goal and from outside, and how often each really leaves the goal."""
    from agents.planning.latent_agent import LatentPlanningAgent
    from scripts.benchmarks._latent_acting import saved_agents
    for seed, path, env_kwargs in saved_agents(folder, args.seeds):
        agent = LatentPlanningAgent.load(path, device="cpu")
        env = make_env(env_kwargs)
        if not hasattr(env.unwrapped, "save_state"):
            raise ValueError(f"{args.env} has no save_state/restore_state: the env cannot replay a plan and come back")
        rows = {k: np.asarray(v) for k, v in trace(agent, env, args.final_episodes, 20_000).items()}
        env.close()
        print(f"  seed {seed}, {args.final_episodes} episodes, {len(rows['inside'])} decisions "
              f"(reward per decision, each step of the {agent.config.horizon}-decision plan):")
        for where, mask in (("inside the goal", rows["inside"]), ("outside", ~rows["inside"])):
            if not mask.any():
                continue
            for name in ("chosen", "zero"):
                dreamt, real = rows[f"{name}_imagined"][mask].mean(0), rows[f"{name}_real"][mask].mean(0)
                left = f", really left the goal {rows[f'{name}_left'][mask].mean():.0%}" if where != "outside" else ""
                print(f"    {where:>15} ({mask.sum():>4}), {name:>6} plan: imagined [{_row(dreamt)}], "
                      f"env [{_row(real)}]{left}", flush=True)


def _row(values: np.ndarray) -> str:
    return ", ".join(f"{v:+.2f}" for v in values)
