"""Models fit a linear system, beat the baselines, know where they have no data, and save exactly."""
import io

import pytest
import torch

from world_models.evaluation import LinearModel, Windows, calibration, compare_to_baselines, copy_last
from world_models.fitting import FitConfig, fit
from world_models.models import EnsembleDynamics, ModelConfig, build_model
from world_models.replay import Transitions

A = torch.tensor([[0.9, 0.2], [-0.1, 0.95]])
B = torch.tensor([[0.5], [0.3]])


def linear_system(count: int, seed: int, spread: float = 1.0) -> Transitions:
    g = torch.Generator().manual_seed(seed)
    states = spread * torch.randn(count, 2, generator=g)
    actions = torch.rand(count, 1, generator=g) * 2 - 1
    next_states = states @ A.T + actions @ B.T
    return Transitions(states, actions, -(next_states ** 2).sum(-1), next_states, torch.zeros(count))


def small(ensemble: int = 1, probabilistic: bool = False) -> EnsembleDynamics:
    torch.manual_seed(0)
    return EnsembleDynamics(2, 1, ModelConfig(ensemble_size=ensemble, hidden_size=32, num_layers=2,
                                              probabilistic=probabilistic))


def test_mlp_recovers_linear_system_and_beats_baselines():
    model = small()
    report = fit(model, linear_system(1000, 0), FitConfig(max_epochs=40, batch_size=50, patience=10))
    assert report.holdout_mse[report.best_epoch] < 0.01 * report.holdout_mse[0] + 1e-3
    test = linear_system(200, 1)
    with torch.no_grad():
        predicted, reward, _ = model.step(test.states, test.actions, propagation="mean")
    assert (predicted - test.next_states).abs().max() < 0.15
    assert (reward - test.rewards).abs().mean() < 0.15 * test.rewards.abs().mean()
    # open-loop windows of a 5-step rollout under random actions
    actions = torch.rand(100, 5, 1, generator=torch.Generator().manual_seed(2)) * 2 - 1
    start, truth = test.states[:100], []
    state = start
    for t in range(5):
        state = state @ A.T + actions[:, t] @ B.T
        truth.append(state)
    errors = compare_to_baselines(model, linear_system(1000, 0), Windows(start, actions, torch.stack(truth, 1)),
                                  ks=(1, 5))
    assert errors["linear"][5] < 1e-4  # the linear baseline is exact on a linear system
    assert errors["model"][5] < 0.2 * errors["copy_last"][5]


def test_linear_baseline_and_copy_last_shapes():
    data = linear_system(100, 3)
    assert torch.allclose(LinearModel(data).weights[:2].T, A - torch.eye(2), atol=1e-4)
    assert copy_last(data.states[:4], torch.zeros(4, 7, 1)).shape == (4, 7, 2)


def test_ensemble_disagreement_grows_off_the_data():
    model = small(ensemble=5, probabilistic=True)
    fit(model, linear_system(1000, 0, spread=0.5), FitConfig(max_epochs=15, batch_size=64))
    near, far = linear_system(200, 4, spread=0.5), linear_system(200, 4, spread=8.0)
    with torch.no_grad():
        spread_near = model.step(near.states, near.actions, propagation="mean")[2].mean()
        spread_far = model.step(far.states, far.actions, propagation="mean")[2].mean()
    assert spread_far > 5 * spread_near
    bins = calibration(model, linear_system(500, 5, spread=0.5), bins=3)
    assert len(bins) == 3 and all(p > 0 for p, _ in bins)


def test_save_load_round_trip_reproduces_predictions():
    model = small(ensemble=5, probabilistic=True)
    fit(model, linear_system(300, 0), FitConfig(max_epochs=2))
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), **model.extra_config()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    clone = build_model(saved["state_dim"], saved["action_dim"], saved["config"])
    clone.load_state_dict(saved["model"])
    states, actions = torch.randn(10, 2), torch.rand(10, 4, 1)
    with torch.no_grad():
        a, b = model.rollout(states, actions), clone.rollout(states, actions)
    assert torch.equal(a.states, b.states) and torch.equal(a.rewards, b.rewards)


def test_fixed_propagation_assigns_rows_to_members_and_checks_batch():
    model = small(ensemble=5, probabilistic=True)
    states, actions = torch.randn(10, 2), torch.rand(10, 1)
    with torch.no_grad():
        fixed = model.step(states, actions, propagation="fixed")[0]
        mean_all, _ = model(states.expand(5, -1, -1), actions.expand(5, -1, -1))
    delta = model.target_norm.denormalize(mean_all)[..., :2]
    for row in range(10):
        assert torch.allclose(fixed[row], states[row] + delta[row % 5, row], atol=1e-5)
    try:
        model.step(states[:7], actions[:7], propagation="fixed")
    except ValueError as error:
        assert "multiple of the ensemble size 5" in str(error)
    else:
        raise AssertionError("expected a ValueError")


@pytest.mark.parametrize("config", [ModelConfig(5, 32, 3), ModelConfig(5, 16, 2, probabilistic=False, euler_dims=(2,)),
                                    ModelConfig(1, 16, 1, learn_reward=False)])
def test_fixed_rollout_fast_path_equals_stepping(config):
    """The planner's hot path (folded normalisation, member-major rows) computes what step() does."""
    torch.manual_seed(0)
    model = EnsembleDynamics(6, 2, config)
    for norm in (model.input_norm, model.target_norm):
        norm.mean.normal_()
        norm.std.uniform_(0.5, 2.0)
    start, actions = torch.randn(10, 6), torch.randn(10, 7, 2)
    fast = model.rollout(start, actions)
    state, states, rewards = start, [], []
    for t in range(actions.shape[1]):
        state, reward, _ = model.step(state, actions[:, t])
        states.append(state)
        rewards.append(reward)
    assert torch.allclose(fast.states, torch.stack(states, 1), atol=1e-4)
    assert torch.allclose(fast.rewards, torch.stack(rewards, 1), atol=1e-4)
