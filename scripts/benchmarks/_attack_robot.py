"""Attacks on the robot side: malformed messages, the change limit, request ids, message sizes."""
from __future__ import annotations

import json
import logging
import pathlib
import socket as pysocket
import subprocess
import sys
import time

import numpy as np
import zmq
from _attack_common import Tally

ROOT = pathlib.Path(__file__).resolve().parents[2]


class _Served:
    """A RobotServer over a recording point robot in a thread (restartable when a message kills it)."""

    def __init__(self) -> None:
        from envs.adapters.point import PointRobotAdapter
        from tests.attacks.serving import serving

        class Recording(PointRobotAdapter):
            def _act(self, command):
                self.received.append(self.limits.join(command))
                return super()._act(command)

        self.robot = Recording()
        self.robot.received = []
        self._serving = serving(self.robot)
        self.server, self.thread = self._serving.__enter__()
        self.socket = self.new_socket()

    def new_socket(self):
        socket = zmq.Context.instance().socket(zmq.REQ)
        socket.setsockopt(zmq.LINGER, 0)
        socket.connect(self.server.bound_endpoint)
        return socket

    def ask(self, frames, timeout_s: float = 1.0):
        from envs.adapters.protocol import decode

        self.socket.send_multipart(frames)
        if not self.socket.poll(int(timeout_s * 1000)):
            self.socket.close(linger=0)
            self.socket = self.new_socket()
            return None
        return decode(self.socket.recv_multipart())[0]

    def close(self) -> None:
        self._serving.__exit__(None, None, None)
        self.socket.close(linger=0)


def attack_messages() -> Tally:
    """Class 4: every malformed request; the server must answer each with a typed error and live."""
    from tests.attacks.wire import malformed_requests

    logging.disable(logging.CRITICAL)
    tally, served = Tally("4. malformed message to the robot server"), _Served()
    for name, frames in malformed_requests(served.server.session).items():
        frames = malformed_requests(served.server.session)[name]  # the session of whoever serves now
        header = served.ask(frames)
        if not served.thread.is_alive():
            tally.add("server died", name)
            served.close()
            served = _Served()
        elif header is None:
            tally.add("no reply", name)
        else:
            tally.add("answered" if header.get("ok") is False and header.get("error_type") else "accepted bad", name)
    served.close()
    return tally


def panda_limits():
    """The simulated Panda's command limits (``envs.adapters.sim_panda`` now, ``sim`` before issue 11)."""
    try:
        from envs.adapters.sim_panda import panda_limits as limits
    except ImportError:
        from envs.adapters.sim import panda_limits as limits
    return limits()


def _max_delta(limits) -> np.ndarray:
    return np.concatenate([f.max_delta for f in limits.fields.values()])


def _count_steps(tally: Tally, commands: list[np.ndarray], max_delta: np.ndarray, what: str) -> None:
    previous = np.zeros_like(max_delta)
    for i, command in enumerate(commands):
        within = np.all(np.abs(command - previous) <= max_delta + 1e-9)
        tally.add("within limit" if within else "exceeded max_delta", f"{what} #{i}")
        previous = command


def attack_change_limit(n_fuzz: int = 10_000, n_raw: int = 1_000) -> list[Tally]:
    """Class 5: fuzzed commands through the supervisor, and raw reversals straight to the server."""
    from envs.adapters.protocol import encode
    from envs.adapters.safety import SafetyConfig, SafetySupervisor
    from tests.envs.adapters.hostile_commands import hostile_command

    logging.disable(logging.CRITICAL)
    supervised = Tally("5a. change limit: fuzzed commands through the supervisor")
    limits = panda_limits()
    supervisor = SafetySupervisor(limits, SafetyConfig(watchdog_s=None))
    rng = np.random.default_rng(0)
    decided = [limits.join(supervisor.supervise(hostile_command(rng, limits)).command) for _ in range(n_fuzz)]
    _count_steps(supervised, decided, _max_delta(limits), "supervised command")
    robot_side = Tally("5b. change limit: raw reversals sent to the robot server")
    served = _Served()
    for t in range(n_raw):
        velocity = [(-1.0) ** t, rng.uniform(-1, 1)]
        served.ask(encode({"op": "act", "id": t, "session": served.server.session, "client": "raw"},
                          {"velocity": np.array(velocity), "gripper": np.array([rng.uniform(-1, 1)])}))
    _count_steps(robot_side, served.robot.received, _max_delta(served.robot.limits), "robot-side command")
    served.close()
    return [supervised, robot_side]


