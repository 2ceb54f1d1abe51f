"""The latent value score: imagined rewards plus the terminal value, optimistic or pessimistic,
and paying for where the dynamics members disagree."""
import pytest
import torch
from gymnasium import spaces

from world_models.latent_scoring import latent_value_score_fn
from world_models.latent_value import LatentValueConfig, LatentValueModel
from world_models.observation_coding import ObservationCoding


def test_pessimism_values_a_sequences_end_at_the_ensembles_mean_minus_its_spread():
    torch.manual_seed(0)
    model = LatentValueModel(ObservationCoding(spaces.Box(-1, 1, (4,))), 2,
                             LatentValueConfig(latent_dim=16, hidden_dim=32, num_q=5)).eval()  # as planning runs it
    z, goal = model.encode({"vector": torch.randn(3, 4)}), torch.zeros(3, 0)
    actions = torch.rand(3, 6, 2, 2) * 2 - 1  # [E, N, H, A]
    discount = 0.9

    def by_hand(k: float) -> torch.Tensor:
        latent, total = z.repeat_interleave(6, 0), 0.0
        flat = actions.reshape(18, 2, 2)
        for t in range(2):
            total = total + discount ** t * model.rewards(latent, flat[:, t], goal.repeat_interleave(6, 0))
            latent = model.next(latent, flat[:, t])
        final, _ = model.pi(latent, goal.repeat_interleave(6, 0), torch.Generator().manual_seed(1))
        qs = model.qs(latent, final, goal.repeat_interleave(6, 0))
        return (total + discount ** 2 * (qs.mean(0) - k * qs.std(0))).reshape(3, 6)

    with torch.no_grad():
        for k in (0.5, 2.0):
            score = latent_value_score_fn(model, z, goal, discount, torch.Generator().manual_seed(1), pessimism=k)
            torch.testing.assert_close(score(actions), by_hand(k))
        cautious = latent_value_score_fn(model, z, goal, discount, torch.Generator().manual_seed(1), pessimism=1.0)
        trusting = latent_value_score_fn(model, z, goal, discount, torch.Generator().manual_seed(1), pessimism=0.1)
        assert (cautious(actions) < trusting(actions)).all()  # members disagree everywhere at initialisation


def test_disagreement_subtracts_the_dynamics_members_relative_spread_at_every_imagined_step():
    torch.manual_seed(0)
    model = LatentValueModel(ObservationCoding(spaces.Box(-1, 1, (4,))), 2,
                             LatentValueConfig(latent_dim=16, hidden_dim=32, num_dynamics=3)).eval()
    model.dynamics.spread.fill_(0.02)
    z, goal = model.encode({"vector": torch.randn(3, 4)}), torch.zeros(3, 0)
    actions = torch.rand(3, 6, 2, 2) * 2 - 1  # [E, N, H, A]
    discount, weight = 0.9, 0.7
    with torch.no_grad():
        plain = latent_value_score_fn(model, z, goal, discount, torch.Generator().manual_seed(1))(actions)
        paying = latent_value_score_fn(model, z, goal, discount, torch.Generator().manual_seed(1),
                                       disagreement=weight)(actions)
        latent, penalty = z.repeat_interleave(6, 0), 0.0
        for t in range(2):
            members = model.next_members(latent, actions.reshape(18, 2, 2)[:, t])
            penalty = penalty + discount ** t * members.var(0, unbiased=False).sum(-1) / 0.02
            latent = members.mean(0)
    torch.testing.assert_close(plain - paying, weight * penalty.reshape(3, 6))


def test_disagreement_without_a_dynamics_ensemble_is_refused():
    model = LatentValueModel(ObservationCoding(spaces.Box(-1, 1, (4,))), 2, LatentValueConfig(latent_dim=16))
    with pytest.raises(ValueError, match="disagreement=0.5 needs a dynamics ensemble"):
        latent_value_score_fn(model, torch.zeros(1, 16), torch.zeros(1, 0), 0.9, torch.Generator(), disagreement=0.5)
