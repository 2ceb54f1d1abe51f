"""The simulated wheeled base behind the adapter interface: drives, stops, replays its own log."""
import numpy as np
import pytest

pytest.importorskip("envs.robots.mobile_base")  # TEMPORARY until the mobile base is merged

from envs.adapters.faults import FaultConfig  # noqa: E402
from envs.adapters.replay import replay_divergence  # noqa: E402
from envs.adapters.sim import make_sim_robot  # noqa: E402

FORWARD = {"base_velocity": np.array([0.5, 0.0])}


def test_base_drives_forward_and_safe_stop_halts_it():
    with make_sim_robot("mobile") as base:
        start = base.observe().data["base_pose"]
        for _ in range(25):
            base.act(FORWARD)
        moved = base.observe().data
        assert moved["base_pose"][0] - start[0] > 0.2 and abs(moved["base_pose"][1]) < 0.05
        base.stop()
        for _ in range(25):
            base.sim.step()
        base.robot.update()
        assert abs(base.observe().data["observation"][4]) < 0.05  # forward speed, m/s


def test_replay_finds_the_latency_of_a_turning_base():
    with make_sim_robot("mobile", faults=FaultConfig(latency_s=0.08, seed=0)) as base:
        observations, commands = [base.observe().data], []
        for t in range(30):
            command = {"base_velocity": np.array([0.6, 0.8 * np.sin(0.3 * t)])}
            commands.append(base.limits.join(base.act(command)))
            observations.append(base.observe().data)
    stacked = {k: np.stack([o[k] for o in observations]) for k in observations[0]}
    with make_sim_robot("mobile") as sim:
        report = replay_divergence(sim, stacked, np.stack(commands), 0.04, "base_pose", max_delay_steps=4)
    assert report.delay_steps == 2
