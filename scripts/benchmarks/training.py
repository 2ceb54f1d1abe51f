#!/usr/bin/env python3
"""Training benchmark: wall-clock to a target success rate, ours vs rl-baselines3-zoo's recipe.

    python scripts/benchmark.py training --seeds 3
    python scripts/benchmark.py training --part ray      # Ray evaluation, 2 workers vs 1

``reach`` (default part): SAC + HER with our defaults on ``Foresight/PandaReach-v0`` against SAC + HER
with rl-baselines3-zoo's hyperparameters for its goal-reaching task (``sac.yml``, FetchReach entry:
buffer 1e6, batch 256, gamma 0.95, lr 1e-3, 1000 warm-up steps, ``normalize``, net [64, 64]) on
panda-gym's ``PandaReach-v3``. Both go through the same SB3 code; runs are interleaved per seed, and
training time excludes evaluation. Each run evaluates every ``--eval-every`` steps on 20 seeded
episodes and stops at ``--target`` success.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

ZOO_SAC_HER = {
    "policy": "MultiInputPolicy",
    "buffer_size": 1_000_000,
    "ent_coef": "auto",
    "batch_size": 256,
    "gamma": 0.95,
    "learning_rate": 1e-3,
    "learning_starts": 1000,
    "normalize": True,
    "replay_buffer_class": "HerReplayBuffer",
    "replay_buffer_kwargs": "dict(goal_selection_strategy='future', n_sampled_goal=4)",
    "policy_kwargs": "dict(net_arch=[64, 64])",
}


def time_to_target(env_id: str, hyperparams: dict, seed: int, args) -> tuple[float | None, int, float]:
    """(training seconds to reach the target or None, steps used, last success rate)."""
    from stable_baselines3.common.vec_env import VecNormalize

    from agents.evaluation.episodes import evaluate, model_policy, summarize
    from agents.training.env_setup import env_maker, make_vec_env, normalize
    from agents.training.factory import make_agent

    env_kwargs = hyperparams.get("env_kwargs")
    venv = make_vec_env(env_id, seed=seed, env_kwargs=env_kwargs)
    venv = normalize(venv, hyperparams.get("normalize"), hyperparams.get("gamma"))
    model = make_agent("sac", venv, hyperparams, seed=seed, device="cpu")
    eval_env = env_maker(env_id, env_kwargs)()
    transform = venv.normalize_obs if isinstance(venv, VecNormalize) else None
    spent, rate = 0.0, 0.0
    while model.num_timesteps < args.max_steps:
        start = time.perf_counter()
        model.learn(args.eval_every, reset_num_timesteps=False)
        spent += time.perf_counter() - start
        episodes, _ = evaluate(eval_env, model_policy(model, True, transform), args.eval_episodes, seed=10_000)
        rate = summarize(episodes).success_rate
        if rate >= args.target:
            return spent, model.num_timesteps, rate
    return None, model.num_timesteps, rate


def part_reach(args) -> None:
    import panda_gym  # noqa: F401  (the peer; a benchmark extra, never a dependency)

    import envs  # noqa: F401  (registers Foresight ids)
    from agents.training.hyperparams import load_hyperparams

    ours_hp = {k: v for k, v in load_hyperparams("sac", "Foresight/PandaReach-v0").items() if k != "n_timesteps"}
    rows = {"ours": [], "zoo": []}
    for seed in range(args.seeds):
        for name, env_id, hp in (("ours", "Foresight/PandaReach-v0", ours_hp), ("zoo", "PandaReach-v3", ZOO_SAC_HER)):
            seconds, steps, rate = time_to_target(env_id, hp, seed, args)
            rows[name].append((seconds, steps))
            shown = "not reached" if seconds is None else f"{seconds:6.1f} s"
            print(f"seed {seed} {name:4s} {env_id:24s}: {shown} at {steps} steps (success {rate:.0%})", flush=True)
    report(rows, args.target)


def report(rows: dict, target: float) -> None:
    medians = {}
    for name, results in rows.items():
        times = [s for s, _ in results if s is not None]
        steps = [n for s, n in results if s is not None]
        medians[name] = statistics.median(times) if len(times) == len(results) else None
        med_steps = statistics.median(steps) if steps else float("nan")
        shown = "n/a (some seeds missed the target)" if medians[name] is None else f"{medians[name]:.1f} s"
        print(f"{name}: median time to {target:.0%} success {shown}, median steps {med_steps:.0f}, "
              f"reached {len(times)}/{len(results)}")
    if medians["ours"] and medians["zoo"]:
        print(f"ratio zoo/ours (speed-up): {medians['zoo'] / medians['ours']:.2f}x")


def part_ray(args) -> None:
    import envs  # noqa: F401
    from agents.runs.parallel import benchmark_ray

    benchmark_ray(args.ray_run, args.eval_episodes_ray, args.repeats)


def main() -> None:
    p = argparse.ArgumentParser(prog="benchmark.py training", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", default="reach", choices=("reach", "ray"))
    p.add_argument("--seeds", type=int, default=3, help="seeds per side (interleaved)")
    p.add_argument("--target", type=float, default=0.9, help="success rate to reach")
    p.add_argument("--max-steps", type=int, default=20_000, help="give up after this many env steps")
    p.add_argument("--eval-every", type=int, default=500, help="env steps between evaluations")
    p.add_argument("--eval-episodes", type=int, default=20, help="episodes per evaluation")
    p.add_argument("--ray-run", default=None, help="run folder to evaluate (ray part; default: trains a short one)")
    p.add_argument("--eval-episodes-ray", type=int, default=40, help="episodes per Ray evaluation")
    p.add_argument("--repeats", type=int, default=3, help="repeats per configuration (ray part)")
    args = p.parse_args()
    torch.set_num_threads(1)
    part_reach(args) if args.part == "reach" else part_ray(args)


if __name__ == "__main__":
    main()
