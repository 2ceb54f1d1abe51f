"""A robot process killed and restarted mid-run: the loop stops safely, the adapter reconnects, and
commands flow again only after an explicit resume."""
import signal
import socket
import subprocess
import sys
import threading

import numpy as np
import pytest

pytest.importorskip("zmq")

from agents.deploy.control_loop import ControlLoop, LoopConfig  # noqa: E402
from agents.deploy.session import run_session  # noqa: E402
from envs.adapters.errors import RobotStopped  # noqa: E402
from envs.adapters.network import NetworkRobotAdapter  # noqa: E402
from envs.adapters.safety import SafetyConfig, SafetySupervisor  # noqa: E402
from tests.helpers import ROOT, subprocess_env  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RobotProcess:
    """scripts/robot_server.py in a subprocess; waits for its 'serving' line; always killed."""

    def __init__(self, endpoint: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "scripts/robot_server.py", "--endpoint", endpoint,
                                      "--block-gripper"], cwd=ROOT, env=subprocess_env(), stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self.session = self._serving_line(timeout_s=60.0).split()[-1]

    def _serving_line(self, timeout_s: float) -> str:
        """The server's 'serving <endpoint> session <id>' line (PyBullet prints banners too)."""
        found: list[str] = []

        def read():
            for line in self.proc.stdout:
                if line.startswith("serving"):
                    found.append(line)
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout_s)
        if not found:
            self.kill()
            pytest.fail("robot server did not start")
        return found[0]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def reach_forward(data):
    return np.array([0.3, 0.0, 0.0])


def test_robot_restart_mid_run_stops_reconnects_and_resumes_only_when_told():
    endpoint = f"tcp://127.0.0.1:{_free_port()}"
    servers = [RobotProcess(endpoint)]
    timer = threading.Timer(0.4, lambda: (servers[0].kill(), servers.append(RobotProcess(endpoint))))
    try:
        client = NetworkRobotAdapter(endpoint, timeout_s=0.2, retries=1).connect()
        first_session = client.session
        supervisor = SafetySupervisor(client.limits, SafetyConfig(watchdog_s=None))
        loop = ControlLoop(client, reach_forward, supervisor, LoopConfig(50.0, duration_s=1.0))
        timer.start()  # kill the robot process mid-run and start a new one
        asked: list[str] = []

        def operator(reason: str) -> bool:
            asked.append(reason)
            timer.join(60)  # the new process has printed its session id
            assert supervisor.stopped == "loop_error"  # the loop safe-stopped and latched
            assert client.session == servers[-1].session != first_session  # reconnected to the new process
            assert client.stats()["counts"].get("act", 0) == 0  # nothing sent before the explicit yes
            with pytest.raises(RobotStopped):
                loop.supervisor.supervise(reach_forward(None))
            return True

        runs = run_session(loop, operator, reconnect_timeout_s=60.0)
        assert len(asked) == 1 and asked[0].startswith(("RobotTimeout", "RobotRestarted"))
        assert runs[0].summary()["steps"] > 5 and len(runs) == 2
        assert client.stats()["counts"]["act"] == runs[1].summary()["steps"] > 10
        client.close()
        servers[-1].proc.send_signal(signal.SIGTERM)  # the robot side stops its robot and exits cleanly
        stdout, _ = servers[-1].proc.communicate(timeout=30)
        assert servers[-1].proc.returncode == 143 and "robot stopped and closed" in stdout
    finally:
        timer.cancel()
        timer.join(70)
        for server in servers:
            server.kill()
