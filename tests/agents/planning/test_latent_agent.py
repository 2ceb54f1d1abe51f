"""The latent planning agent: it learns from state and from pixels, relabels like the env, resumes
exactly, saves and loads, exports its prior, and refuses what it cannot use before any work."""
import io

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from agents.evaluation.episodes import evaluate, model_policy, summarize
from agents.planning.latent_agent import LatentPlanningAgent
from tests.agents import point_goal_env, point_image_env

TINY = dict(latent_dim=16, hidden_dim=32, batch_size=32, num_candidates=32, num_elites=8, num_prior=4, iterations=2,
            learning_starts=100, pretrain_updates=20)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def success_and_return(agent, env_id: str, episodes: int = 20) -> tuple[float, float]:
    summary = summarize(evaluate(gym.make(env_id), model_policy(agent), episodes, seed=1000)[0])
    return summary.success_rate, summary.return_mean


def random_return(env_id: str, episodes: int = 20) -> tuple[float, float]:
    env = gym.make(env_id)
    env.action_space.seed(0)
    summary = summarize(evaluate(env, lambda obs: env.action_space.sample(), episodes, seed=1000)[0])
    return summary.success_rate, summary.return_mean


@pytest.mark.slow
def test_learns_a_sparse_goal_task_from_state_with_hindsight():
    """Sparse -1/0 rewards, success ends the episode: random actions succeed ~5%, learning must reach 40%."""
    agent = LatentPlanningAgent(gym.make(point_goal_env.ENV_ID), seed=0, **{**TINY, "hidden_dim": 64, "batch_size": 64,
                                "learning_rate": 1e-3, "learning_starts": 200, "pretrain_updates": None})
    agent.learn(1500)
    success, _ = success_and_return(agent, point_goal_env.ENV_ID)
    random_success, _ = random_return(point_goal_env.ENV_ID)
    assert success >= max(0.4, random_success + 0.3), (success, random_success)


@pytest.mark.slow
def test_learns_to_reach_a_target_it_only_sees_in_pixels():
    """36x36 RGB alone (no state): the CNN latent must find the point in the image to beat random actions."""
    env_id = point_image_env.ENV_ID
    agent = LatentPlanningAgent(gym.make(env_id, fixed_target=True), seed=0, **{
        **TINY, "image_encoder": "keypoints", "image_features": 16, "hidden_dim": 64, "learning_rate": 1e-3,
        "image_shift": 2})
    agent.learn(400)
    learned = summarize(evaluate(gym.make(env_id, fixed_target=True), model_policy(agent), 20, seed=1000)[0])
    env = gym.make(env_id, fixed_target=True)
    env.action_space.seed(0)
    random = summarize(evaluate(env, lambda obs: env.action_space.sample(), 20, seed=1000)[0])
    # returns are -distance summed over 20 steps: learned ~-9, random ~-20 (measured, seed 0)
    assert learned.return_mean > random.return_mean + 4.0, (learned.return_mean, random.return_mean)


def test_relabelled_rewards_equal_what_the_env_pays_and_goals_are_achieved_later():
    env = gym.make(point_goal_env.ENV_ID)
    agent = LatentPlanningAgent(env, seed=0, **{**TINY, "her_ratio": 1.0, "learning_starts": 10_000}).learn(200)
    batch = agent.replay.sample(256, agent.device)
    achieved = batch.obs["vector"][1:, :, :2].numpy()  # vector = concat(achieved_goal, observation)
    goal = batch.goal.numpy()
    expected = env.unwrapped.compute_reward(achieved, np.broadcast_to(goal, achieved.shape), {})
    np.testing.assert_array_equal(batch.rewards.numpy(), expected)
    all_achieved = agent.replay.data["next/achieved"].reshape(-1, 2)
    assert all(np.isclose(all_achieved, g).all(axis=1).any() for g in goal)  # every goal is an achieved one


@pytest.mark.parametrize("acting", [{}, dict(select="sample", exploration="planner"), dict(action_repeat=3)],
                         ids=["default", "tdmpc2", "mid-hold"])
