#!/usr/bin/env python3
"""The GPU paths measured side by side in one call (issue #15): ours on CUDA vs peers on the same machine's CPU.

    bash scripts/gpu/run.sh                                  # on the lent GPU machine: wheels, then this, ~4-5 min
    PYTHONPATH=. python scripts/benchmark.py gpu --out runs/benchmarks/gpu    # any CUDA machine
    PYTHONPATH=. python scripts/benchmark.py gpu --dry-run   # tiny sizes on the CPU, ~20 s (a test runs it)
    PYTHONPATH=. python scripts/benchmark.py gpu --dry-run --device cuda      # the same, as a GPU smoke test

Groups (``--only``; they run in this order, riskiest last):
  planning  fp32 / TF32 GEMM rates; CEM and MPPI 500 x H15 x 5 over a 5 x 3x200 ensemble for 256 envs
            at once, ms per action beside the floor (model FLOPs / GEMM rate on the model's layer) and the CPU
  worlds    batched CartPole and Pendulum steps/s at N = 2^16, 2^20, 2^22 vs gymnasium's vector envs on the CPU
  render    the batched 64x64 rasterizer's frames/s vs PyBullet TinyRenderer
  ppo       SB3 PPO whole learn() frames/s on 4,096 batched worlds vs make_vec_env with 16 CPU envs
  latent    the latent planning agent (lmpc): updates/s and ms per planned action for 256 envs, device vs CPU
  egl       84x84 Panda frames, PyBullet's EGL renderer vs TinyRenderer

Writes ``gpu.json`` and ``gpu.md`` (the Markdown table for docs/benchmarks.md) to ``--out`` after
every row, so a run cut short keeps its figures. A group is skipped when less of ``--budget-s``
is left than it is expected to take. Exits 1 if any measurement failed.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from foresight_base.devices import resolve_device
from scripts.benchmarks._gpu_planning import LatentSizes, PlanSizes, latent_rows, planning_rows
from scripts.benchmarks._gpu_report import Report, Row, command_line, machine_info
from scripts.benchmarks._gpu_sims import Timing, panda_renderer_rows, ppo_rows, render_rows, world_rows
from world_models.planners import CEMConfig, MPPIConfig

GROUPS = ("planning", "worlds", "render", "ppo", "latent", "egl")


@dataclass(frozen=True)
class RunSizes:
    """Every size of one run: the full GPU run, or the dry run's tiny copy of it (same code, small numbers)."""

    world_sizes: tuple[int, ...]
    pendulum_peer_envs: int
    """gymnasium's Pendulum has no vector env: its SyncVectorEnv peer (a Python loop) runs at this N."""
    timing: Timing
    render_batches: tuple[int, ...]
    ppo_worlds: int
    ppo_peer_envs: int
    ppo_n_steps: int
    ppo_rollouts: int
    ppo_peer_rollouts: int
    plan: PlanSizes
    latent: LatentSizes
    panda_image: int
    expected_s: dict[str, float]
    """Seconds each group is expected to take here; a group with less budget left is skipped."""


FULL = RunSizes(
    world_sizes=(2**16, 2**20, 2**22), pendulum_peer_envs=1024, timing=Timing(seconds=0.5, repeats=3),
    render_batches=(256, 4096, 16384),
    ppo_worlds=4096, ppo_peer_envs=16, ppo_n_steps=32, ppo_rollouts=4, ppo_peer_rollouts=10,
    plan=PlanSizes(hidden=200, layers=3, cem=CEMConfig(horizon=15, num_candidates=500, num_elites=50, iterations=5),
                   mppi=MPPIConfig(horizon=15, num_candidates=500, iterations=5), envs=256, cpu_envs=16,
                   repeats=10, square_gemm=8192),
    latent=LatentSizes(envs=256, learn_steps=256 * 8, updates=50, repeats=3),
    panda_image=84,
    expected_s={"planning": 45, "worlds": 100, "render": 20, "ppo": 60, "latent": 60, "egl": 30},
)

DRY = RunSizes(
    world_sizes=(2**6, 2**8), pendulum_peer_envs=16, timing=Timing(seconds=0.02, repeats=1),
    render_batches=(4, 16),
    ppo_worlds=64, ppo_peer_envs=4, ppo_n_steps=8, ppo_rollouts=1, ppo_peer_rollouts=1,
    plan=PlanSizes(hidden=32, layers=2, cem=CEMConfig(horizon=5, num_candidates=32, num_elites=4, iterations=2),
                   mppi=MPPIConfig(horizon=5, num_candidates=32, iterations=2, num_elites=8), envs=4, cpu_envs=2,
                   repeats=2, square_gemm=128),
    latent=LatentSizes(envs=4, learn_steps=32, updates=2, repeats=1),
    panda_image=84,
    expected_s={group: 1 for group in GROUPS},
)


