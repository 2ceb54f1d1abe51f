#!/usr/bin/env python3
"""Collect episodes from any gymnasium env into a Minari-layout dataset (HDF5, no pickle).

Examples:
    python scripts/collect.py --env Foresight/PandaReach-v0 --policy scripted --episodes 50
    python scripts/collect.py --env Foresight/PandaPush-v0 --env-kwargs obs_mode=goal --policy scripted --noise 0.3
    python scripts/collect.py --env Pendulum-v1 --policy random --episodes 20 --out data/pendulum-random-v0
    python scripts/collect.py --env Foresight/PandaPush-v0 --policy runs/.../mpc.pt --episodes 10

``--policy`` is ``random``, ``scripted`` (the env's privileged ``scripted_action()``), or the path
of a saved PlanningAgent. Env ids of the form ``module:Id`` import ``module`` first
(e.g. ``panda_gym:PandaReach-v3``).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

import gymnasium as gym

import envs  # noqa: F401  (registers the Foresight/ ids)
from agents.evaluation.episodes import model_policy
from agents.planning.mpc import PlanningAgent
from agents.progress import Progress
from agents.runs.cli import HelpFormatter, console_logging
from agents.training.hyperparams import parse_overrides
from world_models.data import EpisodeWriter
from world_models.rollouts import Policy, noisy_policy, random_policy, run_episodes


def make_policy(name: str, env: gym.Env, seed: int) -> Policy:
    """``random``, ``scripted`` or a PlanningAgent checkpoint path."""
    if name == "random":
        return random_policy(env.action_space, seed)
    if name == "scripted":
        scripted = env.get_wrapper_attr("scripted_action")
        return lambda obs: scripted()
    if pathlib.Path(name).is_file():
        return model_policy(PlanningAgent.load(name, env=env))  # its reset() clears the warm start
    raise SystemExit(f"unknown --policy {name!r}; valid: random, scripted, or a saved PlanningAgent file")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--env", default="Foresight/PandaReach-v0", help="gymnasium id")
    parser.add_argument("--policy", default="random", help="random | scripted | path to a PlanningAgent .pt")
    parser.add_argument("--episodes", type=int, default=20, help="episodes to record")
    parser.add_argument("--noise", type=float, default=0.0,
                        help="Gaussian action noise, fraction of the action range (widens scripted data)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first episode (then +1 each)")
    parser.add_argument("--env-kwargs", nargs="*", default=[], metavar="KEY=VALUE",
                        help="gymnasium.make kwargs: obs_mode=goal reward_type=dense, or one JSON mapping")
    parser.add_argument("--out", default=None, help="dataset folder (default: data/<env>-<policy>-v0)")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch CPU threads for an agent policy (0: torch's default)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    if args.episodes < 1 or args.noise < 0:
        parser.error(f"--episodes must be >= 1 and --noise >= 0, got {args.episodes} and {args.noise}")
    return args


def main(argv: list[str]) -> int:
    args = parse(argv)
    console_logging()
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    env = gym.make(args.env, **parse_overrides(args.env_kwargs))
    policy_name = args.policy if args.policy in ("random", "scripted") else "agent"
    out = args.out or f"data/{args.env.split(':')[-1].replace('/', '-')}-{policy_name}-v0"
    try:
        with EpisodeWriter(out, env.observation_space, env.action_space, env_spec=env.spec) as writer:
            policy = make_policy(args.policy, env, args.seed)
            on_reset = getattr(policy, "reset", None)
            if args.noise > 0:
                policy = noisy_policy(policy, env.action_space, args.noise, args.seed)
            with Progress(args.episodes, f"collect {args.env}", unit="episode", enabled=not args.no_progress) as bar:
                stats = run_episodes(env, policy, args.episodes, args.seed, writer, on_reset=on_reset,
                                     on_episode=bar.set)
    except OSError as err:  # a full disk: the dataset keeps every episode its metadata counts
        raise SystemExit(f"collect.py: {err}") from None
    print(json.dumps({"dataset": out, **stats.summary()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