def test_checkpoint_resume_continues_exactly_like_never_stopping(acting):
    """Model, optimisers, replay, counters and every random stream come back: the same weights after."""
    from agents.training import state as train_state
    from agents.training.env_setup import make_vec_env

    def fresh():
        return LatentPlanningAgent(make_vec_env(point_goal_env.ENV_ID, n_envs=2, seed=0), seed=0, **TINY, **acting)

    straight = fresh().learn(200)
    straight.learn(60, reset_num_timesteps=False)
    half = fresh().learn(200)
    buffer = io.BytesIO()
    torch.save(train_state.gather(half), buffer)
    buffer.seek(0)
    resumed = fresh()
    assert train_state.restore(resumed, torch.load(buffer, weights_only=True))  # episodes replayed exactly
    resumed.learn(60, reset_num_timesteps=False)
    assert resumed.num_timesteps == straight.num_timesteps == 260
    for name, tensor in straight.model.state_dict().items():
        assert torch.equal(tensor, resumed.model.state_dict()[name]), name


def reload_and_compare_plans(agent: LatentPlanningAgent, env: gym.Env, path) -> tuple[LatentPlanningAgent, dict]:
    """``agent`` saved to ``path`` and loaded back; both plan alike from one observation (asserted).

    Returns the clone and that observation."""
    agent.save(path)
    clone = LatentPlanningAgent.load(path, env=env)
    obs = env.reset(seed=5)[0]
    for model in (agent, clone):
        model.reseed(3)
        model.planner.reset()
    np.testing.assert_array_equal(agent.predict(obs)[0], clone.predict(obs)[0])
    return clone, obs


@pytest.mark.parametrize("dynamics", [{}, {"num_dynamics": 2, "disagreement": 1.0}], ids=["one", "ensemble"])
def test_save_load_reproduces_actions_in_both_acting_modes(tmp_path, dynamics):
    env = gym.make(point_goal_env.ENV_ID)
    agent = LatentPlanningAgent(env, seed=0, **TINY, **dynamics).learn(150)
    clone, obs = reload_and_compare_plans(agent, env, tmp_path / "agent.pt")
    np.testing.assert_array_equal(agent.predict_prior(obs), clone.predict_prior(obs))
    assert clone.num_timesteps == 150
    if dynamics:  # updates measured the members' spread on replayed latents, and it was saved
        assert clone.model.dynamics.started and clone.model.dynamics.spread != 1.0
        assert torch.equal(clone.model.dynamics.spread, agent.model.dynamics.spread)


def test_prior_exports_to_onnx_and_matches_for_images(tmp_path):
    from agents.deploy.export import export_onnx, verify_export
    from agents.deploy.flows import sample_observations
    from agents.deploy.runtime import load_policy

    env = gym.make(point_image_env.ENV_ID)
    agent = LatentPlanningAgent(env, seed=0, **{**TINY, "image_encoder": "keypoints", "image_features": 8})
    path = export_onnx(agent.prior_policy(), tmp_path / "prior.onnx", env.observation_space, env.action_space)
    error = verify_export(agent.predict_prior, load_policy(path), sample_observations(env.observation_space, 16))
    assert error < 1e-4


def test_privileged_state_teaches_the_latent_but_acting_and_export_read_pixels_alone(tmp_path):
    """The state rides in the replay as a training target; predict, the prior and ONNX never read it."""
    from agents.deploy.export import export_onnx, verify_export
    from agents.deploy.flows import sample_observations
    from agents.deploy.runtime import load_policy

    env = gym.make(point_image_env.ENV_ID, privileged_state=True)
    agent = LatentPlanningAgent(env, seed=0, privileged_keys=["state"], privileged_coef=1.0, **{
        **TINY, "image_encoder": "keypoints", "image_features": 16, "learning_rate": 1e-3})
    assert agent.coding.vector_dim == 0 and agent.coding.privileged_dim == 4
    agent.learn(101)  # the first update: error of a barely trained head
    batch = agent.replay.sample(256, agent.device)

    def error() -> float:
        with torch.no_grad():
            z = agent.model.encode({"image:image": batch.obs["image:image"][0]})
            return float(agent.learner._readout_error(agent.model.privileged, z, batch.obs["privileged"][0]))

    before = error()
    agent.learn(150, reset_num_timesteps=False)
    after = error()
    assert after < 0.5 * before, (before, after)  # the latent now holds where the point and target are

    obs = env.reset(seed=3)[0]
    hidden = {"image": obs["image"], "state": np.full(4, np.nan, np.float32)}
    actions = []
    for observation in (obs, hidden, {"image": obs["image"]}):
        agent.reseed(7)
        agent.planner.reset()
        actions.append((agent.predict(observation)[0], agent.predict_prior(observation)))
    for planned, prior in actions[1:]:
        np.testing.assert_array_equal(planned, actions[0][0])
        np.testing.assert_array_equal(prior, actions[0][1])
    assert list(agent.acting_space().spaces) == ["image"]
    path = export_onnx(agent.prior_policy(), tmp_path / "prior.onnx", agent.acting_space(), env.action_space)
    error = verify_export(agent.predict_prior, load_policy(path), sample_observations(agent.acting_space(), 8))
    assert error < 1e-4


