"""The latent value score: imagined rewards plus the terminal value, optimistic or pessimistic."""
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
