#!/usr/bin/env python3
"""Serve a robot over the Foresight robot protocol (ZeroMQ, JSON + flat arrays, no pickle).

This is the program that runs next to a robot's driver; here it serves a simulated robot (the Panda or the wheeled base) as its
stand-in, optionally behind injected latency, jitter, lost messages and sensor noise. It binds to
loopback unless --allow-remote is given, and safe-stops the robot when the client goes quiet for
--watchdog-s after a command, on SIGINT/SIGTERM, and on any error.

    python scripts/robot_server.py --endpoint tcp://127.0.0.1:5555
    python scripts/deploy.py run --policy policy.onnx --robot tcp://127.0.0.1:5555
"""  # noqa: E501 - this text is the --help page, kept as it was
from __future__ import annotations

import argparse
import logging
import sys

from agents.runs.cli import HelpFormatter
from envs.adapters.base import SignalStop
from envs.adapters.faults import FaultConfig
from envs.adapters.server import DEFAULT_ENDPOINT, RobotServer
from envs.adapters.sim import CONTROLS, ROBOTS, make_sim_robot, physics_for_rate


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--endpoint", default=DEFAULT_ENDPOINT, help="bind address; port * picks a free one")
    parser.add_argument("--allow-remote", action="store_true", help="permit a non-loopback bind address")
    parser.add_argument("--robot", default="panda", choices=ROBOTS, help="simulated robot")
    parser.add_argument("--control", default="ee", choices=CONTROLS, help="end-effector or joint deltas")
    parser.add_argument("--block-gripper", action="store_true", help="no gripper command (reaching)")
    parser.add_argument("--image-size", type=int, help="Panda: also serve its camera (pixels square)")
    parser.add_argument("--rate", type=float, default=25.0,
                        help="control rate (Hz): the simulated robot advances 1/rate s per command, and says so "
                             "to clients (deploy.py run refuses another --rate)")
    parser.add_argument("--watchdog-s", type=float, default=0.25, help="safe stop after this long without a request")
    parser.add_argument("--latency-s", type=float, default=0.0, help="injected command latency (s)")
    parser.add_argument("--jitter-s", type=float, default=0.0, help="injected latency spread (s)")
    parser.add_argument("--drop", type=float, default=0.0, help="probability a command is lost")
    parser.add_argument("--noise-std", type=float, default=0.0, help="sensor noise std (robot units)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the injected faults")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    faults = FaultConfig(latency_s=args.latency_s, jitter_s=args.jitter_s, drop_command=args.drop,
                         noise_std=args.noise_std, seed=args.seed)
    try:
        physics = physics_for_rate(args.rate)
    except ValueError as err:
        raise SystemExit(f"--rate: {err}") from None
    robot = make_sim_robot(args.robot, args.control, args.block_gripper, faults, physics, image_size=args.image_size)
    server = RobotServer(robot, args.endpoint, watchdog_s=args.watchdog_s, allow_remote=args.allow_remote)
    try:
        server.serve(on_ready=lambda: print(f"serving {server.bound_endpoint} at {1 / robot.period_s:.3g} Hz "
                                            f"({robot.period_s:.3g} s per command) session {server.session}",
                                            flush=True))
    except (KeyboardInterrupt, SignalStop) as stop:
        print(f"robot stopped and closed: {stop!r}", flush=True)
        return 130 if isinstance(stop, KeyboardInterrupt) else 143
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