@pytest.mark.parametrize("privileged, message", [
    (["velocity"], "not a vector entry of the observation; valid: \\['state'\\]"),
    (["image"], "not a vector entry"),
    ("state,", "not a vector entry"),
])
def test_privileged_entries_must_name_vector_entries_of_a_dict(privileged, message):
    space = gym.make(point_image_env.ENV_ID, privileged_state=True).observation_space
    with pytest.raises(ValueError, match=message):
        LatentPlanningAgent(None, observation_space=space, action_space=spaces.Box(-1, 1, (2,)),
                            privileged_keys=privileged)
    with pytest.raises(ValueError, match="need a Dict observation space"):
        LatentPlanningAgent(None, observation_space=spaces.Box(-1, 1, (3,)), action_space=spaces.Box(-1, 1, (2,)),
                            privileged_keys=["state"])


def test_vec_env_plans_for_every_env_at_once():
    from agents.training.env_setup import make_vec_env

    venv = make_vec_env(point_goal_env.ENV_ID, n_envs=3, seed=0)
    agent = LatentPlanningAgent(venv, seed=0, **TINY).learn(120)
    assert agent.num_timesteps == 120 and len(agent.replay) == 120
    assert agent.predict(venv.reset())[0].shape == (3, 2)


def test_channels_first_images_and_goal_free_boxes_work_unchanged():
    env = gym.make(point_image_env.ENV_ID, channels_first=True)
    agent = LatentPlanningAgent(env, seed=0, **{**TINY, "image_encoder": "keypoints", "image_features": 8}).learn(110)
    assert agent.predict(env.reset(seed=0)[0])[0].shape == (2,)
    pendulum = LatentPlanningAgent(gym.make("Pendulum-v1"), seed=0, **TINY)
    assert pendulum.discount == 0.975  # TD-MPC2's heuristic for 200-step episodes


@pytest.mark.parametrize("space, error, message", [
    (spaces.Box(0, 255, (8, 8, 3), np.uint8), ValueError, "no channel axis"),
    (spaces.Dict({"a": spaces.Discrete(3)}), TypeError, "latent agents read Box entries"),
])
def test_unusable_observations_are_refused_naming_what_would_work(space, error, message):
    with pytest.raises(error, match=message):
        LatentPlanningAgent(None, observation_space=space, action_space=spaces.Box(-1, 1, (2,)))


def test_discrete_actions_and_unbounded_actions_are_refused():
    with pytest.raises(TypeError, match="continuous Box action space"):
        LatentPlanningAgent(gym.make("CartPole-v1"))
    with pytest.raises(ValueError, match="finite action bounds"):
        LatentPlanningAgent(None, observation_space=spaces.Box(-1, 1, (3,)),
                            action_space=spaces.Box(-np.inf, np.inf, (2,)))


def test_bad_hyperparameters_name_the_valid_ones():
    with pytest.raises(ValueError, match="unknown LatentPlanningAgent hyperparameter.*'horizon'"):
        LatentPlanningAgent(gym.make("Pendulum-v1"), horizn=3)
    with pytest.raises(ValueError, match="unknown act 'fast'"):
        LatentPlanningAgent(gym.make("Pendulum-v1"), act="fast")
    with pytest.raises(ValueError, match="unknown exploration 'wide'.*fixed.*planner"):
        LatentPlanningAgent(gym.make("Pendulum-v1"), exploration="wide")
    with pytest.raises(ValueError, match="exploration='planner' uses MPPI's final spread; planner 'cem'"):
        LatentPlanningAgent(gym.make("Pendulum-v1"), exploration="planner", planner="cem")
    with pytest.raises(ValueError, match="pessimism must be >= 0.*got pessimism=-0.5"):
        LatentPlanningAgent(gym.make("Pendulum-v1"), pessimism=-0.5)
    with pytest.raises(ValueError, match="disagreement must be >= 0 and needs num_dynamics >= 2.*num_dynamics=1"):
        LatentPlanningAgent(gym.make("Pendulum-v1"), disagreement=1.0)
    with pytest.raises(ValueError, match="num_dynamics must be an integer >= 1.*got 0"):
        LatentPlanningAgent(gym.make("Pendulum-v1"), num_dynamics=0)


