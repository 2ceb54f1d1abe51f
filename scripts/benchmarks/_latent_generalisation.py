"""Does an ``lmpc`` world model generalise to episodes it never trained on?

A planner exploits whatever its model gets wrong, and a model fitted on a few hundred episodes can
be right on those and wrong on the next. This section separates the two: a saved agent (``learn
--save-agents``) collects one fixed dataset of held decisions (random actions, the noisy scripted
expert where the env has one, and the agent exploring; plus held-out episodes of the agent and the
expert on other seeds), a fresh model is fitted on the training episodes with the agent's own
update, and its imagined rewards over the planning horizon, and the achieved-goal read-back where
``goal_offset`` is on, are scored on training and held-out episodes alike. ``--params`` changes the
fresh model's hyperparameters; ``--mask KEY:START:STOP`` zeroes observation entries in the whole
dataset, to find which inputs a model fits episodes by.
"""
from __future__ import annotations

import argparse
import json
import pathlib
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from scripts.benchmarks._latent_imagined import roll_rewards

# Episodes per kind of behaviour, training split then held-out split (held-out seeds differ).
TRAIN = {"random": 10, "expert": 50, "explore": 60}
HELD_OUT = {"evaluate": 15, "expert": 5}
KINDS = ("random", "expert", "explore", "evaluate")


def collect(agent: Any, env: gym.Env, split: dict[str, int], first_seed: int) -> list[dict[str, Any]]:
    """Episodes of held decisions: ``obs`` rows T+1 (raw dict entries), normalised ``actions`` [T, A],
    summed ``rewards`` [T], ``repeats`` [T], and the ``kind`` of behaviour."""
    rng = np.random.default_rng(first_seed)
    has_expert = hasattr(env.unwrapped, "scripted_action")
    episodes, seed = [], first_seed
    for kind, count in split.items():
        if kind == "expert" and not has_expert:
            continue
        for _ in range(count):
            episodes.append(_episode(agent, env, kind, seed, rng))
            seed += 1
    return episodes


def _episode(agent: Any, env: gym.Env, kind: str, seed: int, rng: np.random.Generator) -> dict[str, Any]:
    obs, _ = env.reset(seed=seed)
    agent.reseed(seed)
    agent.planner.reset(None)
    agent.train_planner.reset(None)
    rows, actions, rewards, repeats, done = [obs], [], [], [], False
    while not done:
        if kind == "random":
            action = rng.uniform(-1, 1, agent.action_dim).astype(np.float32)
        elif kind == "expert":
            expert = agent.to_normalised(env.unwrapped.scripted_action()[None])[0]
            noise = 2 * agent.config.demo_noise * rng.standard_normal(agent.action_dim)
            action = np.clip(expert + noise, -1, 1).astype(np.float32)
        else:
            action = agent.act(obs, explore=kind == "explore")[0]
        total, steps = 0.0, 0
        while steps < agent.config.action_repeat and not done:
            obs, reward, terminated, truncated, _ = env.step(agent.env_actions(action[None])[0])
            total, steps, done = total + float(reward), steps + 1, terminated or truncated
        rows.append(obs)
        actions.append(action)
        rewards.append(total)
        repeats.append(steps)
    stacked = {k: np.stack([np.asarray(o[k]) for o in rows]) for k in rows[0]} if isinstance(obs, dict) \
        else {"obs": np.stack(rows)}
    return {"obs": stacked, "actions": np.stack(actions), "rewards": np.asarray(rewards, np.float32),
            "repeats": np.asarray(repeats, np.float32), "kind": kind}


def save_dataset(path: pathlib.Path, train: list[dict], held_out: list[dict]) -> None:
    """Plain arrays (``np.load`` without pickle reads them back): rows of all episodes, concatenated."""
    episodes = train + held_out
    arrays = {f"obs/{k}": np.concatenate([e["obs"][k] for e in episodes]) for k in episodes[0]["obs"]}
    for name in ("actions", "rewards", "repeats"):
        arrays[name] = np.concatenate([e[name] for e in episodes])
    arrays["lengths"] = np.array([len(e["actions"]) for e in episodes])
    arrays["kinds"] = np.array([KINDS.index(e["kind"]) for e in episodes])
    arrays["held_out"] = np.array([False] * len(train) + [True] * len(held_out))
    np.savez_compressed(path, **arrays)


def load_dataset(path: pathlib.Path) -> tuple[list[dict], list[dict]]:
    data = np.load(path, allow_pickle=False)
    keys = [k[4:] for k in data.files if k.startswith("obs/")]
    train, held_out, row, step = [], [], 0, 0
    for length, kind, held in zip(data["lengths"], data["kinds"], data["held_out"], strict=True):
        episode = {"obs": {k: data[f"obs/{k}"][row:row + length + 1] for k in keys},
                   **{n: data[n][step:step + length] for n in ("actions", "rewards", "repeats")},
                   "kind": KINDS[int(kind)]}
        (held_out if held else train).append(episode)
        row, step = row + length + 1, step + length
    return train, held_out


def apply_masks(episodes: list[dict], masks: list[str]) -> None:
    """Zero ``obs[KEY][:, START:STOP]`` in place for each ``KEY:START:STOP``; a clear error for a bad one."""
    for mask in masks:
        try:
            key, start, stop = mask.split(":")
            start, stop = int(start), int(stop)
        except ValueError:
            raise ValueError(f"--mask {mask!r}: expected KEY:START:STOP, e.g. observation:7:15") from None
        if key not in episodes[0]["obs"]:
            raise ValueError(f"--mask {mask!r}: no observation entry {key!r}; entries: {sorted(episodes[0]['obs'])}")
        for episode in episodes:
            episode["obs"][key] = episode["obs"][key].copy()
            episode["obs"][key][:, start:stop] = 0


