"""The control loop's log: world-models dataset format, every step's policy action, interventions
and timing kept, one episode per run between safe stops."""
import numpy as np

from agents.deploy.control_loop import ControlLoop, LoopConfig
from agents.deploy.log import DeployLog, read_deploy_log
from envs.adapters.point import PointRobotAdapter
from envs.adapters.safety import SafetyConfig, SafetySupervisor
from world_models.data import read_metadata


def test_log_keeps_readings_commands_and_interventions(tmp_path):
    robot = PointRobotAdapter().connect()
    supervisor = SafetySupervisor(robot.limits, SafetyConfig(watchdog_s=None))
    actions = iter([np.array([5.0, 0.0, 0.0]), np.array([np.nan, 0, 0]), *[np.array([0.2, -0.2, 0.0])] * 8])
    log = DeployLog(tmp_path / "log", *robot.limits.bounds, {"velocity": 2, "gripper": 1}, supervisor.interventions,
                    50.0, extra={"robot": "point"})
    loop = ControlLoop(robot, lambda obs: next(actions), supervisor, LoopConfig(1e6, max_steps=5), recorder=log,
                       sleep=lambda dt: None)
    loop.run()
    log.new_episode()  # as after a safe stop: the next run is a new episode
    loop.run()
    log.close()
    sidecar, episodes = read_deploy_log(tmp_path / "log")
    assert sidecar["robot"] == "point" and read_metadata(tmp_path / "log")["total_episodes"] == 2
    first = episodes[0]
    assert first.observations["position"].shape == (5, 2) and first.actions.shape == (4, 3)
    assert first.infos["interventions"].shape == (5,) and first.infos["policy_action"].shape == (5, 3)
    names = sidecar["interventions"]
    assert first.infos["interventions"][0] & (1 << names.index("clamped_rate"))  # 5.0 clamped to 0.5
    assert first.infos["interventions"][1] & (1 << names.index("rejected_non_finite"))
    assert np.isnan(first.infos["policy_action"][1]).any() and np.all(np.diff(first.infos["time_s"]) >= 0)
    np.testing.assert_allclose(first.actions[0], [0.5, 0.0, 0.0])  # what was sent, not what was asked
    np.testing.assert_allclose(first.observations["position"][1], [0.01, 0.0])


def test_long_runs_are_written_in_bounded_episodes(tmp_path):
    robot = PointRobotAdapter().connect()
    supervisor = SafetySupervisor(robot.limits, SafetyConfig(watchdog_s=None))
    log = DeployLog(tmp_path / "log", *robot.limits.bounds, {"velocity": 2, "gripper": 1}, supervisor.interventions,
                    50.0, max_episode_steps=3)
    ControlLoop(robot, lambda obs: np.array([0.1, 0.0, 0.0]), supervisor, LoopConfig(1e6, max_steps=8),
                recorder=log, sleep=lambda dt: None).run()
    log.close()
    _, episodes = read_deploy_log(tmp_path / "log")
    assert [len(e) for e in episodes] == [3, 3, 1]
    np.testing.assert_array_equal(episodes[1].observations["position"][0], episodes[0].observations["position"][-1])
