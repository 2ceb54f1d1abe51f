"""``goal_offset``: the latent agent reads the achieved goal back from its latent and its heads see
the goal's offset from it; the head learns, and acting, save/load and the ONNX prior carry it."""
import gymnasium as gym
import pytest
import torch

from agents.planning.latent_agent import LatentPlanningAgent
from tests.agents import point_goal_env
from tests.agents.planning.test_latent_agent import TINY, one_thread, reload_and_compare_plans  # noqa: F401


def test_the_achieved_goal_is_read_back_and_the_heads_see_the_offset(tmp_path):
    from agents.deploy.export import export_onnx, verify_export
    from agents.deploy.flows import sample_observations
    from agents.deploy.runtime import load_policy

    env = gym.make(point_goal_env.ENV_ID)
    agent = LatentPlanningAgent(env, seed=0, goal_offset=True, **{**TINY, "learning_rate": 1e-3})
    agent.learn(101)  # one update after the seed steps: a barely trained head
    batch = agent.replay.sample(256, agent.device)

    def error() -> float:
        with torch.no_grad():
            z = agent.model.encode({"vector": batch.obs["vector"][0]})
            return float(agent.learner._readout_error(agent.model.achieved, z, batch.achieved[0]))

    trained = {id(w) for group in (*agent.learner.optimiser.param_groups, *agent.learner.policy_optimiser.param_groups)
               for w in group["params"]}
    assert all(id(w) in trained for w in agent.model.parameters() if w.requires_grad)  # the head included
    before = error()
    agent.learn(100, reset_num_timesteps=False)
    after = error()
    assert after < 0.5 * before, (before, after)

    with torch.no_grad():  # the same latent towards two goals: the offset input differs by the goals' difference
        z = agent.model.encode({"vector": batch.obs["vector"][0, :1]})
        goals = torch.tensor([[0.0, 0.0], [0.5, -0.5]])
        inputs = agent.model.goal_inputs(z.expand(2, -1), goals)
    assert inputs.shape == (2, 4)
    torch.testing.assert_close(inputs[1, 2:] - inputs[0, 2:], goals[1] - goals[0])

    clone, _ = reload_and_compare_plans(agent, env, tmp_path / "agent.pt")
    path = export_onnx(clone.prior_policy(), tmp_path / "prior.onnx", env.observation_space, env.action_space)
    assert verify_export(clone.predict_prior, load_policy(path), sample_observations(env.observation_space, 16)) < 1e-4


def test_goal_offset_without_a_goal_dict_is_refused_before_any_work():
    with pytest.raises(ValueError, match="goal_offset=True needs a goal-dict observation space"):
        LatentPlanningAgent(gym.make("Pendulum-v1"), goal_offset=True)