def attack_request_ids(trials: int = 20) -> Tally:
    """Class 6a: two clients whose request ids both start at 1; the second one's act must execute."""
    from envs.adapters.network import NetworkRobotAdapter

    logging.disable(logging.CRITICAL)
    tally = Tally("6a. second client's act with a colliding id")
    for trial in range(trials):
        served = _Served()
        first = NetworkRobotAdapter(served.server.bound_endpoint, timeout_s=1.0).connect()
        first.act({"velocity": [0.1, 0.0], "gripper": [0.0]})
        second = NetworkRobotAdapter(served.server.bound_endpoint, timeout_s=1.0).connect()
        second.act({"velocity": [0.0, 0.2], "gripper": [0.0]})
        executed = len(served.robot.received) == 2 and np.allclose(served.robot.received[-1][:2], [0.0, 0.2])
        tally.add("executed" if executed else "dropped (told another client's command was sent)", f"trial {trial}")
        first.close()
        second.close()
        served.close()
    return tally


def _free_port() -> int:
    with pysocket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _peak_rss_mib(pid: int) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _start_server(port: int) -> subprocess.Popen:
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    return subprocess.Popen([sys.executable, str(ROOT / "scripts" / "robot_server.py"), "--endpoint",
                             f"tcp://127.0.0.1:{port}", "--robot", "mobile", "--watchdog-s", "5"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _ask(port: int, frames: list, timeout_s: float = 5.0):
    from envs.adapters.protocol import decode

    socket = zmq.Context.instance().socket(zmq.REQ)
    socket.setsockopt(zmq.LINGER, 0)
    socket.connect(f"tcp://127.0.0.1:{port}")
    socket.send_multipart(frames, copy=False)
    reply = decode(socket.recv_multipart())[0] if socket.poll(int(timeout_s * 1000)) else None
    socket.close(linger=0)
    return reply


def attack_message_sizes(big_mib: int = 256) -> Tally:
    """Class 6b: a huge frame and 32 x 16 MiB arrays, each sent to a fresh ``scripts/robot_server.py``
    (its peak RSS before and after), and the same arrays through the client's decode."""
    from envs.adapters.protocol import decode, encode

    tally = Tally("6b. oversized messages")
    frame16 = b"\0" * (1 << 24)
    arrays = [[f"a{i}", "uint8", [1 << 24]] for i in range(32)]
    many = [json.dumps({"v": 1, "op": "act", "id": 2, "arrays": arrays}).encode(), *[frame16] * 32]
    for name, frames in ((f"one {big_mib} MiB frame", [b"\0" * (big_mib << 20)]), ("32 x 16 MiB arrays", many)):
        port = _free_port()
        server = _start_server(port)
        try:
            deadline = time.monotonic() + 60
            while _ask(port, encode({"op": "hello", "id": 1}), 1.0) is None and time.monotonic() < deadline:
                pass
            before = _peak_rss_mib(server.pid)
            _ask(port, frames, timeout_s=3.0)
            alive = _ask(port, encode({"op": "hello", "id": 3}), 5.0) is not None
            grown = _peak_rss_mib(server.pid) - before
        finally:
            server.terminate()
            server.wait(10)
        outcome = "server died" if not alive else "refused" if grown < 64 else f"buffered (+{grown:.0f} MiB peak)"
        tally.add(outcome, f"{name}: peak RSS {before:.0f} -> {before + grown:.0f} MiB")
        print(f"    {name}: server peak RSS {before:.0f} MiB -> {before + grown:.0f} MiB", flush=True)
    try:
        decode(many)
        tally.add("passed every size check", "decode of 32 x 16 MiB arrays (client side)")
    except Exception:  # noqa: BLE001 - refused is what we want
        tally.add("refused", "decode of 32 x 16 MiB arrays (client side)")
    return tally


def attack_uncertainty() -> Tally:
    """Class 8: the supervisor's promise never to raise on bad input, for the uncertainty too."""
    from envs.adapters.safety import SafetyConfig, SafetySupervisor

    tally = Tally("8. supervise(uncertainty=<not a number>)")
    for score in ("high", [1.0, 2.0], object(), b"x", {"u": 1}):
        supervisor = SafetySupervisor(panda_limits(), SafetyConfig(watchdog_s=None))
        try:
            supervisor.supervise(np.zeros(4), uncertainty=score)
            tally.add("refused", repr(score))
        except Exception as err:  # noqa: BLE001
            tally.add(f"raised {type(err).__name__}", repr(score))
    return tally
