#!/usr/bin/env python3
"""PyBullet worlds vs panda-gym, side by side in one run: steps/s, frames/s and their ratios.

Sections (all at 25 Hz control, random actions, interleaved repeats, medians):
    same-physics  ours at panda-gym's physics (2 ms x 20 substeps) vs PandaReach-v3 / PandaPush-v3
    defaults      ours at our defaults (4 ms x 10 substeps, 20 solver iterations) vs the same panda-gym envs
    pixels        84x84 RGB: ours in obs_mode="rgb" vs panda-gym step + render(84x84), and render alone
    scripted      success of our scripted experts at the defaults (target >= 95%)

    python scripts/benchmark.py envs                      # everything
    python scripts/benchmark.py envs --sections pixels --repeats 3
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np

import envs  # noqa: F401  (registers the Foresight ids)

TASKS = ("Reach", "Push")
SECTIONS = ("same-physics", "defaults", "pixels", "scripted")
TARGETS = {("same-physics", "Reach"): 1.15, ("same-physics", "Push"): 1.25, ("defaults", "Reach"): 2.0,
           ("defaults", "Push"): 2.0, ("pixels", "Reach"): 2.0, ("pixels", "Push"): 2.0}
SAME_PHYSICS = {"timestep": 0.002, "substeps": 20, "solver_iterations": 50}  # panda-gym's settings


def _stepper(env: gym.Env, seed: int, render: bool = False) -> Callable[[], None]:
    """One call = one environment step (plus ``render()`` when asked), resetting at episode ends."""
    env.reset(seed=seed)
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(64)]
    counter = iter(range(1 << 62))

    def step() -> None:
        _, _, terminated, truncated, _ = env.step(actions[next(counter) % len(actions)])
        if render:
            env.render()
        if terminated or truncated:
            env.reset()

    return step


def timed(call: Callable[[], None], calls: int) -> float:
    """Seconds taken by ``calls`` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return time.perf_counter() - start


def compare(ours: Callable[[], None], peer: Callable[[], None], calls: int, repeats: int) -> dict[str, float]:
    """Median rates (calls/s) and mean time per call (us) of ours and the peer, measured alternately."""
    seconds = [(timed(ours, calls), timed(peer, calls)) for _ in range(repeats)]
    ours_s, peer_s = [s[0] for s in seconds], [s[1] for s in seconds]
    return {
        "ours": calls / statistics.median(ours_s), "peer": calls / statistics.median(peer_s),
        "ours_us": 1e6 * sum(ours_s) / (calls * repeats), "peer_us": 1e6 * sum(peer_s) / (calls * repeats),
    }


class PhysicsClock:
    """Wraps an env's ``sim.step`` (ours and panda-gym's share the name) to total the time in physics."""

    def __init__(self, env: gym.Env) -> None:
        self.seconds, self.calls = 0.0, 0
        sim = env.unwrapped.sim
        inner = sim.step

        def timed_step() -> None:
            start = time.perf_counter()
            inner()
            self.seconds += time.perf_counter() - start
            self.calls += 1

        sim.step = timed_step

    def per_step_us(self) -> float:
        return 1e6 * self.seconds / max(self.calls, 1)


def _panda_gym(task: str, **kwargs) -> gym.Env:
    import panda_gym  # noqa: F401  (registers PandaReach-v3 ...; the `bench` extra)

    return gym.make(f"Panda{task}-v3", **kwargs)


def _report(section: str, task: str, unit: str, ours: float, peer: float) -> None:
    target = TARGETS.get((section, task))
    verdict = "" if target is None else f"  target >= {target:.2f}x: {'met' if ours / peer >= target else 'NOT met'}"
    print(f"{section:13s} {task:6s} ours {ours:8.1f} {unit}  panda-gym {peer:8.1f} {unit}  "
          f"ratio {ours / peer:5.2f}x{verdict}")


def bench_physics(section: str, args: argparse.Namespace) -> None:
    for task in args.tasks:
        kwargs = SAME_PHYSICS if section == "same-physics" else {}
        ours = gym.make(f"Foresight/Panda{task}-v0", obs_mode="goal", **kwargs)
        peer = _panda_gym(task)
        clocks = PhysicsClock(ours), PhysicsClock(peer)
        for clock in clocks:  # count only the timed steps
            clock.seconds, clock.calls = 0.0, 0
        result = compare(_stepper(ours, 0), _stepper(peer, 0), args.steps, args.repeats)
        _report(section, task, "steps/s", result["ours"], result["peer"])
        ours_physics, peer_physics = (clock.per_step_us() for clock in clocks)
        ours_rest, peer_rest = result["ours_us"] - ours_physics, result["peer_us"] - peer_physics
        print(f"{'':13s} {task:6s} mean per step: physics ours {ours_physics:5.0f} us, "
              f"panda-gym {peer_physics:5.0f} us; the rest ours {ours_rest:4.0f} us, panda-gym {peer_rest:4.0f} us")
        ours.close(), peer.close()


def bench_pixels(args: argparse.Namespace) -> None:
    size = 84
    for task in args.tasks:
        ours = gym.make(f"Foresight/Panda{task}-v0", obs_mode="rgb", image_size=size)
        peer = _panda_gym(task, render_mode="rgb_array", render_width=size, render_height=size)
        result = compare(_stepper(ours, 0), _stepper(peer, 0, render=True), args.steps // 4, args.repeats)
        _report("pixels", task, "obs/s  ", result["ours"], result["peer"])
        renders = compare(ours.unwrapped.render_frames, peer.render, args.steps // 4, args.repeats)
        _report("render-only", task, "frames/s", renders["ours"], renders["peer"])
        ours.close(), peer.close()


def bench_scripted(args: argparse.Namespace) -> None:
    for name in ("PandaReach", "PandaPush", "PandaPickAndPlace", "MobilePointNav"):
        env = gym.make(f"Foresight/{name}-v0")
        wins = []
        for seed in range(args.episodes):
            env.reset(seed=seed)
            info, truncated = {}, False
            while not truncated:
                _, _, _, truncated, info = env.step(env.unwrapped.scripted_action())
            wins.append(info["is_success"])
        success = float(np.mean(wins))
        print(f"scripted      {name:18s} success {success:6.1%} over {args.episodes} seeds  target >= 95%: "
              f"{'met' if success >= 0.95 else 'NOT met'}")
        env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="what to measure")
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS), help="panda-gym tasks to compare")
    parser.add_argument("--steps", type=int, default=400, help="steps per timed run")
    parser.add_argument("--repeats", type=int, default=7, help="interleaved timed runs per side (median reported)")
    parser.add_argument("--episodes", type=int, default=100, help="seeded episodes per scripted controller")
    args = parser.parse_args()
    for section in args.sections:
        if section in ("same-physics", "defaults"):
            bench_physics(section, args)
        elif section == "pixels":
            bench_pixels(args)
        else:
            bench_scripted(args)


if __name__ == "__main__":
    main()
