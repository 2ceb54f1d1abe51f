#!/usr/bin/env python3
"""Deploy a trained policy to a robot: export it, run it at a fixed rate, compare sim and real.

    # 1. export a training run (or --model an SB3 zip) to ONNX, checked against the original on 1,000 observations
    python scripts/deploy.py export --run runs/Foresight_PandaReach-v0/sac/<stamp>_s0 --out policy.onnx
    # 2. run it: on the simulated robot, or on a robot server (scripts/robot_server.py)
    python scripts/deploy.py run --policy policy.onnx --robot panda --block-gripper --rate 25 --steps 500 --log runs/deploy/a
    python scripts/deploy.py run --policy policy.onnx --robot tcp://127.0.0.1:5555 --duration 60 --log runs/deploy/b
    # 3. replay the log in simulation: per-step divergence and estimated command latency
    python scripts/deploy.py replay --log runs/deploy/b

Every command goes through the safety supervisor (bounds, max change per step, watchdog). After a
safe stop (lost robot, watchdog, error) the robot stays stopped until you type 'resume' (exit
status 3 when it is not resumed). Ctrl-C stops the robot first, then writes the log (status 130).
"""  # noqa: E501 - this text is the --help page, kept as it was
from __future__ import annotations

import argparse
import json
import logging
import sys

import numpy as np

from agents.deploy.control_loop import ControlLoop, LoopConfig
from agents.deploy.log import DeployLog, read_deploy_log, replay_period
from agents.deploy.runtime import load_policy
from agents.deploy.session import run_session
from agents.deploy.uncertainty import RecordedScore, load_gate
from agents.runs.cli import HelpFormatter
from agents.training.hyperparams import parse_overrides
from envs.adapters.base import RobotAdapter, SignalStop
from envs.adapters.errors import RobotError, RobotStopped
from envs.adapters.faults import FaultConfig
from envs.adapters.replay import replay_divergence
from envs.adapters.safety import SafetyConfig, SafetySupervisor
from envs.adapters.sim import CONTROLS, ROBOTS, make_sim_robot, physics_for_rate, sim_robot_for_commands
from envs.adapters.sim_panda import panda_reach_goal
from envs.adapters.watchdog import Watchdog