def write_dataset(path, env_id: str, episodes: int):
    from world_models.data import EpisodeWriter
    from world_models.rollouts import random_policy, run_episodes
    env = gym.make(env_id)
    writer = EpisodeWriter(path, env.observation_space, env.action_space)
    run_episodes(env, random_policy(env.action_space, seed=0), episodes, seed=0, writer=writer)
    writer.close()
    return path


def test_a_minari_dataset_seeds_the_replay_and_its_steps_count(tmp_path):
    from world_models.data import read_episodes
    data = write_dataset(tmp_path / "demos", point_goal_env.ENV_ID, 5)
    steps = sum(len(e) for e in read_episodes(data))
    agent = LatentPlanningAgent(gym.make(point_goal_env.ENV_ID), seed=0, **{**TINY, "demos": str(data)})
    agent.learn(steps + 30)
    assert agent.demo_steps == steps and agent.num_timesteps == steps + 30  # the budget includes the demos
    assert len(agent.replay) >= steps + 30
    assert agent.replay.data["demo"][:steps, 0].all() and not agent.replay.data["demo"][steps:steps + 30].any()


def test_a_dataset_of_another_env_is_refused_before_training(tmp_path):
    data = write_dataset(tmp_path / "pendulum", "Pendulum-v1", 1)
    agent = LatentPlanningAgent(gym.make(point_goal_env.ENV_ID), seed=0, **{**TINY, "demos": str(data)})
    with pytest.raises(ValueError, match="observation_space .* the env has"):
        agent.learn(10)
    assert agent.num_timesteps == 0


def test_scripted_expert_episodes_come_first_and_count_as_env_steps():
    import envs  # noqa: F401
    env = gym.make("Foresight/PandaReach-v0", obs_mode="goal")
    agent = LatentPlanningAgent(env, seed=0, **{**TINY, "demo_episodes": 2, "demo_noise": 0.0,
                                                "learning_starts": 10_000})
    agent.learn(150)  # 2 expert episodes of 50 steps, then random actions
    rewards, demo = agent.replay.data["reward"][:100, 0], agent.replay.data["demo"][:, 0]
    assert agent.demo_episodes_done == 2 and agent.num_timesteps == 150
    assert (rewards == 0).mean() > 0.5  # the expert reaches the goal and stays: sparse reward 0
    assert demo[:100].all() and not demo[100:150].any()  # only the expert's steps are flagged for cloning


def test_a_checkpoint_of_another_algorithm_is_refused_before_loading():
    from agents.planning.mpc import PlanningAgent
    from agents.training import state as train_state
    env = gym.make(point_goal_env.ENV_ID)
    mpc_state = train_state.gather(PlanningAgent(env, seed=0, hidden_size=8, learning_starts=10_000))
    agent = LatentPlanningAgent(env, seed=0, **TINY)
    with pytest.raises(ValueError, match="checkpoint of a PlanningAgent cannot resume a LatentPlanningAgent"):
        train_state.restore(agent, mpc_state)


def test_evaluating_between_learn_calls_leaves_training_unchanged():
    """predict plans with random streams of its own: an evaluation midway (which reseeds them per
    episode) changes neither the weights nor the actions training goes on to take."""
    def run(evaluate_midway: bool) -> LatentPlanningAgent:
        agent = LatentPlanningAgent(gym.make(point_goal_env.ENV_ID), seed=0, **TINY).learn(150)
        if evaluate_midway:
            evaluate(gym.make(point_goal_env.ENV_ID), model_policy(agent), 2, seed=7)
        return agent.learn(60, reset_num_timesteps=False)

    plain, evaluated = run(False), run(True)
    assert np.array_equal(plain.replay.data["action"], evaluated.replay.data["action"])
    for name, tensor in plain.model.state_dict().items():
        assert torch.equal(tensor, evaluated.model.state_dict()[name]), name


def test_the_policy_update_trains_the_policy_alone():
    """The policy's loss runs through Q (and with goal_offset the achieved-goal head) but neither
    gets a gradient from it, and their weights stay trainable for the next model update."""
    agent = LatentPlanningAgent(gym.make(point_goal_env.ENV_ID), seed=0, goal_offset=True, **TINY).learn(120)
    model, learner = agent.model, agent.learner
    batch = agent.replay.sample(16, agent.device)
    model.zero_grad(set_to_none=True)
    weights = torch.ones(batch.actions.shape[0])
    learner._update_policy(model.encode({k: v[0] for k, v in batch.obs.items()})[None].detach(), batch, weights[:1])
    assert all(p.grad is not None for p in model.policy.parameters())
    critics = [*model.q.parameters(), *model.achieved.parameters()]
    assert all(p.grad is None and p.requires_grad for p in critics)
