"""The planning agent learns Reach from a tiny budget, has SB3's face, and saves/loads exactly."""
import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import DummyVecEnv

from agents.evaluation.episodes import ModelPolicy, run_episode
from agents.planning.mpc import PlanningAgent
from tests.agents.planning_fixtures import SMALL, make_reach, trained_reach_agent  # noqa: F401


def success_rate(act, episodes: int = 6) -> float:
    env, successes = make_reach(), []
    for episode in range(episodes):
        obs, _ = env.reset(seed=1000 + episode)
        for _ in range(50):
            obs, _, terminated, truncated, info = env.step(act(obs))
            if terminated or truncated:
                break
        successes.append(float(info["is_success"]))
    env.close()
    return float(np.mean(successes))


class CountSteps(BaseCallback):
    def _on_step(self) -> bool:
        return self.num_timesteps < 250  # stops learning early


@pytest.fixture(scope="module")
def trained():
    return trained_reach_agent()


def test_planning_agent_beats_random_on_reach_within_400_steps(trained):
    rng = np.random.default_rng(0)
    random = success_rate(lambda obs: rng.uniform(-1, 1, 3).astype(np.float32))
    planned = success_rate(lambda obs: trained.predict(obs)[0])
    assert trained.num_timesteps == 400 and trained.fits == 2
    assert planned >= random + 0.5, (planned, random)
    assert trained.last_uncertainty.shape == (1,) and trained.last_uncertainty[0] >= 0


def test_save_load_round_trip_reproduces_actions(trained, tmp_path):
    trained.save(tmp_path / "mpc.pt")
    clone = PlanningAgent.load(tmp_path / "mpc.pt", device="cpu")
    obs, _ = make_reach().reset(seed=3)
    actions = []
    for agent in (trained, clone):
        agent.planner.generator.manual_seed(11)
        agent.planner.reset()
        actions.append(agent.predict(obs)[0])
    np.testing.assert_array_equal(actions[0], actions[1])
    assert clone.num_timesteps == 400 and len(clone.replay) == len(trained.replay)
    with pytest.raises(RuntimeError, match="pass env= to PlanningAgent.load"):
        clone.learn(1)


class FirstActions(ModelPolicy):
    """The evaluation policy, keeping the first action of every episode."""

    def __init__(self, model) -> None:
        super().__init__(model)
        self.firsts: list[np.ndarray] = []
        self._record = False

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        self._record = True

    def __call__(self, obs):
        action = super().__call__(obs)
        if self._record:
            self.firsts.append(action)
            self._record = False
        return action


def test_an_evaluation_episode_depends_on_its_seed_alone_not_on_the_episode_before(trained):
    """Neither the warm-start plan nor the planner's random streams carry over between episodes,
    so an episode plays out the same after any other episode, or first (as on a Ray worker)."""
    env = gym.make("Foresight/PandaReach-v0", obs_mode="goal", max_episode_steps=5)
    outcomes = []
    for previous_seed in (1, 2, None):
        policy = FirstActions(trained)
        if previous_seed is not None:
            run_episode(env, policy, seed=previous_seed)
        episode = run_episode(env, policy, seed=100)
        outcomes.append((policy.firsts[-1], episode.episode_return))
    env.close()
    for first, episode_return in outcomes[:2]:
        np.testing.assert_array_equal(first, outcomes[2][0])
        assert episode_return == outcomes[2][1]


def test_sb3_evaluate_policy_and_callbacks_drive_the_agent():
    vec = DummyVecEnv([make_reach, make_reach])
    agent = PlanningAgent(make_reach(), seed=1, **SMALL)
    agent.learn(1000, callback=CountSteps())
    assert agent.num_timesteps == 250 and agent.fits == 1
    mean_return, _ = evaluate_policy(agent, vec, n_eval_episodes=2)  # batched predict over 2 envs
    assert mean_return > -50


def test_bad_hyperparameters_and_spaces_are_named():
    with pytest.raises(ValueError, match=r"unknown PlanningAgent hyperparameter\(s\) \['horizn'\]"):
        PlanningAgent(gym.make("Pendulum-v1"), horizn=3)
    with pytest.raises(ValueError, match="objective 'goal_distance' needs a goal-dict"):
        PlanningAgent(gym.make("Pendulum-v1"), objective="goal_distance")
    with pytest.raises(TypeError, match="continuous Box action space"):
        PlanningAgent(gym.make("CartPole-v1"))