REPLAY_KEYS = {"panda": "ee_position", "mobile": "base_pose"}
SIM_RATE_HZ = 25.0
"""The simulated robots' default rate: the Panda envs' control rate (what their policies learnt)."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    exp = sub.add_parser("export", help="SB3 model zip or training run -> .onnx or .pt2, verified",
                         formatter_class=HelpFormatter)
    source = exp.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", help="a run folder written by scripts/train.py (VecNormalize folded in)")
    source.add_argument("--model", help="an SB3 model zip (needs --algo and --env)")
    exp.add_argument("--which", default="best", choices=("best", "latest"), help="run checkpoint to export")
    exp.add_argument("--algo", help="SB3 algorithm of --model: PPO, SAC, TD3, A2C, DDPG, DQN")
    exp.add_argument("--env", help="gymnasium id giving --model's spaces, e.g. Foresight/PandaReach-v0")
    exp.add_argument("--env-kwargs", nargs="*", default=[], metavar="KEY=VALUE",
                     help="gymnasium.make kwargs: obs_mode=goal, or one JSON mapping")
    exp.add_argument("--out", required=True, help="output file; .onnx (onnxruntime) or .pt2 (torch.export)")
    exp.add_argument("--check", type=int, default=1000, help="observations to compare exported vs original")
    exp.add_argument("--trust-wrapper", nargs="*", default=[], metavar="PATH",
                     help="env_wrapper classes the run's config may name besides the known ones (runs their code)")
    run = sub.add_parser("run", help="fixed-rate control loop on a robot", formatter_class=HelpFormatter)
    run.add_argument("--policy", required=True, help="exported policy (.onnx or .pt2)")
    run.add_argument("--robot", default="panda",
                     help=f"a simulated robot ({', '.join(ROBOTS)}) or a robot server tcp://host:port")
    run.add_argument("--control", default="ee", choices=CONTROLS, help="simulated Panda: end-effector or joint deltas")
    run.add_argument("--block-gripper", action="store_true", help="simulated Panda: no gripper command (reaching)")
    run.add_argument("--image-size", type=int, help="simulated Panda: also read its camera (pixels square)")
    run.add_argument("--goal", type=float, nargs="+", help="desired goal for goal-conditioned policies (metres)")
    run.add_argument("--rate", type=float,
                     help="control rate (Hz); default: the robot's own (a robot server says it), else 25 Hz, the "
                          "rate the Panda envs train at. A robot that steps at another rate is refused")
    run.add_argument("--steps", type=int, help="stop after this many steps")
    run.add_argument("--duration", type=float, help="stop after this many seconds")
    run.add_argument("--log", help="dataset folder for the world-models log (must not exist)")
    run.add_argument("--watchdog-s", type=float, help="safe stop without a valid command (s; default: 3 periods)")
    run.add_argument("--no-rate-limit", action="store_true", help="turn the max change per step off")
    run.add_argument("--no-resume", action="store_true", help="never resume after a safe stop")
    for name, help_ in (("latency-s", "injected latency (s)"), ("jitter-s", "latency spread (s)"),
                        ("drop", "P(command lost)"), ("noise-std", "sensor noise std")):
        run.add_argument(f"--{name}", type=float, default=0.0, help=f"sim robot: {help_}")
    run.add_argument("--seed", type=int, default=0, help="seeds faults and a sampled goal")
    gate = run.add_argument_group("uncertainty gate (a world-model ensemble's disagreement on each step)")
    gate.add_argument("--uncertainty-model", metavar="MODEL.pt",
                      help="ensemble from scripts/fit_world_model.py, fit on data from this robot's env")
    gate.add_argument("--max-disagreement", type=float,
                      help="hold the robot this step above this disagreement (the model's normalised units)")
    gate.add_argument("--slow-disagreement", type=float,
                      help="scale commands towards holding above this disagreement")
    rep = sub.add_parser("replay", help="replay a log in simulation: divergence and latency",
                         formatter_class=HelpFormatter)
    rep.add_argument("--log", required=True, help="a log written by 'run --log'")
    rep.add_argument("--robot", choices=ROBOTS, help="simulated robot to replay on (default: from the log's commands)")
    rep.add_argument("--key", help="reading to compare (default: ee_position for the Panda, base_pose for the base)")
    rep.add_argument("--max-delay", type=int, default=10, help="largest latency considered (steps)")
    return parser.parse_args(argv)


def export(args: argparse.Namespace) -> dict:
    import envs  # noqa: F401  (registers the Foresight ids)
    from agents.deploy.export import ExportMismatch
    from agents.deploy.flows import export_run, export_sb3_zip

    try:
        if args.run:
            from agents.training.wrapper_allowlist import trust_wrappers

            trust_wrappers(args.trust_wrapper)
            return export_run(args.run, args.out, args.which, args.check)
        if not (args.algo and args.env):
            raise SystemExit("--model needs --algo and --env (the zip's own copies of the spaces are pickles)")
        return export_sb3_zip(args.model, args.algo, args.env, parse_overrides(args.env_kwargs), args.out, args.check)
    except ExportMismatch as err:  # the file is written, and it is wrong: say so, do not deploy it
        raise SystemExit(f"export check failed on {args.check} observations: {err}; "
                         f"{args.out} must not be deployed") from None


def policy_on_readings(path: str, goal: list[float] | None, seed: int):
    """The exported policy as a function of robot readings (goal policies get the goal dict)."""
    policy = load_policy(path)
    inputs = policy.meta["inputs"]
    if "desired_goal" in inputs:
        spec = panda_reach_goal()
        desired = np.asarray(goal) if goal else spec.sample(np.random.default_rng(seed))
        return lambda data: policy(spec.view(data, desired))
    if "obs" in inputs:
        key = "observation" if len(inputs["obs"]) == 1 else ("rgb" if inputs["obs"][-1] == 3 else "depth")
        return lambda data: policy(data[key])  # a state vector, or a camera image (--image-size)
    return lambda data: policy(data)  # a dict policy whose keys are reading keys


def make_robot(args: argparse.Namespace):
    if args.robot.startswith(("tcp://", "ipc://")):
        from envs.adapters.network import NetworkRobotAdapter

        return NetworkRobotAdapter(args.robot)
    if args.robot not in ROBOTS:
        raise SystemExit(f"--robot must be one of {ROBOTS} or tcp://host:port, got {args.robot!r}")
    faults = FaultConfig(latency_s=args.latency_s, jitter_s=args.jitter_s, drop_command=args.drop,
                         noise_std=args.noise_std, seed=args.seed)
    try:
        physics = physics_for_rate(args.rate or SIM_RATE_HZ)
    except ValueError as err:
        raise SystemExit(f"--rate: {err}") from None
    return make_sim_robot(args.robot, args.control, args.block_gripper, faults, physics, image_size=args.image_size)


def loop_rate(requested: float | None, robot) -> float:
    """The control rate: the robot's own when it steps at one (a mismatch is refused), else ``requested``."""
    declared = robot.period_s
    if declared is None:
        return requested or SIM_RATE_HZ
    if requested is not None and abs(requested * declared - 1.0) > 0.01:
        raise SystemExit(f"--rate {requested:g} Hz, but the robot at {getattr(robot, 'endpoint', 'this adapter')} "
                         f"advances {declared:.3g} s per command ({1 / declared:.3g} Hz): the loop and the log would "
                         f"not show what the robot did. Run with --rate {1 / declared:.3g} (or leave --rate out), or "
                         f"start the robot server with --rate {requested:g}")
    return 1.0 / declared


