"""scripts/deploy.py end to end: export a tiny SB3 policy, run it on the simulated Panda until
SIGINT (robot stopped, log written), then replay the log in simulation."""
import json
import signal
import subprocess
import sys
import time

import numpy as np

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
    assert set(episodes[0].infos) == {"policy_action", "interventions", "time_s", "compute_s"}
    report = _deploy("replay", "--log", str(log), "--max-delay", "3")["episodes"][0]
    assert report["delay_steps"] == 0 and report["divergence_max"] < 1e-3  # the sim replays itself exactly
