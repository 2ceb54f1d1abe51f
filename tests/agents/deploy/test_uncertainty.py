"""The uncertainty gate fed by a real world-model ensemble: calm where it was trained, slowed or
stopped where it was not."""
import numpy as np
import pytest
import torch

from agents.deploy.control_loop import ControlLoop, LoopConfig  # noqa: E402
from agents.deploy.uncertainty import ensemble_disagreement  # noqa: E402
from envs.adapters.point import PointRobotAdapter  # noqa: E402
from envs.adapters.safety import SafetyConfig, SafetySupervisor  # noqa: E402
from world_models.fitting import FitConfig, fit  # noqa: E402
from world_models.models import EnsembleDynamics, ModelConfig  # noqa: E402
from world_models.replay import Transitions  # noqa: E402


@pytest.fixture(scope="module")
def ensemble():
    """Point-robot dynamics learnt from positions in [-0.2, 0.2] only."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    states = rng.uniform(-0.2, 0.2, (800, 2)).astype(np.float32)
    actions = rng.uniform(-1, 1, (800, 3)).astype(np.float32)
    next_states = states + 0.02 * actions[:, :2]
    data = Transitions(*(torch.as_tensor(x) for x in (states, actions, np.zeros(800, np.float32), next_states,
                                                        np.zeros(800, np.float32))))
    model = EnsembleDynamics(2, 3, ModelConfig(ensemble_size=5, hidden_size=32, num_layers=2, learn_reward=False))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: threads only contend on a shared CPU
    try:
        fit(model, data, FitConfig(max_epochs=10, batch_size=64), seed=0)
    finally:
        torch.set_num_threads(threads)
    return model


def test_disagreement_grows_off_the_training_data(ensemble):
    score = ensemble_disagreement(ensemble, state_of=lambda reading: reading["position"])
    inside = np.median([score({"position": np.array([x, -x])}, np.zeros(3)) for x in np.linspace(-0.15, 0.15, 7)])
    outside = np.median([score({"position": np.array([x, -x])}, np.zeros(3)) for x in (3.0, 5.0, -4.0)])
    assert outside > 5 * inside
    assert np.isnan(score({"position": np.zeros(2)}, np.array([np.nan, 0, 0])))


def test_gate_stops_the_robot_where_the_model_is_unsure(ensemble):
    score = ensemble_disagreement(ensemble, state_of=lambda reading: reading["position"])
    calm = score({"position": np.zeros(2)}, np.zeros(3))
    robot = PointRobotAdapter(dt=0.05).connect()
    supervisor = SafetySupervisor(robot.limits, SafetyConfig(rate_limit=False, watchdog_s=None,
                                                             uncertainty_slow=3 * calm, uncertainty_stop=10 * calm))
    loop = ControlLoop(robot, lambda reading: np.array([1.0, 1.0, 0.0]), supervisor,
                       LoopConfig(1e6, max_steps=40), uncertainty=score, sleep=lambda dt: None)
    loop.run()
    report = supervisor.report()
    assert report["uncertainty_stopped"] > 0 and report["uncertainty_slowed"] > 0
    assert np.all(robot.position < 1.0)  # it drove out of the known region, slowed, then was held
    np.testing.assert_array_equal(robot.last_command["velocity"], 0.0)
