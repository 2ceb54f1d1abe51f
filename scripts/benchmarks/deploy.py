"""Deployment benchmark: exported policy vs SB3's own predict, alone and inside the 50 Hz loop.

    python scripts/benchmark.py deploy                 # defaults: 5 repeats, 3 s loop runs
    python scripts/benchmark.py deploy --loop-seconds 10 --repeats 7

1. Inference: one observation -> one action, per call: ONNX on onnxruntime (ours), the
   ``torch.export`` program (ours, alternative) and ``model.predict`` (SB3, the peer), for SAC's
   default MultiInputPolicy on ``PandaReach`` goal observations, measured interleaved.
2. Control loop at --rate Hz on the simulated Panda (physics included): ONNX policy vs SB3 predict
   as the policy, alternating runs; achieved rate, p50/p99 period, p50/p99 jitter, overruns.
3. Safety in simulated evaluation: PandaReach's scripted expert (a saturating P-controller) with and
   without the supervisor in front of the env: success rate, mean steps to success, and how often
   the supervisor would have clamped it on the robot.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np
import torch

from agents.deploy.control_loop import ControlLoop, LoopConfig
from agents.deploy.export import export_onnx, export_program
from agents.deploy.runtime import load_policy
from envs.adapters.gym_env import SupervisedEnv
from envs.adapters.safety import SafetyConfig, SafetySupervisor
from envs.adapters.sim import make_sim_robot, physics_for_rate
from envs.adapters.sim_panda import panda_limits, panda_reach_goal


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repeats (medians reported)")
    parser.add_argument("--calls", type=int, default=300, help="inference calls per repeat")
    parser.add_argument("--rate", type=float, default=50.0, help="control rate (Hz)")
    parser.add_argument("--loop-seconds", type=float, default=3.0, help="length of each loop run (s)")
    parser.add_argument("--threads", type=int, default=1, help="torch / onnxruntime threads")
    parser.add_argument("--episodes", type=int, default=20, help="episodes of the safety evaluation")
    return parser.parse_args()


def make_model(threads: int):
    """SAC with SB3's default network on PandaReach's goal observations (weights untrained: same cost)."""
    import gymnasium as gym
    from stable_baselines3 import SAC

    import envs  # noqa: F401

    torch.set_num_threads(threads)
    env = gym.make("Foresight/PandaReach-v0", obs_mode="goal")
    model = SAC("MultiInputPolicy", env, device="cpu", seed=0)
    return model, env


def per_call_ms(fn, observation, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn(observation)
    return (time.perf_counter() - start) / calls * 1e3


def inference(model, env, args) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        onnx = load_policy(export_onnx(model, f"{tmp}/p.onnx"))
        program = load_policy(export_program(model, f"{tmp}/p.pt2"))
    obs, _ = env.reset(seed=0)
    contenders = {"onnx (ours)": onnx, "torch.export (ours)": program,
                  "sb3 predict (peer)": lambda o: model.predict(o, deterministic=True)[0]}
    times = {name: [] for name in contenders}
    for _ in range(args.repeats):
        for name, fn in contenders.items():
            times[name].append(per_call_ms(fn, obs, args.calls))
    medians = {name: float(np.median(t)) for name, t in times.items()}
    return {"per_call_ms": medians, "sb3_over_onnx": medians["sb3 predict (peer)"] / medians["onnx (ours)"]}


def loop_run(policy_fn, args) -> dict:
    spec = panda_reach_goal()
    desired = spec.sample(np.random.default_rng(0))
    with make_sim_robot("panda", "ee", True, physics=physics_for_rate(args.rate)) as robot:
        supervisor = SafetySupervisor(robot.limits, SafetyConfig(watchdog_s=None))
        loop = ControlLoop(robot, lambda data: policy_fn(spec.view(data, desired)), supervisor,
                           LoopConfig(args.rate, duration_s=args.loop_seconds))
        return loop.run().summary()


def control_loop(model, args) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        onnx = load_policy(export_onnx(model, f"{tmp}/p.onnx"))
    contenders = {"onnx (ours)": onnx, "sb3 predict (peer)": lambda o: model.predict(o, deterministic=True)[0]}
    runs = {name: [] for name in contenders}
    for _ in range(max(1, args.repeats // 2)):
        for name, fn in contenders.items():
            runs[name].append(loop_run(fn, args))
    keys = ("rate_hz", "period_p50_ms", "period_p99_ms", "jitter_p50_ms", "jitter_p99_ms", "compute_p50_ms",
            "compute_p99_ms", "overruns")
    return {name: {k: float(np.median([r[k] for r in rs])) for k in keys} for name, rs in runs.items()}


def expert_episodes(env, episodes: int) -> dict:
    """Success rate and mean steps to first success of the env's scripted expert."""
    successes, steps_to_success = 0, []
    for episode in range(episodes):
        env.reset(seed=episode)
        for step in range(1, 51):
            *_, truncated, info = env.step(env.unwrapped.scripted_action())
            if info["is_success"]:
                successes += 1
                steps_to_success.append(step)
                break
    return {"success_rate": successes / episodes,
            "mean_steps_to_success": float(np.mean(steps_to_success)) if steps_to_success else float("nan")}


def safety_evaluation(args) -> dict:
    import gymnasium as gym

    import envs  # noqa: F401

    plain = gym.make("Foresight/PandaReach-v0", obs_mode="goal")
    supervised = SupervisedEnv(gym.make("Foresight/PandaReach-v0", obs_mode="goal"),
                               SafetySupervisor(panda_limits(block_gripper=True), SafetyConfig(watchdog_s=None)))
    result = {"without supervisor": expert_episodes(plain, args.episodes),
              "with supervisor": expert_episodes(supervised, args.episodes)}
    report = supervised.report()
    result["interventions"] = {k: round(v, 4) for k, v in report.items() if k.endswith("_rate") or k == "commands"}
    plain.close()
    supervised.close()
    return result


def main() -> None:
    args = parse_args()
    model, env = make_model(args.threads)
    result = {"inference": inference(model, env, args), "loop": control_loop(model, args),
              "safety": safety_evaluation(args), "settings": vars(args)}
    env.close()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