def test_training_factory_builds_it_on_a_vec_env_and_it_plans_for_all_envs():
    from stable_baselines3.common.env_util import make_vec_env

    from agents.training.factory import make_agent
    venv = make_vec_env(make_reach, n_envs=2, seed=0)
    hyperparams = dict(n_timesteps=100, learning_starts=40, train_freq=40, num_candidates=20, num_elites=4,
                       horizon=3, iterations=1, hidden_size=16, max_epochs=2)
    agent = make_agent("mpc", venv, hyperparams, seed=0, device="cpu").learn(100)
    assert agent.num_timesteps == 100 and len(agent.replay) == 100 and agent.fits == 2
    assert list(agent.episode_lengths) == [50, 50]  # 2 envs x 1 episode of 50
    assert agent.predict(venv.reset())[0].shape == (2, 3)


def test_training_checkpoints_round_trip_model_and_replay():
    """The training helper's generic checkpointing (written for SB3 models) saves and restores this agent."""
    import io

    import torch
    from stable_baselines3.common.env_util import make_vec_env

    from agents.training import state as train_state
    from agents.training.factory import make_agent
    hyperparams = dict(learning_starts=40, train_freq=40, num_candidates=20, num_elites=4, horizon=3, iterations=1,
                       hidden_size=16, max_epochs=2)
    agent = make_agent("mpc", make_vec_env(make_reach, n_envs=1, seed=0), hyperparams, seed=0, device="cpu").learn(60)
    buffer = io.BytesIO()
    torch.save(train_state.gather(agent), buffer)
    buffer.seek(0)
    clone = make_agent("mpc", make_vec_env(make_reach, n_envs=1, seed=0), hyperparams, seed=0, device="cpu")
    train_state.restore(clone, torch.load(buffer, weights_only=True))
    assert clone.num_timesteps == 60 and len(clone.replay) == 60
    assert torch.equal(agent.replay.all().next_states, clone.replay.all().next_states)
    for name, tensor in agent.model.state_dict().items():
        assert torch.equal(tensor, clone.model.state_dict()[name]), name


def test_push_preset_model_options_reach_the_model_and_survive_save_load(tmp_path):
    """mpc.yml's Push entry (Euler triple as rotation features, std floor) builds, learns, plans and reloads."""
    import gymnasium as gym
    import numpy as np

    from agents.training.hyperparams import SPECIAL_KEYS, load_hyperparams
    preset = {k: v for k, v in load_hyperparams("mpc", "Foresight/PandaPush-v0").items() if k not in SPECIAL_KEYS}
    assert preset["euler_dims"] == [10]
    tiny = dict(preset, learning_starts=30, train_freq=30, num_candidates=20, num_elites=4, horizon=3, iterations=1,
                hidden_size=16, max_epochs=2)
    env = gym.make("Foresight/PandaPush-v0", obs_mode="goal")
    agent = PlanningAgent(env, seed=0, device="cpu", **tiny).learn(40)
    assert agent.model.config.euler_dims == (10,) and agent.model.input_norm.std.min() >= 1e-3
    agent.save(tmp_path / "push.pt")
    clone = PlanningAgent.load(tmp_path / "push.pt", env=env)
    obs, actions = env.reset(seed=3)[0], []
    for planning in (agent, clone):
        planning.planner.generator.manual_seed(11)
        planning.planner.reset()
        actions.append(planning.predict(obs)[0])
    np.testing.assert_array_equal(actions[0], actions[1])


def test_evaluating_between_learn_calls_leaves_training_unchanged():
    """Training's acting plans with streams of its own: an evaluation midway (predict, reseeded per
    episode) does not change the actions training goes on to take."""
    from agents.evaluation.episodes import evaluate, model_policy
    hyperparams = dict(learning_starts=40, train_freq=40, num_candidates=20, num_elites=4, horizon=3, iterations=1,
                       hidden_size=16, max_epochs=2)

    def run(evaluate_midway: bool) -> PlanningAgent:
        agent = PlanningAgent(make_reach(), seed=0, **hyperparams).learn(60)
        if evaluate_midway:
            evaluate(make_reach(), model_policy(agent), 1, seed=7)
        return agent.learn(60, reset_num_timesteps=False)

    plain, evaluated = run(False), run(True)
    assert np.array_equal(plain.replay.all().actions.numpy(), evaluated.replay.all().actions.numpy())
