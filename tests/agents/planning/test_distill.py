"""A distilled policy imitates a planning agent on Reach and saves/loads exactly."""
import numpy as np

from agents.planning.distill import DistillConfig, DistilledPolicy, distill, observation_vector
from tests.agents.planning_fixtures import make_reach, trained_reach_agent  # noqa: F401
from world_models.rollouts import run_episodes


def test_distilled_planner_reaches_and_round_trips(tmp_path):
    env = make_reach()
    teacher = trained_reach_agent()
    student, report = distill(env, lambda obs: teacher.predict(obs)[0],
                              DistillConfig(hidden_sizes=(64, 64), rounds=4, episodes_per_round=4, epochs=40),
                              on_reset=teacher.planner.reset)
    assert report.dataset_sizes[0] < report.dataset_sizes[-1]
    teacher_success = report.episodes[0].summary()["success_rate"]
    final = run_episodes(env, lambda obs: student.predict(obs)[0], episodes=8, seed=100).summary()
    assert teacher_success >= 0.75 and final["success_rate"] >= 0.5, (teacher_success, final)  # random: ~0
    student.save(tmp_path / "student.pt")
    clone = DistilledPolicy.load(tmp_path / "student.pt")
    obs, _ = env.reset(seed=5)
    np.testing.assert_array_equal(student.predict(obs)[0], clone.predict(obs)[0])
    batch = {k: np.stack([v, v]) for k, v in obs.items()}
    assert clone.predict(batch)[0].shape == (2, 3)
    width = sum(space.shape[0] for space in env.observation_space.spaces.values())
    assert observation_vector(batch, env.observation_space).shape == (2, width)
