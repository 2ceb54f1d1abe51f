#!/usr/bin/env python3
"""World models and planning benchmarks: ours and a peer side by side in one run, with ratios.

Sections (``--what``):
  latency           CEM 500 x 15 x 5 over a 5-member 3x200 ensemble, ours vs TorchRL's CEMPlanner on the
                    same model (interleaved medians); PETS trajectory sampling (20 particles); E envs at once;
                    iCEM population decay 1.25 (a different, smaller search: labelled as such); GEMM peak.
  distill           actions per second of a distilled MLP policy vs the planner it imitates.
  gradient          gradient-based planning vs CEM on batched Spaceship worlds (exact differentiable
                    dynamics as the model): return reached per model evaluation.
  model-quality     k-step open-loop error of the ensemble on PandaPush vs copy-last and linear.
  sample-efficiency PlanningAgent vs SB3 SAC (+HER for goal envs), same env-step budget, curves + PNG.

    python scripts/benchmark.py planning --what latency --repeats 15
    python scripts/benchmark.py planning --what sample-efficiency --envs Pendulum-v1
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import pathlib
import statistics
import sys
import time
from collections.abc import Callable
from itertools import pairwise

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from foresight_base.devices import resolve_device
from world_models.models import EnsembleDynamics, ModelConfig
from world_models.planners import CEMConfig, CEMPlanner
from world_models.scoring import model_score_fn

CPU = torch.device("cpu")


def timed_ms(fn: Callable[[], object], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) * 1e3


def interleaved(fns: dict[str, Callable[[], object]], repeats: int, device: torch.device) -> dict[str, float]:
    """Median ms of each function, measured in alternation after a warm-up so noise hits all alike."""
    for fn in fns.values():
        fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            samples[name].append(timed_ms(fn, device))
    return {name: statistics.median(values) for name, values in samples.items()}


# --------------------------------------------------------------------------- latency
class _TorchRLStep(nn.Module):
    """(state, action) -> (next state, reward[..., 1]) through our model, rows on fixed members."""

    def __init__(self, model: EnsembleDynamics) -> None:
        super().__init__()
        self.model = model

    def forward(self, state: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shape = state.shape[:-1]
        next_state, reward, _ = self.model.step(state.reshape(-1, state.shape[-1]),
                                                action.reshape(-1, action.shape[-1]), "fixed")
        return next_state.reshape(*shape, -1), reward.reshape(*shape, 1)


def torchrl_cem(model: EnsembleDynamics, state: torch.Tensor, config: CEMConfig) -> Callable[[], torch.Tensor]:
    """TorchRL's ``CEMPlanner`` over ``model`` wrapped as a ``ModelBasedEnvBase``: one planning call."""
    from tensordict import TensorDict
    from tensordict.nn import TensorDictModule
    from torchrl.data import Bounded, Composite, Unbounded
    from torchrl.envs.model_based import ModelBasedEnvBase
    from torchrl.modules.planners import CEMPlanner as PeerCEM

    class ModelEnv(ModelBasedEnvBase):
        def __init__(self, world_model: TensorDictModule) -> None:
            super().__init__(world_model, device=state.device, batch_size=torch.Size([]))
            self.observation_spec = Composite(state=Unbounded((model.state_dim,)))
            self.state_spec = Composite(state=Unbounded((model.state_dim,)))
            self.action_spec = Bounded(-1.0, 1.0, (model.action_dim,))
            self.reward_spec = Unbounded((1,))

        def _reset(self, tensordict: TensorDict | None = None, **kwargs) -> TensorDict:
            return TensorDict({"state": state}, batch_size=self.batch_size)

    world = TensorDictModule(_TorchRLStep(model), in_keys=["state", "action"], out_keys=["state", "reward"])
    planner = PeerCEM(ModelEnv(world), config.horizon, config.iterations, config.num_candidates, config.num_elites)
    return lambda: planner(TensorDict({"state": state}, batch_size=[]))["action"]


