"""The latent dynamics ensemble: members on the simplices, a mean step, and a spread that grows off the data."""
import pytest
import torch
from gymnasium import spaces

from world_models.latent_dynamics import LatentDynamicsEnsemble
from world_models.latent_value import LatentValueConfig, LatentValueModel
from world_models.observation_coding import ObservationCoding
from world_models.simplex import simplex_softmax


def model(num_dynamics: int) -> LatentValueModel:
    torch.manual_seed(0)
    return LatentValueModel(ObservationCoding(spaces.Box(-1, 1, (4,))), 2,
                            LatentValueConfig(latent_dim=16, hidden_dim=32, num_dynamics=num_dynamics))


def test_members_live_on_the_simplices_and_the_step_is_their_mean():
    ensemble = model(3)
    z, action = ensemble.encode({"vector": torch.randn(5, 4)}), torch.rand(5, 2) * 2 - 1
    members = ensemble.next_members(z, action)
    assert members.shape == (3, 5, 16)
    torch.testing.assert_close(members.unflatten(-1, (-1, 8)).sum(-1), torch.ones(3, 5, 2))
    assert (members[0] - members[1]).abs().max() > 1e-3  # initialised apart
    torch.testing.assert_close(ensemble.next(z, action), members.mean(0))
    spread = LatentDynamicsEnsemble.disagreement(members)
    torch.testing.assert_close(spread, members.var(0, unbiased=False).sum(-1))
    torch.testing.assert_close(LatentDynamicsEnsemble.disagreement(members[:1].expand(3, -1, -1)), torch.zeros(5))


def test_one_member_keeps_the_plain_mlp_so_saved_agents_still_load():
    single = model(1)
    assert "dynamics.0.0.weight" in single.state_dict() and "dynamics.spread" not in single.state_dict()
    z = single.encode({"vector": torch.randn(5, 4)})
    assert single.next_members(z, torch.zeros(5, 2)).shape == (1, 5, 16)
    with pytest.raises(ValueError, match="num_dynamics must be >= 1.*got 0"):
        model(0)


def test_the_running_spread_starts_at_the_first_batch_and_then_moves_slowly():
    ensemble = LatentDynamicsEnsemble(2, 6, 16, 8, 4)
    first = torch.stack([torch.zeros(3, 8), torch.ones(3, 8)])  # spread 8 * 0.25 = 2 per row
    ensemble.observe(first, tau=0.1)
    assert ensemble.spread.item() == pytest.approx(2.0)
    ensemble.observe(torch.zeros(2, 3, 8), tau=0.1)
    assert ensemble.spread.item() == pytest.approx(1.8)
    torch.testing.assert_close(ensemble.relative_disagreement(first), torch.full((3,), 2.0 / 1.8))


def test_members_fitted_on_one_region_disagree_more_outside_it():
    """What planning pays for: after fitting, inputs like the data's get a small spread, others a large one."""
    torch.manual_seed(0)
    ensemble = LatentDynamicsEnsemble(4, 6, 64, 8, 4)
    optimiser = torch.optim.Adam(ensemble.parameters(), lr=3e-3)
    target_net = torch.nn.Linear(6, 8)
    for _ in range(300):
        x = torch.rand(128, 6) - 1  # the data: every input in [-1, 0]
        target = torch.softmax(target_net(x).detach().unflatten(-1, (-1, 4)), -1).flatten(-2)
        loss = (ensemble(x) - target).square().mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        on_data = LatentDynamicsEnsemble.disagreement(ensemble(torch.rand(256, 6) - 1)).mean()
        off_data = LatentDynamicsEnsemble.disagreement(ensemble(torch.rand(256, 6) * 2 + 2)).mean()
    assert off_data > 5 * on_data


def test_the_written_out_simplex_softmax_is_torchs_softmax_per_group():
    x = torch.randn(5, 3, 16) * 20  # large logits: the max shift keeps exp finite
    expected = torch.softmax(x.unflatten(-1, (-1, 8)), dim=-1).flatten(-2)
    torch.testing.assert_close(simplex_softmax(x, 8), expected)
    assert simplex_softmax(x.bfloat16(), 8).dtype == torch.float32
