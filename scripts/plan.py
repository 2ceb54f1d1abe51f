#!/usr/bin/env python3
"""Run model-predictive control in an env and report returns and success.

``--model`` chooses what the planner imagines with:
  * a PlanningAgent checkpoint (``scripts/train.py --algo mpc`` or ``PlanningAgent.save``);
  * a world model from ``scripts/fit_world_model.py`` (``.../model.pt``);
  * ``env``: the env itself as an exact model through ``save_state``/``restore_state`` (slow, exact;
    it plans on the env's own reward, so give goal envs a dense one).

Examples:
    python scripts/plan.py --env Foresight/PandaReach-v0 --env-kwargs reward_type=dense --model env \
        --candidates 16 --horizon 3 --iterations 2
    python scripts/plan.py --env Pendulum-v1 --model runs/world_models/pendulum-random-v0/model.pt
"""
from __future__ import annotations

import argparse
import json
import sys

import gymnasium as gym
import torch

import envs  # noqa: F401  (registers the Foresight/ ids)
from agents.planning.mpc import PlanningAgent, from_world_model
from agents.progress import Progress
from agents.runs.cli import HelpFormatter, console_logging
from agents.training.hyperparams import parse_overrides
from foresight_base import tensor_file
from world_models.models import MODEL_FORMAT
from world_models.planners import make_planner
from world_models.rollouts import run_episodes
from world_models.scoring import env_planning_policy


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--env", default="Foresight/PandaReach-v0", help="gymnasium id (module:Id imports module)")
    parser.add_argument("--env-kwargs", nargs="*", default=[], metavar="KEY=VALUE",
                        help="gymnasium.make kwargs: obs_mode=goal reward_type=dense, or one JSON mapping")
    parser.add_argument("--model", required=True, help="agent .pt | world model .pt | env")
    parser.add_argument("--planner", default="cem", choices=["cem", "mppi", "gradient"])
    parser.add_argument("--horizon", type=int, default=15, help="imagined steps")
    parser.add_argument("--candidates", type=int, default=500, help="sequences per iteration")
    parser.add_argument("--iterations", type=int, default=5, help="planner iterations per action")
    parser.add_argument("--episodes", type=int, default=5, help="episodes to run")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first episode (then +1 each) and the planner")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
    parser.add_argument("--torch-threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    for name in ("horizon", "candidates", "iterations", "episodes"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    return args


def make_policy(args: argparse.Namespace, env: gym.Env):
    """``(policy, on_reset)`` for the chosen model."""
    options = dict(horizon=args.horizon, num_candidates=args.candidates, iterations=args.iterations)
    if args.model == "env":
        space = env.unwrapped.action_space
        planner = make_planner(args.planner, torch.as_tensor(space.low), torch.as_tensor(space.high),
                               seed=args.seed, **options, **({} if args.planner == "gradient" else
                                                             {"num_elites": max(args.candidates // 10, 1)}))
        return env_planning_policy(env, planner), planner.reset
    checkpoint = tensor_file.load(args.model)  # digest checked, no code run
    if checkpoint.get("format") == MODEL_FORMAT:
        agent = from_world_model(env, args.model, seed=args.seed, device=args.device, planner=args.planner, **options)
    else:
        agent = PlanningAgent.load(args.model, env=env, device=args.device, planner=args.planner, **options)
    return (lambda obs: agent.predict(obs)[0]), agent.planner.reset


def main(argv: list[str]) -> int:
    args = parse(argv)
    console_logging()
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    env = gym.make(args.env, **parse_overrides(args.env_kwargs))
    policy, on_reset = make_policy(args, env)
    with Progress(args.episodes, f"plan {args.env}", unit="episode", enabled=not args.no_progress) as bar:
        stats = run_episodes(env, policy, args.episodes, args.seed, on_reset=on_reset, on_episode=bar.set)
    print(json.dumps({"env": args.env, "model": args.model, **stats.summary()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
