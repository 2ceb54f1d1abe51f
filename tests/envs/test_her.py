"""The goal mode works with SB3's HerReplayBuffer as is, and relabelled rewards are our rewards."""
from __future__ import annotations

import numpy as np
import torch
from stable_baselines3 import SAC, HerReplayBuffer

from tests.envs.conftest import make


def test_sac_her_trains_on_the_goal_mode(closing):
    torch.set_num_threads(1)
    env = make("Foresight/PandaPush-v0", obs_mode="goal")
    closing.append(env)
    model = SAC(
        "MultiInputPolicy", env, replay_buffer_class=HerReplayBuffer, learning_starts=60, batch_size=32,
        policy_kwargs={"net_arch": [16]}, replay_buffer_kwargs={"n_sampled_goal": 4}, seed=0, device="cpu",
    )
    model.learn(80)
    batch = model.replay_buffer.sample(64)
    achieved = batch.next_observations["achieved_goal"].numpy()
    desired = batch.observations["desired_goal"].numpy()
    expected = env.unwrapped.compute_reward(achieved, desired, {})
    np.testing.assert_allclose(batch.rewards.numpy().ravel(), expected, atol=1e-6)
    assert (batch.rewards.numpy() == 0).any(), "HER should relabel some transitions as successes"
