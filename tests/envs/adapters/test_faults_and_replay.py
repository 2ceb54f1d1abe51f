"""Injected faults behave as configured, and the sim-vs-real replay recovers an injected latency."""
import numpy as np
import pytest

from envs.adapters.faults import FaultConfig, FaultyAdapter
from envs.adapters.point import PointRobotAdapter
from envs.adapters.replay import replay_divergence

PERIOD = 0.02


def _command(t: int) -> dict:
    """Changes of at most 0.5 per step, as the point robot declares (it clamps anything faster)."""
    return {"velocity": np.array([np.sin(0.3 * t), 0.5 * np.cos(0.2 * t)]), "gripper": np.array([0.0])}


def _deploy(faults: FaultConfig, steps: int = 60):
    """Run a command sequence through a faulty link; log like the control loop does."""
    robot = FaultyAdapter(PointRobotAdapter(), faults, PERIOD).connect()
    observations, commands = [robot.observe().data], []
    for t in range(steps):
        commands.append(robot.act(_command(t)))
        observations.append(robot.observe().data)
    stacked = {k: np.stack([o[k] for o in observations]) for k in observations[0]}
    return robot, stacked, np.stack([robot.limits.join(c) for c in commands])


def test_latency_delays_commands_by_whole_steps():
    robot, obs, _ = _deploy(FaultConfig(latency_s=0.06))
    assert np.all(obs["velocity"][1:4] == 0.0)  # nothing arrived during the first three periods
    np.testing.assert_allclose(obs["velocity"][4], _command(0)["velocity"])


def test_drops_and_noise_are_seeded_and_counted():
    faults = FaultConfig(drop_command=0.3, drop_observation=0.2, noise_std=0.01, seed=3)
    first, again = _deploy(faults), _deploy(faults)
    np.testing.assert_array_equal(first[1]["position"], again[1]["position"])
    assert 5 < first[0].dropped["commands"] < 35 and first[0].dropped["observations"] > 0
    with pytest.raises(ValueError, match="probability"):
        FaultConfig(drop_command=1.0)


@pytest.mark.parametrize("latency", [0.0, 0.04, 0.1])
def test_replay_recovers_the_injected_latency(latency):
    _, obs, commands = _deploy(FaultConfig(latency_s=latency, seed=1))
    report = replay_divergence(PointRobotAdapter().connect(), obs, commands, PERIOD, "position", max_delay_steps=8)
    assert report.latency_s == pytest.approx(latency)
    assert report.divergence.max() < 1e-9  # the point robot is its own perfect simulator
    if latency:
        assert report.divergence_no_delay.mean() > 1e-3


def test_replay_with_sensor_noise_still_finds_latency():
    _, obs, commands = _deploy(FaultConfig(latency_s=0.06, jitter_s=0.005, noise_std=0.002, seed=2))
    report = replay_divergence(PointRobotAdapter().connect(), obs, commands, PERIOD, "position")
    assert report.delay_steps == 3 and 0 < report.summary()["divergence_mean"] < 0.01
    with pytest.raises(KeyError, match="available"):
        replay_divergence(PointRobotAdapter().connect(), obs, commands, PERIOD, "elbow")
