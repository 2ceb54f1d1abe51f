#!/usr/bin/env python3
"""World models and planning benchmarks, ours and a peer side by side in one run.

Sections (``--what``):
  latency     CEM 500 x 15 x 5 over a 5-member 3x200 ensemble: our planner vs TorchRL's CEMPlanner
              on the same model; PETS trajectory sampling (20 particles); many envs at once.
  distill     actions per second of a distilled policy vs the planner it imitates.

    python scripts/benchmark.py planning --what latency --repeats 15
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Callable

import torch

from world_models.devices import resolve_device
from world_models.models import EnsembleDynamics, ModelConfig
from world_models.planners import CEMConfig, CEMPlanner
from world_models.scoring import model_score_fn


def median_ms(fn: Callable[[], object], repeats: int, device: torch.device) -> float:
    """Median wall time of ``fn`` in milliseconds after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def interleaved(fns: dict[str, Callable[[], object]], repeats: int, device: torch.device) -> dict[str, float]:
    """Medians of several functions measured in alternation, so machine noise hits all alike."""
    samples = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            samples[name].append(median_ms(fn, 1, device))
    return {name: statistics.median(values) for name, values in samples.items()}


def latency(args: argparse.Namespace) -> None:
    device = resolve_device(args.device)
    torch.manual_seed(0)
    model = EnsembleDynamics(args.state_dim, args.action_dim, ModelConfig(5, 200, 3)).to(device).eval()
    low, high = -torch.ones(args.action_dim), torch.ones(args.action_dim)
    config = CEMConfig(horizon=15, num_candidates=500, num_elites=50, iterations=5)
    state = torch.randn(1, args.state_dim, device=device)

    def ours(particles: int = 1, envs: int = 1) -> Callable[[], object]:
        planner = CEMPlanner(low, high, config, device=device)
        starts = state.expand(envs, -1)
        score = model_score_fn(model, starts, particles=particles, generator=torch.Generator(device).manual_seed(0))
        return lambda: planner.plan(score, envs)

    fns = {"ours": ours()}
    if device.type == "cpu" and not args.no_peer:
        fns["torchrl"] = _peer(model, state[0])
    with torch.no_grad():
        results = interleaved(fns, args.repeats, device)
        results["ours_pets20"] = median_ms(ours(particles=20), max(args.repeats // 3, 3), device)
        for envs in args.envs:
            results[f"ours_{envs}envs"] = median_ms(ours(envs=envs), max(args.repeats // 3, 3), device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; state {args.state_dim}, action {args.action_dim}; CEM 500 x 15 x 5, ensemble 5 x 3x200")
    for key, value in results.items():
        print(f"  {key:>14}: {value:8.2f} ms per action")
    if "torchrl" in results:
        print(f"  ratio torchrl/ours: {results['torchrl'] / results['ours']:.2f}x")


def _peer(model: EnsembleDynamics, state: torch.Tensor) -> Callable[[], object]:
    from _torchrl_peer import torchrl_cem
    plan = torchrl_cem(model, 15, 5, 500, 50)
    return lambda: plan(state)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--what", default="latency", choices=["latency"])
    parser.add_argument("--repeats", type=int, default=15, help="timed calls per contender (medians reported)")
    parser.add_argument("--device", default="cpu", help="cpu | cuda | auto")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--state-dim", type=int, default=21, help="21: PandaPush's observation + achieved goal")
    parser.add_argument("--action-dim", type=int, default=3)
    parser.add_argument("--envs", type=int, nargs="*", default=[16], help="env counts planned for at once")
    parser.add_argument("--no-peer", action="store_true", help="skip TorchRL")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
    {"latency": latency}[args.what](args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
