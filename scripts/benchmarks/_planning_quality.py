"""Model quality for ``scripts/benchmark.py planning --what model-quality``: k-step open-loop error on
PandaPush vs copy-last and linear, overall and per state group (metres, radians, std units)."""
from __future__ import annotations

import argparse
import pathlib

import gymnasium as gym

from world_models.data import EpisodeWriter, read_episodes
from world_models.evaluation import rotation_error, scaled_error
from world_models.fitting import FitConfig
from world_models.models import ModelConfig, floored_std
from world_models.report import fit_and_report, format_report
from world_models.rollouts import noisy_policy, random_policy, run_episodes
from world_models.spaces import StateLayout

PUSH_EULER = 10  # PandaPush goal state: ee pos 0-2, ee vel 3-5, gripper 6, object pos 7-9, rpy 10-12,
                 # object linear velocity 13-15, angular velocity 16-18, achieved goal 19-21


def push_groups(std_floor: float) -> dict:
    """Per-group error tables for the PandaPush state (std units floored like the model's, metres, radians)."""
    def scaled(dims: list[int]):
        return lambda train: scaled_error(dims, floored_std(train.states, std_floor))
    return {"end effector position + velocity (std)": scaled([0, 1, 2, 3, 4, 5]),
            "gripper width (std)": scaled([6]),
            "object position (std)": scaled([7, 8, 9]),
            "object position (metres)": lambda train: scaled_error([7, 8, 9]),
            "object orientation (geodesic angle, radians)": lambda train: rotation_error(PUSH_EULER),
            "object linear + angular velocity (std)": scaled(list(range(13, 19))),
            "all dims, old ruler (Euler angles as numbers, std floor 1e-6)":
                lambda train: scaled_error(slice(None), floored_std(train.states, 1e-6))}


def collect_push_data(env: gym.Env, path: pathlib.Path, episodes: int, seed: int) -> None:
    """Half noisy scripted pushes (noise 0.1-0.3 of the range: the object moves), half random (the arm roams)."""
    scripted = env.get_wrapper_attr("scripted_action")
    half, noises = episodes // 2, (0.1, 0.2, 0.3)
    with EpisodeWriter(path, env.observation_space, env.action_space, env_spec=env.spec) as writer:
        for i, noise in enumerate(noises):  # seeds differ per share: no two episodes start alike
            count = half // len(noises) + (i < half % len(noises))
            policy = noisy_policy(lambda obs: scripted(), env.action_space, noise, seed + i)
            run_episodes(env, policy, count, seed + 1000 * (i + 1), writer)
        run_episodes(env, random_policy(env.action_space, seed), episodes - half, seed, writer)


def model_quality(args: argparse.Namespace, env_id: str, env: gym.Env) -> None:
    """k-step open-loop error of an ensemble on held-out episodes vs copy-last and linear."""
    path = pathlib.Path(args.data) if args.data else \
        pathlib.Path(args.out) / f"{env_id.replace('/', '-')}-quality-{args.episodes}-s{args.seed}"
    if not (path / "data" / "metadata.json").exists():
        collect_push_data(env, path, args.episodes, args.seed)
    push = env_id.startswith("Foresight/PandaPush")
    euler = (PUSH_EULER,) if push and not args.euler_as_numbers else ()
    model_config = ModelConfig(5, args.hidden_size, args.num_layers, euler_dims=euler, std_floor=args.std_floor)
    episodes = read_episodes(path)  # read once: thousands of episodes
    model, report = fit_and_report(episodes, StateLayout(env.observation_space), model_config,
                                   FitConfig(max_epochs=args.max_epochs, patience=args.patience),
                                   ks=(1, 5, 10, 20), seed=args.seed,
                                   groups=push_groups(args.std_floor) if push else None)
    print(f"{env_id}: {len(episodes)} episodes ({path}); model {model_config}")
    print(format_report(report))
    tables = {"all dims": report["k_step_rmse"], "achieved goal": report.get("k_step_rmse_achieved_goal", {}),
              **report.get("k_step_rmse_groups", {})}
    for name, errors in tables.items():
        if not errors:
            continue
        print(f"  10-step model/copy-last {errors['model'][10] / errors['copy_last'][10]:.3f}, "
              f"model/linear {errors['model'][10] / errors['linear'][10]:.3f}: {name} (target <= 0.2 of copy-last)")