@torch.no_grad()
def score(agent: Any, episodes: list[dict]) -> dict[str, float | None]:
    """Imagined against real decision rewards over the planning horizon, from every start.

    ``reward_error``: mean absolute error (env reward units per decision) over all horizon steps;
    ``deciding_error``: the same on windows whose real rewards change (a sparse goal entered or left:
    the moments that decide the task; ``None`` where no window does); ``readout_m`` and
    ``rolled_readout_m``: median distance of the achieved-goal head's reading from the real achieved
    goal on encoded latents and after H imagined steps.
    """
    model, horizon = agent.model, agent.config.horizon
    model.eval()
    errors, deciding, readout, rolled_readout = [], [], [], []
    for episode in episodes:
        tensors = agent.coding.tensors(episode["obs"], agent.device)
        z = model.encode(tensors)
        goal = tensors.get("goal", torch.zeros(len(z), 0))
        actions, rewards = torch.as_tensor(episode["actions"]), episode["rewards"]
        starts = len(rewards) - horizon + 1
        if starts < 1:
            continue
        windows = torch.stack([actions[k:k + starts] for k in range(horizon)], 1)  # [starts, H, A]
        imagined, latent = roll_rewards(agent, z[:starts], goal[:starts], windows)
        real = np.stack([rewards[k:k + starts] for k in range(horizon)], 1)
        error = np.abs(imagined - real)
        errors.append(error.ravel())
        deciding.append(error[real.max(1) != real.min(1)].ravel())
        if model.achieved is not None:
            achieved = episode["obs"]["achieved_goal"]
            readout.append(np.linalg.norm(model.achieved(z).numpy() - achieved, axis=1))
            rolled_readout.append(np.linalg.norm(model.achieved(latent).numpy() - achieved[horizon:], axis=1))
    model.train()
    out = {"reward_error": float(np.mean(np.concatenate(errors))),
           "deciding_error": float(np.mean(np.concatenate(deciding))) if any(map(len, deciding)) else None}
    if readout:
        out["readout_m"] = float(np.median(np.concatenate(readout)))
        out["rolled_readout_m"] = float(np.median(np.concatenate(rolled_readout)))
    return out


def fit(saved: Any, env: gym.Env, train: list[dict], held_out: list[dict], overrides: dict[str, Any],
        updates: int, seed: int) -> list[dict[str, Any]]:
    """A fresh agent with the saved one's hyperparameters (``overrides`` on top), fitted on ``train``;
    scores at four points of the fit on the held-out episodes and on the training episodes of the
    agent exploring (the behaviour the held-out episodes come closest to)."""
    from dataclasses import asdict

    from agents.planning.latent_agent import LatentPlanningAgent
    hyperparams = {**asdict(saved.config), "discount": saved.discount, **overrides}
    agent = LatentPlanningAgent(env, seed=seed, device="cpu", **hyperparams)
    agent.before_learning(agent.get_env())  # the replay, sized for the agent's own (one-env) VecEnv
    for episode in train:
        agent.replay.add_episode(agent.coding.numpy(episode["obs"], privileged=True), episode["actions"],
                                 episode["rewards"], np.zeros(len(episode["rewards"]), bool),
                                 demo=episode["kind"] == "expert", repeats=episode["repeats"])
    points = []
    for update in range(1, updates + 1):
        agent.learner.update(agent.replay.sample(agent.config.batch_size, agent.device))
        if update % max(updates // 4, 1) == 0 or update == updates:
            point = {"updates": update, "train": score(agent, [e for e in train if e["kind"] == "explore"]),
                     "held_out": score(agent, held_out)}
            points.append(point)
            print(f"    {update:>6} updates: " + "; ".join(
                f"{split} " + ", ".join(f"{k} {'-' if v is None else f'{v:.3f}'}" for k, v in point[split].items())
                for split in ("train", "held_out")), flush=True)
    return points


def generalisation(args: argparse.Namespace, folder: pathlib.Path, make_env: Callable[[dict[str, Any]], gym.Env],
                   overrides: dict[str, Any], train_counts: dict[str, int] = TRAIN,
                   held_out_counts: dict[str, int] = HELD_OUT) -> None:
    """Collect (once per saved agent: ``train_counts`` / ``held_out_counts`` episodes per kind) and fit
    one variant per call; results as JSON in ``folder``."""
    from agents.planning.latent_agent import LatentPlanningAgent
    from scripts.benchmarks._latent_acting import saved_agents
    for seed, path, env_kwargs in saved_agents(folder, args.seeds[:1]):
        saved = LatentPlanningAgent.load(path, device="cpu")
        env = make_env(env_kwargs)
        data_path = folder / f"generalisation_data_s{seed}.npz"
        if not data_path.exists():
            print(f"  collecting with {path.name}: {train_counts} training, {held_out_counts} held-out episodes",
                  flush=True)
            save_dataset(data_path, collect(saved, env, train_counts, 100_000),
                         collect(saved, env, held_out_counts, 200_000))
        train, held_out = load_dataset(data_path)
        apply_masks(train + held_out, args.mask)
        label = " ".join([*args.params, *(f"mask={m}" for m in args.mask)]) or "as trained"
        print(f"  fresh model ({label}), {args.updates} updates on {len(train)} episodes, "
              f"{len(held_out)} held out:", flush=True)
        points = fit(saved, env, train, held_out, overrides, args.updates, seed)
        name = "".join(c if c.isalnum() or c in "=.-" else "_" for c in label.replace(" ", "_"))
        (folder / f"generalisation_s{seed}_{name}.json").write_text(
            json.dumps({"label": label, "updates": args.updates, "points": points}, indent=1))
        env.close()