def latency(args: argparse.Namespace) -> None:
    device = resolve_device(args.device)
    torch.manual_seed(0)
    model = EnsembleDynamics(args.state_dim, args.action_dim, ModelConfig(5, args.hidden_size, args.num_layers))
    model = model.to(device).eval()
    low, high = -torch.ones(args.action_dim), torch.ones(args.action_dim)
    config = CEMConfig(horizon=15, num_candidates=500, num_elites=50, iterations=5)
    state = torch.randn(args.state_dim, device=device)

    def ours(particles: int = 1, envs: int = 1, decay: float = 1.0) -> Callable[[], object]:
        planner = CEMPlanner(low, high, dataclasses.replace(config, population_decay=decay), device=device)
        score = model_score_fn(model, state.expand(envs, -1), particles=particles,
                               generator=torch.Generator(device).manual_seed(0))
        return lambda: planner.plan(score, envs)

    with torch.no_grad():
        fns = {"ours": ours()}
        if not args.no_peer:
            fns["torchrl"] = torchrl_cem(model, state, config)
        results = interleaved(fns, args.repeats, device)
        extra = {"ours_pets20": ours(particles=20), **{f"ours_{e}envs": ours(envs=e) for e in args.envs},
                 "icem_decay1.25": ours(decay=1.25)}  # a smaller search: 1,680 sequences per call, not 2,500
        results.update(interleaved(extra, max(args.repeats // 3, 3), device))
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} thread(s)"
    print(f"{where}; state {args.state_dim}, action {args.action_dim}; CEM 500 cand x H15 x 5 it; "
          f"ensemble 5 x {args.num_layers}x{args.hidden_size}")
    for key, value in results.items():
        print(f"  {key:>14}: {value:9.2f} ms per planning call")
    if "torchrl" in results:
        print(f"  ratio torchrl/ours: {results['torchrl'] / results['ours']:.2f}x")
    if device.type == "cpu":
        flops = model_flops(model, config.num_candidates * config.horizon * config.iterations)
        peak = gemm_peak(args.hidden_size)
        print(f"  model: {flops / 1e9:.2f} GFLOP per call; this CPU's fp32 GEMM on the model's shapes: "
              f"{peak:.1f} GFLOP/s -> floor {flops / peak / 1e6:.1f} ms per call at this thread count")


def model_flops(model: EnsembleDynamics, rows: int) -> float:
    """Multiply-adds x 2 of ``rows`` state-action rows through one member (mean head only)."""
    sizes = [model.coding.feature_dim + model.action_dim] + [model.config.hidden_size] * model.config.num_layers
    per_row = sum(i * o for i, o in pairwise(sizes)) + sizes[-1] * model.out_dim
    return 2.0 * rows * per_row


def gemm_peak(hidden: int, members: int = 5, rows: int = 100, repeats: int = 60, device: torch.device = CPU) -> float:
    """Median fp32 GFLOP/s of ``[M, rows, hidden] @ [M, hidden, hidden]``: a hidden layer of the planner's model."""
    x = torch.randn(members, rows, hidden, device=device)
    w = torch.randn(members, hidden, hidden, device=device)
    times = [timed_ms(lambda: [torch.bmm(x, w) for _ in range(10)], device) / 10 for _ in range(repeats)]
    return 2 * members * rows * hidden * hidden / statistics.median(times) / 1e6


# --------------------------------------------------------------------------- distill
def distill_rate(args: argparse.Namespace) -> None:
    from agents.planning.distill import DistilledPolicy
    torch.manual_seed(0)
    obs_space = gym.spaces.Box(-10, 10, (args.state_dim,), np.float32)
    act_space = gym.spaces.Box(-1, 1, (args.action_dim,), np.float32)
    student = DistilledPolicy(obs_space, act_space, (256, 256))
    model = EnsembleDynamics(args.state_dim, args.action_dim, ModelConfig(5, 200, 3)).eval()
    planner = CEMPlanner(-torch.ones(args.action_dim), torch.ones(args.action_dim), CEMConfig())
    obs = obs_space.sample()
    score = model_score_fn(model, torch.as_tensor(obs)[None])
    with torch.no_grad():
        results = interleaved({"distilled": lambda: student.predict(obs), "planner": lambda: planner.plan(score)},
                              args.repeats, torch.device("cpu"))
    for name, ms in results.items():
        print(f"  {name:>10}: {ms:8.3f} ms per action = {1e3 / ms:9.1f} Hz")
    print(f"  distilled/planner speed-up: {results['planner'] / results['distilled']:.0f}x (target: >= 200 Hz)")


# --------------------------------------------------------------------------- gradient vs CEM
def gradient_vs_cem(args: argparse.Namespace) -> None:
    """Closed-loop MPC on N Spaceship worlds with the world's own differentiable dynamics as the model."""
    from envs.batched.ops import TorchOps
    from envs.batched.spaceship import Spaceship
    from world_models.planners import make_planner
    world, worlds, steps, horizon = Spaceship(), args.worlds, args.episode_steps, 20
    start = world.initial_state(TorchOps(torch.device("cpu")), torch.Generator().manual_seed(args.seed), worlds)
    settings = {"cem 100x3": ("cem", dict(num_candidates=100, num_elites=10, iterations=3)),
                "cem 500x5": ("cem", dict(num_candidates=500, num_elites=50, iterations=5)),
                "gradient 8x10": ("gradient", dict(num_candidates=8, iterations=10, learning_rate=0.3)),
                "gradient 16x30": ("gradient", dict(num_candidates=16, iterations=30, learning_rate=0.3))}
    print(f"Spaceship, {worlds} worlds x {steps} steps of MPC, horizon {horizon}, exact dynamics as the model")
    for name, (kind, options) in settings.items():
        planner = make_planner(kind, -torch.ones(2), torch.ones(2), seed=args.seed, horizon=horizon, **options)
        total, evaluations, seconds = mpc_episode(world, planner, start, steps)
        print(f"  {name:>15}: return {total:7.3f}, {evaluations:>9,} model steps per env "
              f"({total / evaluations * 1e6:8.2f} return per 1e6 model steps), {seconds:6.1f} s")


def mpc_episode(world, planner, start: torch.Tensor, steps: int) -> tuple[float, int, float]:
    """Mean return over worlds, model steps evaluated per world (forward only) and wall time."""
    from world_models.scoring import dynamics_score_fn
    state, alive, total, evaluations = start.clone(), torch.ones(len(start), dtype=torch.bool), 0.0, 0
    begin = time.perf_counter()
    for _ in range(steps):
        result = planner.plan(dynamics_score_fn(world.dynamics, state), num_envs=len(state))
        evaluations += result.evaluations * planner.horizon
        with torch.no_grad():
            state, reward, terminated = world.step(state, result.actions[:, 0])
        total += float((reward * alive).sum())
        alive &= ~terminated
        if not alive.any():
            break
    return total / len(start), evaluations, time.perf_counter() - begin


# --------------------------------------------------------------------------- sample efficiency
PRESETS = {  # PlanningAgent hyperparameters per env for the sample-efficiency run
    "Pendulum-v1": dict(horizon=20, num_candidates=200, num_elites=20, iterations=4, learning_starts=200,
                        train_freq=200, max_epochs=25),
    "Foresight/PandaReach-v0": dict(horizon=5, num_candidates=100, num_elites=10, iterations=3, learning_starts=200,
                                    train_freq=200, max_epochs=20, hidden_size=64, num_layers=2),
}


def mpc_preset(env_id: str, goal: bool) -> dict:
    """PlanningAgent hyperparameters: the benchmark's own above, else ``agents/training/hyperparams/mpc.yml``'s entry,
    else (goal envs) Reach's small planner."""
    from agents.training.hyperparams import SPECIAL_KEYS, load_hyperparams, read_table
    if env_id in PRESETS:
        return PRESETS[env_id]
    if env_id in read_table("mpc"):
        return {k: v for k, v in load_hyperparams("mpc", env_id).items() if k not in SPECIAL_KEYS}
    return PRESETS["Foresight/PandaReach-v0"] if goal else {}


def make_env(env_id: str) -> gym.Env:
    """Our Panda tasks in their goal-dict mode (HER for SAC, goal distance for the planner); others as is."""
    return gym.make(env_id, obs_mode="goal") if env_id.startswith("Foresight/Panda") else gym.make(env_id)


def make_sac(env: gym.Env, seed: int):
    from stable_baselines3 import SAC, HerReplayBuffer
    if isinstance(env.observation_space, gym.spaces.Dict):
        return SAC("MultiInputPolicy", env, seed=seed, learning_rate=1e-3, batch_size=256, gamma=0.95,
                   replay_buffer_class=HerReplayBuffer,
                   replay_buffer_kwargs=dict(goal_selection_strategy="future", n_sampled_goal=4),
                   policy_kwargs=dict(net_arch=[64, 64], n_critics=1), learning_starts=1000)
    return SAC("MlpPolicy", env, seed=seed, learning_rate=1e-3)


def sample_efficiency(args: argparse.Namespace) -> None:
    import envs  # noqa: F401  (registers the Foresight/ ids)
    from agents.evaluation.curves import learning_curve, steps_to_reach
    from agents.planning.mpc import PlanningAgent
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for env_id in args.envs:
        goal = isinstance(make_env(env_id).observation_space, gym.spaces.Dict)
        metric = "success_rate" if goal else "mean_return"
        print(f"{env_id}: MPC {args.mpc_steps} steps vs SAC{'+HER' if goal else ''} {args.sac_steps} steps")
        preset = mpc_preset(env_id, goal)
        print(f"  PlanningAgent {preset}")
        mpc = PlanningAgent(make_env(env_id), seed=args.seed, **preset)
        sac = make_sac(make_env(env_id), args.seed)
        make_eval_env = functools.partial(make_env, env_id)
        curves = {"mpc": learning_curve(mpc, make_eval_env, args.mpc_steps, args.mpc_eval_every,
                                        args.eval_episodes, log=print),
                  "sac": learning_curve(sac, make_eval_env, args.sac_steps, args.sac_eval_every,
                                        args.eval_episodes, log=print)}
        if args.final_episodes:
            final_evaluation({"mpc": mpc, "sac": sac}, make_env(env_id), args.final_episodes, metric)
        idle = do_nothing_level(make_env(env_id), args.eval_episodes, metric)
        print(f"  zero-action policy on the same evaluation episodes: {metric} {idle:.2f}")
        target = getattr(curves["sac"][-1], metric)
        reached = steps_to_reach(curves["mpc"], target, metric)
        verdict = (f"SAC's final {metric} {target:.2f} is no better than doing nothing ({idle:.2f}): "
                   "neither agent has learned the task, nothing to compare" if target <= idle else
                   f"MPC reaches SAC's final {metric} {target:.2f} at {reached} steps = "
                   f"{reached / args.sac_steps:.3f} of SAC's budget" if reached else
                   f"MPC does NOT reach SAC's final {metric} {target:.2f} within {args.mpc_steps} steps")
        print("  " + verdict)
        name = env_id.replace("/", "-")
        (out / f"{name}.json").write_text(json.dumps({k: [p._asdict() for p in v] for k, v in curves.items()}))
        plot_curves(curves, metric, f"{env_id}: {verdict}", out / f"{name}.png", idle)


def do_nothing_level(env: gym.Env, episodes: int, metric: str, seed: int = 10_000) -> float:
    """``metric`` of the zero action on ``learning_curve``'s evaluation episodes: the level that means nothing
    learned."""
    from world_models.rollouts import run_episodes
    zero = np.zeros(env.action_space.shape, dtype=env.action_space.dtype)
    return run_episodes(env, lambda obs: zero, episodes, seed).summary()[metric]


def _act(agent, obs):
    """``agent``'s deterministic action for one observation."""
    return agent.predict(obs, deterministic=True)[0]


def final_evaluation(agents: dict, env: gym.Env, episodes: int, metric: str, seed: int = 20_000) -> None:
    """Both final agents on the same ``episodes`` seeded episodes: means with 95% bootstrap CIs, and the
    CI of the per-episode (paired) difference, so a verdict is not evaluation noise."""
    from agents.evaluation.statistics import bootstrap_ci
    from world_models.rollouts import run_episodes
    results = {}
    for name, agent in agents.items():
        planner = getattr(agent, "planner", None)
        stats = run_episodes(env, functools.partial(_act, agent), episodes, seed,
                             on_reset=planner.reset if planner is not None else None)
        results[name] = np.asarray(stats.successes if metric == "success_rate" else stats.returns, dtype=float)
        low, high = bootstrap_ci(results[name][None], statistic=np.mean)
        print(f"  final {name}: mean {metric} {results[name].mean():.2f} over {episodes} episodes "
              f"(seeds {seed}..{seed + episodes - 1}), 95% CI [{low:.2f}, {high:.2f}]")
    difference = results["mpc"] - results["sac"]
    low, high = bootstrap_ci(difference[None], statistic=np.mean)
    print(f"  final mpc - sac: {difference.mean():.2f}, 95% CI [{low:.2f}, {high:.2f}] "
          f"({'no significant difference' if low <= 0 <= high else 'significant'})")


def plot_curves(curves: dict, metric: str, title: str, path: pathlib.Path, idle: float | None = None) -> None:
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, points in curves.items():
        ax.plot([p.steps for p in points], [getattr(p, metric) for p in points], marker="o", label=name)
    if idle is not None:
        ax.axhline(idle, color="grey", linestyle="--", label="zero action")
    ax.set_xscale("log")
    ax.set(xlabel="env steps", ylabel=metric.replace("_", " "))
    if metric == "success_rate":
        ax.set_ylim(-0.05, 1.05)
    ax.set_title(title, fontsize=7)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--what", default="latency",
                        choices=["latency", "distill", "gradient", "model-quality", "sample-efficiency"])
    parser.add_argument("--repeats", type=int, default=15, help="timed calls per contender (medians)")
    parser.add_argument("--device", default="cpu", help="cpu | cuda | auto (latency)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--state-dim", type=int, default=21, help="21: PandaPush's observation + achieved goal")
    parser.add_argument("--action-dim", type=int, default=3)
    parser.add_argument("--hidden-size", type=int, default=200, help="latency: ensemble width (issue: 200)")
    parser.add_argument("--num-layers", type=int, default=3, help="latency: ensemble hidden layers (issue: 3)")
    parser.add_argument("--envs", nargs="*", default=None,
                        help="latency: env counts planned at once (default 16); sample-efficiency: env ids")
    parser.add_argument("--no-peer", action="store_true", help="latency without TorchRL")
    parser.add_argument("--mpc-steps", type=int, default=4000)
    parser.add_argument("--sac-steps", type=int, default=20000)
    parser.add_argument("--mpc-eval-every", type=int, default=500)
    parser.add_argument("--sac-eval-every", type=int, default=2000)
    parser.add_argument("--eval-episodes", type=int, default=5)
    parser.add_argument("--final-episodes", type=int, default=0,
                        help="sample-efficiency: also evaluate both final agents on this many seeded episodes (CIs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--episodes", type=int, default=80, help="model-quality: episodes collected")
    parser.add_argument("--max-epochs", type=int, default=50, help="model-quality: fitting epochs at most")
    parser.add_argument("--patience", type=int, default=5, help="model-quality: early-stopping patience (epochs)")
    parser.add_argument("--data", default=None, help="model-quality: reuse this dataset instead of collecting")
    parser.add_argument("--std-floor", type=float, default=1e-3,
                        help="model-quality: normaliser and metric std floor, state units (1e-3: 1 mm, 1 mrad)")
    parser.add_argument("--euler-as-numbers", action="store_true",
                        help="model-quality: let the model regress Push's Euler angles as plain numbers")
    parser.add_argument("--worlds", type=int, default=16, help="gradient: Spaceship worlds planned at once")
    parser.add_argument("--episode-steps", type=int, default=100, help="gradient: MPC steps per episode")
    parser.add_argument("--out", default="runs/benchmarks/planning", help="curves (JSON, PNG)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.what == "latency":
        args.envs = [int(e) for e in (args.envs or [16])]
        latency(args)
    elif args.what == "distill":
        distill_rate(args)
    elif args.what == "gradient":
        gradient_vs_cem(args)
    elif args.what == "model-quality":
        import envs  # noqa: F401  (registers the Foresight/ ids)
        from scripts.benchmarks._planning_quality import model_quality
        env_id = args.envs[0] if args.envs else "Foresight/PandaPush-v0"
        model_quality(args, env_id, make_env(env_id))
    else:
        args.envs = args.envs or ["Pendulum-v1", "Foresight/PandaReach-v0", "Foresight/PandaPush-v0"]
        sample_efficiency(args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
