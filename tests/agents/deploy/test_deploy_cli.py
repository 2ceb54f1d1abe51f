"""scripts/deploy.py end to end: export a tiny SB3 policy, run it on the simulated Panda until
SIGINT (robot stopped, log written), then replay the log in simulation."""
import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from agents.deploy.log import read_deploy_log
from tests.helpers import ROOT, subprocess_env


def _deploy(*args: str, timeout: float = 120.0) -> dict:
    out = subprocess.run([sys.executable, "scripts/deploy.py", *args], cwd=ROOT, env=subprocess_env(),
                         capture_output=True,
                         text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout[out.stdout.index("{"):out.stdout.rindex("}") + 1])  # PyBullet prints banners


def test_run_stops_on_sigint_writes_log_and_replays(exported):
    log = exported / "log"
    proc = subprocess.Popen([sys.executable, "scripts/deploy.py", "run", "--policy", str(exported / "policy.onnx"),
                             "--robot", "panda", "--block-gripper", "--rate", "25", "--duration", "60",
                             "--log", str(log), "--no-resume", "--watchdog-s", "1.0"], cwd=ROOT, env=subprocess_env(),
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (log / "data" / "metadata.json").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr[-2000:]
    assert "robot stopped" in stderr
    sidecar, episodes = read_deploy_log(log)
    assert sidecar["rate_hz"] == 25 and len(episodes) == 1 and len(episodes[0]) >= 3
    assert np.all(np.isfinite(episodes[0].actions)) and np.all(np.abs(episodes[0].actions) <= 1.0)
    assert set(episodes[0].infos) == {"policy_action", "interventions", "time_s", "compute_s", "robot_time_s"}
    assert sidecar["robot_period_s"] == pytest.approx(0.04)
    report = _deploy("replay", "--log", str(log), "--max-delay", "3")["episodes"][0]
    assert report["delay_steps"] == 0 and report["divergence_max"] < 1e-3  # the sim replays itself exactly


def _robot_server(*args: str) -> tuple[subprocess.Popen, str]:
    """A robot server on a free loopback port; returns it and its endpoint (from its ready line)."""
    proc = subprocess.Popen([sys.executable, "scripts/robot_server.py", "--endpoint", "tcp://127.0.0.1:*",
                             "--block-gripper", *args], cwd=ROOT, env=subprocess_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        if line.startswith("serving "):
            return proc, line.split()[1]
    raise AssertionError(f"robot server exited with {proc.wait()}")


def test_the_robot_server_says_its_rate_and_a_loop_at_another_is_refused(exported, tmp_path):
    """Issue 14: at --rate 50 the server's robot still stepped 0.04 s; the replay said latency 0.0 s."""
    server, endpoint = _robot_server("--latency-s", "0.04")  # the server's default rate: 25 Hz
    try:
        policy = ["--policy", str(exported / "policy.onnx"), "--robot", endpoint, "--steps", "40", "--no-resume"]
        refused = subprocess.run([sys.executable, "scripts/deploy.py", "run", *policy, "--rate", "50",
                                  "--log", str(tmp_path / "at50")], cwd=ROOT, env=subprocess_env(),
                                 capture_output=True, text=True, timeout=120)
        assert refused.returncode != 0 and not (tmp_path / "at50").exists()
        assert "--rate 50 Hz, but the robot at" in refused.stderr and "0.04 s per command (25 Hz)" in refused.stderr
        ran = _deploy("run", *policy, "--log", str(tmp_path / "log"))  # no --rate: the robot's own
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert ran["rate_hz"] == 25 and ran["status"] == "completed"
    replayed = _deploy("replay", "--log", str(tmp_path / "log"))
    assert replayed["rate_hz"] == 25 and replayed["episodes"][0]["latency_s"] == pytest.approx(0.04)
    sidecar = json.loads((tmp_path / "log" / "deploy.json").read_text())
    (tmp_path / "log" / "deploy.json").write_text(json.dumps({**sidecar, "rate_hz": 50.0}))  # a log that lies
    bad = subprocess.run([sys.executable, "scripts/deploy.py", "replay", "--log", str(tmp_path / "log")], cwd=ROOT,
                         env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "ran at 50 Hz but the robot advanced 0.04 s per command (25 Hz)" in bad.stderr