def ask_operator(reason: str) -> bool:
    print(f"robot safe-stopped: {reason}\ntype 'resume' to continue, anything else to quit: ", end="", flush=True)
    try:
        return input().strip() == "resume"
    except EOFError:
        return False


def check_gate_flags(args: argparse.Namespace) -> None:
    """The gate's flags come together: a model needs a threshold, a threshold needs a model."""
    thresholds = args.max_disagreement is not None or args.slow_disagreement is not None
    if args.uncertainty_model and not thresholds:
        raise SystemExit("--uncertainty-model needs --max-disagreement and/or --slow-disagreement")
    if thresholds and not args.uncertainty_model:
        raise SystemExit("--max-disagreement / --slow-disagreement need --uncertainty-model MODEL.pt")


def uncertainty_gate(args: argparse.Namespace, robot: RobotAdapter) -> RecordedScore | None:
    """The ensemble's disagreement on this robot's readings, checked against them before any move."""
    if not args.uncertainty_model:
        return None
    reading = robot.observe().data
    achieved = panda_reach_goal().achieved if "ee_position" in reading else None
    action_size = sum(f.size for f in robot.limits.fields.values())
    return load_gate(args.uncertainty_model, reading, action_size, achieved)


def run(args: argparse.Namespace) -> dict:
    check_gate_flags(args)
    policy = policy_on_readings(args.policy, args.goal, args.seed)
    with make_robot(args) as robot:
        rate = loop_rate(args.rate, robot)
        safety = SafetyConfig(rate_limit=not args.no_rate_limit, watchdog_s=args.watchdog_s or 3.0 / rate,
                              uncertainty_slow=args.slow_disagreement, uncertainty_stop=args.max_disagreement)
        supervisor = SafetySupervisor(robot.limits, safety)
        gate = uncertainty_gate(args, robot)
        recorder = None
        if args.log:
            recorder = DeployLog(args.log, *robot.limits.bounds,
                                 {k: f.size for k, f in robot.limits.fields.items()}, supervisor.interventions, rate,
                                 extra={"robot": args.robot}, robot_period_s=robot.period_s)
            recorder.open(robot.observe().data)
        loop = ControlLoop(robot, policy, supervisor, LoopConfig(rate, args.steps, args.duration),
                           uncertainty=gate, recorder=recorder)
        status = "completed"
        try:
            with Watchdog(supervisor, robot):
                runs = run_session(loop, None if args.no_resume else ask_operator)
        except (RobotError, RobotStopped) as err:  # the loop has already safe-stopped the robot
            runs, status = [loop.stats], f"safe-stopped, not resumed: {type(err).__name__}: {err}"
        finally:
            if recorder is not None:
                recorder.close()
    result = {"status": status, "rate_hz": rate, "loop": [r.summary() for r in runs], "safety": supervisor.report(),
              "log": args.log}
    return result if gate is None else {**result, "uncertainty": gate.summary()}


def replay(args: argparse.Namespace) -> dict:
    try:
        sidecar, episodes = read_deploy_log(args.log)
        period_s = replay_period(sidecar, episodes)
    except ValueError as err:
        raise SystemExit(f"cannot replay {args.log}: {err}") from None
    name, control, block_gripper = sim_robot_for_commands(sidecar["command_keys"])
    name = args.robot or name
    key = args.key or REPLAY_KEYS[name]
    reports = []
    with make_sim_robot(name, control, block_gripper, physics=physics_for_rate(1.0 / period_s)) as sim:
        for episode in episodes:
            report = replay_divergence(sim, episode.observations, episode.actions, period_s, key, args.max_delay)
            reports.append({**report.summary(), "divergence": np.round(report.divergence, 5).tolist()})
    return {"robot": name, "rate_hz": 1.0 / period_s, "episodes": reports}


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.command == "run" and args.steps is None and args.duration is None and not sys.stdin.isatty():
        raise SystemExit("give --steps or --duration (or run from a terminal and stop with Ctrl-C)")
    result = {"export": export, "run": run, "replay": replay}[args.command](args)
    print(json.dumps(result, indent=1))
    return 0 if result.get("status", "completed") == "completed" else 3


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (KeyboardInterrupt, SignalStop) as stop:
        print(f"{stop!r}: robot stopped, log written", file=sys.stderr)
        sys.exit(130 if isinstance(stop, KeyboardInterrupt) else 143)
