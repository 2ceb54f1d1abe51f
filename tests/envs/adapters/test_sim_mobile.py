"""The simulated wheeled base behind the adapter interface: drives, stops, replays its own log."""
import gymnasium as gym
import numpy as np

import envs  # noqa: F401  (registers the ids)
from envs.adapters.faults import FaultConfig
from envs.adapters.replay import replay_divergence
from envs.adapters.sim import make_sim_robot

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


def test_readings_match_the_pointnav_env_robot_observation():
    env = gym.make("Foresight/MobilePointNav-v0", obs_mode="goal")
    obs, _ = env.reset(seed=0)
    with make_sim_robot("mobile") as base:
        reading = base.observe().data
        np.testing.assert_allclose(reading["observation"], obs["observation"][:7], atol=1e-6)
        for t in range(10):
            action = np.array([0.6, 0.3 * np.sin(t)], dtype=np.float32)
            obs, *_ = env.step(action)
            base.act({"base_velocity": action})
        reading = base.observe().data
    env.close()
    assert reading["observation"][0] > 0.15  # both drove ~20 cm; contact settling differs by millimetres
    np.testing.assert_allclose(reading["observation"], obs["observation"][:7], atol=0.01)
