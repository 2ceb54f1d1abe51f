"""The simulated Panda behind the adapter interface: parity with the sim env, fuzzed commands,
safe stop, replay of its own log."""
import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the ids)
from agents.deploy.control_loop import ControlLoop, LoopConfig
from envs.adapters.faults import FaultConfig
from envs.adapters.gym_env import AdapterEnv
from envs.adapters.replay import replay_divergence
from envs.adapters.safety import SafetyConfig, SafetySupervisor
from envs.adapters.sim import make_sim_robot, sim_robot_for_commands
from envs.adapters.sim_panda import SimPandaAdapter, panda_reach_goal
from envs.sim.bullet import PhysicsConfig
from tests.envs.adapters.hostile_commands import hostile_command

N_FUZZ = 10_000


def test_adapter_env_matches_the_sim_env_keys_units_and_motion():
    sim_env = gym.make("Foresight/PandaReach-v0", obs_mode="goal")
    robot_env = AdapterEnv(SimPandaAdapter(block_gripper=True), goal=panda_reach_goal())
    sim_obs, _ = sim_env.reset(seed=0)
    robot_obs, _ = robot_env.reset(seed=0)
    assert set(sim_obs) == set(robot_obs)
    for key in sim_obs:
        assert sim_obs[key].shape == robot_obs[key].shape, key
    np.testing.assert_allclose(robot_obs["observation"], sim_obs["observation"], atol=1e-6)
    actions = [np.array([0.4, -0.3, 0.2])] * 5 + [np.array([0.1, 0.1, -0.2])] * 5  # within the rate limit
    for action in actions:
        sim_obs, *_ = sim_env.step(action.astype(np.float32))
        robot_obs, *_ = robot_env.step(action.astype(np.float32))
    np.testing.assert_allclose(robot_obs["observation"][:3], sim_obs["observation"][:3], atol=2e-3)
    np.testing.assert_allclose(robot_obs["achieved_goal"], sim_obs["achieved_goal"], atol=2e-3)
    np.testing.assert_allclose(robot_obs["desired_goal"], sim_obs["desired_goal"])  # same seed, same draw
    sim_env.close()
    robot_env.close()


def test_fuzzed_commands_never_crash_never_reach_pybullet_and_stay_in_limits():
    robot = SimPandaAdapter(physics=PhysicsConfig(substeps=1))
    reaching_pybullet: list[np.ndarray] = []  # every target handed to PyBullet (IK goals, joint targets)
    with robot:
        for name in ("set_joint_targets", "inverse_kinematics"):
            original = getattr(robot.sim, name)

            def spy(body, joints_or_link, target, *rest, _original=original, **kwargs):
                reaching_pybullet.append(np.asarray(target, dtype=np.float64))
                return _original(body, joints_or_link, target, *rest, **kwargs)
            setattr(robot.sim, name, spy)
        sent: list[np.ndarray] = []
        real_act = robot.act
        robot.act = lambda command: sent.append(robot.limits.join(real_act(command))) or command
        rng = np.random.default_rng(0)
        supervisor = SafetySupervisor(robot.limits, SafetyConfig(watchdog_s=None))
        loop = ControlLoop(robot, lambda data: hostile_command(rng, robot.limits), supervisor,
                           LoopConfig(1e6, max_steps=N_FUZZ), sleep=lambda dt: None)
        loop.run()  # any exception here is a crash of the loop
        final = robot.observe().data
    sent_all, low, high = np.stack(sent), *robot.limits.bounds
    assert sent_all.shape[0] == N_FUZZ and np.all((sent_all >= low) & (sent_all <= high))
    max_delta = np.concatenate([f.max_delta for f in robot.limits.fields.values()])
    steps = np.abs(np.diff(np.vstack([np.zeros_like(low), sent_all]), axis=0))  # refusals included
    assert np.all(steps <= max_delta + 1e-12) and robot.rate_clamps == 0  # the supervisor kept the limit
    assert len(reaching_pybullet) >= 2 * N_FUZZ and np.isfinite(np.concatenate(reaching_pybullet)).all()
    report = supervisor.report()
    assert sum(v for k, v in report.items() if k.startswith("rejected_") and not k.endswith("_rate")) > 0.8 * N_FUZZ
    assert all(np.all(np.isfinite(v)) for v in final.values())


@pytest.mark.parametrize("control, arm", [("ee", np.array([0.5, 0.0, -0.5])), ("joints", np.full(7, 0.4))])
def test_safe_stop_holds_the_arm(control, arm):
    with SimPandaAdapter(control=control) as robot:
        start = robot.observe().data["joint_positions"]
        for _ in range(5):
            robot.act({robot.limits.keys[0]: arm, "gripper": np.array([0.0])})
        assert np.abs(robot.observe().data["joint_positions"] - start).max() > 0.05  # it moved
        robot.stop()
        held = robot.observe().data["joint_positions"]
        robot.sim.step()
        robot.sim.step()
        robot.robot.update()
        after = robot.observe().data["joint_positions"]
    np.testing.assert_allclose(after, held, atol=5e-3)


def test_replay_estimates_injected_latency_on_the_panda():
    faults = FaultConfig(latency_s=0.08, seed=0)  # two control periods at 25 Hz
    with make_sim_robot("panda", block_gripper=True, faults=faults) as robot:
        observations, commands = [robot.observe().data], []
        for t in range(30):
            command = {"ee_delta": np.array([np.sin(0.3 * t), np.cos(0.25 * t), 0.3 * np.sin(0.2 * t)])}
            commands.append(robot.limits.join(robot.act(command)))
            observations.append(robot.observe().data)
    stacked = {k: np.stack([o[k] for o in observations]) for k in observations[0]}
    with SimPandaAdapter(block_gripper=True) as sim:
        report = replay_divergence(sim, stacked, np.stack(commands), 0.04, "ee_position", max_delay_steps=5)
    assert report.latency_s == pytest.approx(0.08)
    assert report.divergence.mean() < 0.2 * report.divergence_no_delay.mean()


def test_simulated_twin_is_found_from_command_keys():
    assert sim_robot_for_commands({"ee_delta": 3}) == ("panda", "ee", True)
    assert sim_robot_for_commands({"joint_delta": 7, "gripper": 1}) == ("panda", "joints", False)
    assert sim_robot_for_commands({"base_velocity": 2})[0] == "mobile"
    with pytest.raises(ValueError, match="known"):
        sim_robot_for_commands({"velocity": 2})


def test_camera_readings_match_the_sim_env_images():
    env = gym.make("Foresight/PandaReach-v0", obs_mode="rgb", image_size=32)
    env_image, _ = env.reset(seed=0)
    env.close()
    with SimPandaAdapter(block_gripper=True, image_size=32) as robot:
        readings = robot.observe().data
    assert readings["rgb"].shape == env_image.shape and readings["rgb"].dtype == env_image.dtype
    assert readings["depth"].shape == (32, 32, 1) and readings["depth"].dtype == np.float32
    same = np.all(readings["rgb"] == env_image, axis=-1).mean()
    assert same > 0.9 and readings["rgb"].std() > 10  # same camera and scene; only the target marker differs
