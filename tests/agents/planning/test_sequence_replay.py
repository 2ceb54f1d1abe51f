"""The latent agent's sequence replay: demonstrations are oversampled and flagged for cloning where
their goal was kept (or under hindsight goals too, GCSL), and behaviour cloning pulls the prior's
mean onto demonstrated actions."""
import numpy as np
import pytest
import torch
from gymnasium import spaces

from agents.planning.latent_update import LatentValueLearner, UpdateConfig
from agents.planning.sequence_replay import SequenceReplay
from world_models.latent_value import LatentValueConfig, LatentValueModel
from world_models.observation_coding import ObservationCoding

HORIZON = 3


def sparse_reward(achieved: np.ndarray, desired: np.ndarray, info) -> np.ndarray:
    return -(np.linalg.norm(achieved - desired, axis=-1) > 0.05).astype(np.float32)


def episode(rng: np.random.Generator, length: int = 20) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Observations (T + 1 rows) of a wandering 2-D point, and the T actions of an expert heading to the goal."""
    positions = np.cumsum(rng.normal(0, 0.2, (length + 1, 2)), axis=0).astype(np.float32)
    goal = np.tile(np.float32([0.5, 0.5]), (length + 1, 1))
    obs = {"vector": np.concatenate([positions, positions], 1), "goal": goal, "achieved": positions}
    return obs, np.clip(goal[:-1] - positions[:-1], -1, 1).astype(np.float32)


def filled_replay(demo_ratio: float, her_ratio: float, demos: int = 2, others: int = 30,
                  clone_relabelled: bool = False) -> SequenceReplay:
    """``demos`` demonstration episodes and ``others`` ordinary ones, all in column 0."""
    replay = SequenceReplay(10_000, 1, HORIZON, sparse_reward, her_ratio=her_ratio, seed=0, demo_ratio=demo_ratio,
                            clone_relabelled=clone_relabelled)
    rng = np.random.default_rng(0)
    for i in range(demos + others):
        obs, actions = episode(rng)
        rewards = sparse_reward(obs["achieved"][1:], obs["goal"][1:], {})
        replay.add_episode(obs, actions, rewards, np.zeros(len(actions), np.float32), demo=i < demos)
    return replay


def demo_starts(replay: SequenceReplay, batch_size: int) -> np.ndarray:
    rows, cols = replay._starts(batch_size)
    return replay.data["demo"][rows, cols]


def test_demo_ratio_sets_the_share_of_demonstration_starts():
    """2 of 32 episodes are demos (~6% of starts by chance); demo_ratio 0.25 draws a quarter from them
    and the rest from the whole replay, demos included."""
    assert demo_starts(filled_replay(0.0, 0.0), 4000).mean() < 0.12
    flags = demo_starts(filled_replay(0.25, 0.0), 4000)
    assert flags[:1000].all() and 0.25 < flags.mean() < 0.35


def test_demo_flags_only_steps_whose_goal_was_kept():
    """A relabelled goal is not the one the demonstrator pursued: those steps are not cloned."""
    kept = filled_replay(1.0, 0.0).sample(64, torch.device("cpu"))
    relabelled = filled_replay(1.0, 1.0).sample(64, torch.device("cpu"))
    assert kept.demo.shape == (HORIZON, 64) and bool((kept.demo == 1).all())
    assert bool((relabelled.demo == 0).all())



def test_clone_relabelled_flags_demonstrated_steps_under_hindsight_goals_too():
    """GCSL: the demonstrator's action led to the state it later reached, so it is cloned for that goal."""
    batch = filled_replay(1.0, 1.0, clone_relabelled=True).sample(64, torch.device("cpu"))
    assert bool((batch.demo == 1).all())
    assert not torch.equal(batch.goal, filled_replay(1.0, 0.0).sample(64, torch.device("cpu")).goal)  # relabelled

def test_demo_ratio_outside_0_1_is_refused():
    with pytest.raises(ValueError, match="demo_ratio"):
        SequenceReplay(1000, 1, HORIZON, demo_ratio=1.5)


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_behaviour_cloning_pulls_the_prior_onto_demonstrated_actions(precision):
    """With bc_coef the prior's mean action on demo steps approaches the demonstrated one, in either
    precision of the update's forward passes (the weights stay float32 under bfloat16 autocast)."""
    torch.manual_seed(0)
    replay = filled_replay(1.0, 0.0, demos=1, others=0)
    coding = ObservationCoding(spaces.Dict({
        "observation": spaces.Box(-5, 5, (2,)), "desired_goal": spaces.Box(-5, 5, (2,)),
        "achieved_goal": spaces.Box(-5, 5, (2,))}))
    model = LatentValueModel(coding, 2, LatentValueConfig(latent_dim=16, hidden_dim=32, num_q=2))
    config = UpdateConfig(bc_coef=10.0, learning_rate=1e-3, precision=precision)
    learner = LatentValueLearner(model, config, torch.Generator().manual_seed(0))

    def error() -> float:
        batch = replay.sample(64, torch.device("cpu"))
        with torch.no_grad():
            z = model.encode({k: v[0] for k, v in batch.obs.items()})
            mean, _ = model.pi(z, batch.goal, deterministic=True)
        return float((mean - batch.actions[0]).pow(2).sum(-1).mean())

    before = error()
    for _ in range(300):
        learner.update(replay.sample(64, torch.device("cpu")))
    assert error() < 0.5 * before, (before, error())
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_an_unknown_precision_is_refused_naming_the_valid_ones():
    model = LatentValueModel(ObservationCoding(spaces.Box(-1, 1, (3,))), 1, LatentValueConfig(latent_dim=16))
    with pytest.raises(ValueError, match="unknown precision 'half'.*float32.*bfloat16"):
        LatentValueLearner(model, UpdateConfig(precision="half"), torch.Generator())


def test_reward_scale_multiplies_what_the_reward_head_learns():
    """Rewards are scaled before the losses: the head heads for 10 x the env's -1 (unscaled it would sit
    near -1; after 150 updates it is most of the way to -10)."""
    torch.manual_seed(0)
    replay = filled_replay(0.0, 0.0)
    coding = ObservationCoding(spaces.Dict({
        "observation": spaces.Box(-5, 5, (2,)), "desired_goal": spaces.Box(-5, 5, (2,)),
        "achieved_goal": spaces.Box(-5, 5, (2,))}))
    model = LatentValueModel(coding, 2, LatentValueConfig(latent_dim=16, hidden_dim=32, num_q=2))
    learner = LatentValueLearner(model, UpdateConfig(reward_scale=10.0, learning_rate=1e-3), torch.Generator())
    for _ in range(150):
        learner.update(replay.sample(64, torch.device("cpu")))
    batch = replay.sample(256, torch.device("cpu"))
    with torch.no_grad():
        z = model.encode({k: v[0] for k, v in batch.obs.items()})
        predicted = model.rewards(z, batch.actions[0], batch.goal)
    assert bool((batch.rewards[0] == -1).all())
    assert -11.0 < float(predicted.mean()) < -5.0, float(predicted.mean())
