"""Action repeat: each decision is held for k env steps, stored as one transition whose reward sums
them, relabelled on the same scale, held the same way at evaluation, and resumed mid-hold."""
import gymnasium as gym
import numpy as np
import pytest

from agents.evaluation.episodes import evaluate, model_policy
from agents.planning.action_repeat import ActionRepeat, repeat_episode
from agents.planning.latent_agent import LatentPlanningAgent
from tests.agents import point_goal_env
from tests.agents.planning.test_latent_agent import TINY, one_thread  # noqa: F401  (autouse: one torch thread)


class StepRecorder(gym.Wrapper):
    """Keeps every env step's action and reward, and where episodes started."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.actions, self.rewards, self.starts = [], [], []

    def reset(self, **kwargs):
        self.starts.append(len(self.actions))
        return self.env.reset(**kwargs)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.actions.append(np.array(action, copy=True))
        self.rewards.append(float(reward))
        return obs, reward, terminated, truncated, info


def test_a_hold_closes_after_k_steps_or_at_a_termination_summing_rewards():
    repeat, obs = ActionRepeat(3), {"vector": np.zeros((2, 1), np.float32)}
    repeat.hold(obs, np.ones((2, 1)), demo=False)
    assert repeat.step(np.array([-1.0, 0.0]), obs, np.zeros(2, bool)) is None
    assert repeat.step(np.array([-1.0, -1.0]), obs, np.zeros(2, bool)) is None
    held = repeat.step(np.array([-1.0, 0.0]), obs, np.zeros(2, bool))
    assert held.repeats == 3 and held.rewards.tolist() == [-3.0, -1.0] and repeat.due
    repeat.hold(obs, np.ones((2, 1)), demo=True)
    held = repeat.step(np.array([-1.0, -1.0]), obs, np.array([False, True]))  # one env's MDP ended: all close
    assert held.repeats == 1 and held.terminated.tolist() == [False, True] and held.demo
    assert repeat.close() is None  # nothing open: nothing to store


def test_a_recorded_episode_becomes_held_steps_of_mean_action_and_summed_reward():
    obs = {"vector": np.arange(8, dtype=np.float32)[:, None]}  # T = 7 steps, 8 observations
    actions = np.arange(7, dtype=np.float32)[:, None]
    rewards = -np.ones(7, np.float32)
    terminated = np.array([0, 0, 0, 0, 0, 0, 1], bool)
    held_obs, held_actions, summed, ended, repeats = repeat_episode(obs, actions, rewards, terminated, 3)
    assert held_obs["vector"][:, 0].tolist() == [0, 3, 6, 7]
    assert held_actions[:, 0].tolist() == [1.0, 4.0, 6.0]
    assert summed.tolist() == [-3, -3, -1] and ended.tolist() == [False, False, True]
    assert repeats.tolist() == [3, 3, 1]


def test_training_holds_each_decision_and_stores_one_row_per_hold():
    """Every env step lands in exactly one row; a row's action is what the env got at each of its
    steps, and its reward their sum. Env steps count every step."""
    env = StepRecorder(gym.make(point_goal_env.ENV_ID))
    agent = LatentPlanningAgent(env, seed=0, **{**TINY, "action_repeat": 3, "learning_starts": 60})
    agent.learn(150)
    assert agent.num_timesteps == 150
    rows = agent.replay.size
    repeats = agent.replay.data["repeats"][:rows, 0].astype(int)
    assert repeats.sum() + agent.repeat.open_steps == 150 and repeats.max() == 3 and rows < 150 / 2
    bounds = np.concatenate([[0], np.cumsum(repeats)])
    recorded_actions, recorded_rewards = np.stack(env.actions), np.array(env.rewards)
    for row, (start, end) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        assert (recorded_actions[start:end] == recorded_actions[start]).all(), row
        assert not any(start < s < end for s in env.starts), row  # a hold never spans two episodes
        np.testing.assert_allclose(agent.replay.data["reward"][row, 0], recorded_rewards[start:end].sum())
    np.testing.assert_allclose(agent.to_normalised(recorded_actions[bounds[:-1]]),
                               agent.replay.data["action"][:rows, 0], atol=1e-6)


def test_relabelled_rewards_are_the_env_reward_times_the_steps_held():
    env = gym.make(point_goal_env.ENV_ID)
    agent = LatentPlanningAgent(env, seed=0, **{**TINY, "her_ratio": 1.0, "action_repeat": 3,
                                                "learning_starts": 10_000}).learn(300)
    rows, cols = agent.replay._starts(256)
    steps = (rows[None] + np.arange(agent.replay.horizon)[:, None]) % agent.replay.rows
    goal, rewards, relabelled = agent.replay._hindsight(rows, cols, steps)
    achieved = agent.replay.data["next/achieved"][steps, cols[None]]
    expected = env.unwrapped.compute_reward(achieved, np.broadcast_to(goal, achieved.shape), {})
    held = agent.replay.data["repeats"][steps, cols[None]]
    assert relabelled.all() and (held < 3).any() and (held == 3).any()
    np.testing.assert_array_equal(rewards, expected * held)


def test_the_discount_reads_the_episode_in_decisions():
    assert LatentPlanningAgent(gym.make("Pendulum-v1"), **TINY).discount == pytest.approx(0.975)  # 200 steps
    assert LatentPlanningAgent(gym.make("Pendulum-v1"), **TINY, action_repeat=2).discount == pytest.approx(0.95)
    with pytest.raises(ValueError, match="action_repeat must be an integer >= 1.*got 0"):
        LatentPlanningAgent(gym.make("Pendulum-v1"), action_repeat=0)


def test_predict_holds_each_decision_for_k_calls_when_given_its_state_back():
    env = gym.make(point_goal_env.ENV_ID)
    agent = LatentPlanningAgent(env, seed=0, **{**TINY, "action_repeat": 3}).learn(150)
    obs = [env.reset(seed=s)[0] for s in range(7)]
    actions, state = [], None
    for i, o in enumerate(obs):
        action, state = agent.predict(o, state=state, episode_start=np.array([i == 5]))
        actions.append(action)
    assert all(np.array_equal(actions[i], actions[0]) for i in (1, 2))  # held
    assert np.array_equal(actions[4], actions[3]) and not np.array_equal(actions[3], actions[2])  # replanned at 3
    assert not np.array_equal(actions[5], actions[4]) and np.array_equal(actions[6], actions[5])  # a new episode
    assert agent.predict(obs[1])[1] is not None  # state=None decides afresh and hands the hold back
    episodes = evaluate(env, model_policy(agent), 2, seed=3)[0]  # evaluation carries the hold
    assert len(episodes) == 2


def test_a_dataset_recorded_without_holds_is_stored_as_held_steps(tmp_path):
    from tests.agents.planning.test_latent_agent import write_dataset
    from world_models.data import read_episodes
    data = write_dataset(tmp_path / "demos", point_goal_env.ENV_ID, 3)
    lengths = [len(e) for e in read_episodes(data)]
    agent = LatentPlanningAgent(gym.make(point_goal_env.ENV_ID), seed=0,
                                **{**TINY, "demos": str(data), "action_repeat": 4, "learning_starts": 10_000})
    agent.learn(sum(lengths) + 8)
    assert agent.demo_steps == sum(lengths) and agent.num_timesteps == sum(lengths) + 8  # env steps, not holds
    demo_rows = agent.replay.data["demo"][:, 0]
    assert demo_rows.sum() == sum(-(-n // 4) for n in lengths)
    assert agent.replay.data["repeats"][demo_rows, 0].sum() == sum(lengths)