def measurements(sizes: RunSizes, device: torch.device) -> dict[str, Callable[[], Iterator[Row]]]:
    """Each group's measurement, as a generator of rows (called when the group's turn comes)."""
    return {
        "planning": lambda: planning_rows(sizes.plan, device),
        "worlds": lambda: world_rows(sizes.world_sizes, sizes.pendulum_peer_envs, sizes.timing, device),
        "render": lambda: render_rows(sizes.render_batches, sizes.timing, device),
        "ppo": lambda: ppo_rows(sizes.ppo_worlds, sizes.ppo_peer_envs, sizes.ppo_n_steps, sizes.ppo_rollouts,
                                sizes.ppo_peer_rollouts, device),
        "latent": lambda: latent_rows(sizes.latent, device),
        "egl": lambda: panda_renderer_rows(sizes.panda_image, sizes.timing),
    }


def run_group(group: str, rows: Callable[[], Iterator[Row]], report: Report) -> None:
    """Add the group's rows as they come; a failure becomes a ``failed`` row (with its traceback on stderr)."""
    start = time.perf_counter()
    try:
        for row in rows():
            row.seconds = round(time.perf_counter() - start, 2)
            report.add(row)
            print(report.markdown().splitlines()[-1], flush=True)
            start = time.perf_counter()
    except Exception as error:  # one broken measurement must not cost the others their device time
        traceback.print_exc()
        report.add(Row(group, f"{group} (stopped)", status="failed", note=f"{type(error).__name__}: {error}",
                       seconds=round(time.perf_counter() - start, 2)))


def run(args: argparse.Namespace, device: torch.device) -> Report:
    sizes = DRY if args.dry_run else FULL
    torch.set_num_threads(args.threads)
    meta = {**machine_info(device), "command": command_line(), "dry_run": args.dry_run, "budget_s": args.budget_s}
    report = Report(pathlib.Path(args.out), meta)
    deadline = time.monotonic() + args.budget_s
    for group, rows in measurements(sizes, device).items():
        if group not in args.only:
            continue
        left = deadline - time.monotonic()
        if left < sizes.expected_s[group]:
            report.add(Row(group, group, status="skipped",
                           note=f"{left:.0f} s of the budget left, the group needs ~{sizes.expected_s[group]:.0f} s"))
            continue
        print(f"== {group} ({left:.0f} s of the budget left)", flush=True)
        run_group(group, rows, report)
    return report


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, torch.device]:
    parser = argparse.ArgumentParser(prog="benchmark.py gpu", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true",
                        help="tiny sizes (default device: cpu); proves the script runs")
    parser.add_argument("--device", default=None, help="cuda | cuda:N | cpu | auto (default: cuda; cpu for --dry-run)")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma list of groups, from {', '.join(GROUPS)}")
    parser.add_argument("--out", default="runs/benchmarks/gpu", help="folder for gpu.json and gpu.md")
    parser.add_argument("--budget-s", type=float, default=420.0,
                        help="seconds for all groups; a group that no longer fits is skipped (the device call: 480)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads for the CPU contenders (default: every core; 1 for --dry-run)")
    args = parser.parse_args(argv)
    groups = [g for g in args.only.split(",") if g]
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown or not groups:
        parser.error(f"unknown group(s) {unknown or args.only!r} in --only; valid: {', '.join(GROUPS)}")
    args.only = groups
    if args.budget_s <= 0:
        parser.error(f"--budget-s must be > 0, got {args.budget_s}")
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    args.threads = args.threads or (1 if args.dry_run else os.cpu_count() or 1)
    name = args.device or ("cpu" if args.dry_run else "cuda")
    if name.startswith("cuda") and not torch.cuda.is_available():  # before resolve_device: this says what to do
        parser.error(f"--device {name} but torch sees no CUDA device (torch {torch.__version__}); "
                     "use --dry-run for the CPU run")
    try:
        device = resolve_device(name)
    except ValueError as error:
        parser.error(str(error))
    if device.type != "cuda" and not args.dry_run:
        parser.error(f"the full-size run needs a CUDA device, got {device}; use --dry-run for tiny sizes on the CPU")
    return args, device


def main(argv: list[str]) -> int:
    args, device = parse_args(argv)
    report = run(args, device)
    print("\n" + report.markdown())
    print(f"wrote {pathlib.Path(args.out) / 'gpu.json'} and gpu.md")
    return 1 if any(row.status == "failed" for row in report.rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
