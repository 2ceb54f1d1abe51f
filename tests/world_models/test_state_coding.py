import math

import pybullet
import pytest
import torch

from world_models.models import EnsembleDynamics, ModelConfig, Normalizer
from world_models.state_coding import StateCoding, euler_to_matrix, matrix_to_euler, rotation_angle


def random_euler(count: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.rand(count, generator=g) * 2 * math.pi - math.pi,
                        torch.rand(count, generator=g) * math.pi - math.pi / 2,
                        torch.rand(count, generator=g) * 2 * math.pi - math.pi], -1).double()


def test_euler_matrix_matches_pybullet_and_round_trips():
    euler = random_euler(50)
    for e, m in zip(euler[:5], euler_to_matrix(euler[:5]), strict=True):
        expected = torch.tensor(pybullet.getMatrixFromQuaternion(pybullet.getQuaternionFromEuler(e.tolist())))
        assert torch.allclose(m.flatten(), expected.double(), atol=1e-9)
    back = matrix_to_euler(euler_to_matrix(euler))
    assert torch.allclose(back, euler, atol=1e-7)
    # gimbal lock (pitch = +-pi/2): the angles differ but the orientation is the same
    locked = torch.tensor([[0.4, math.pi / 2, -1.1], [2.0, -math.pi / 2, 0.3]], dtype=torch.float64)
    assert rotation_angle(matrix_to_euler(euler_to_matrix(locked)), locked).max() < 1e-6


def test_rotation_angle_ignores_wrap_and_measures_turns():
    a = torch.tensor([[math.pi - 1e-3, 0.0, 0.0]])
    b = torch.tensor([[-math.pi + 1e-3, 0.0, 0.0]])  # 2 mrad apart, 2 pi - 2 mrad apart as numbers
    assert rotation_angle(a, b).item() == pytest.approx(2e-3, abs=1e-4)
    assert rotation_angle(torch.zeros(1, 3), torch.tensor([[0.0, 0.0, 0.5]])).item() == pytest.approx(0.5, abs=1e-6)


def test_state_coding_delta_apply_round_trip_and_validation():
    coding = StateCoding(7, euler_dims=(2,))
    assert coding.feature_dim == 10
    states = torch.cat([torch.randn(20, 2).double(), random_euler(20), torch.randn(20, 2).double()], -1)
    following = torch.cat([states[:, :2] + 0.1, random_euler(20, seed=1), states[:, 5:] - 0.2], -1)
    applied = coding.apply(states, coding.delta(states, following))
    assert torch.allclose(applied[:, [0, 1, 5, 6]], following[:, [0, 1, 5, 6]], atol=1e-9)
    assert rotation_angle(applied[:, 2:5], following[:, 2:5]).max() < 1e-6
    assert torch.equal(StateCoding(3).apply(states[:, :3], states[:, :3]), 2 * states[:, :3])  # identity coding
    with pytest.raises(ValueError, match="euler_dims"):
        StateCoding(5, euler_dims=(3,))


def test_std_floor_limits_normalisation_of_jittering_dims():
    data = torch.stack([torch.randn(100), 1e-7 * torch.randn(100)], -1)
    norm = Normalizer(2, std_floor=1e-3)
    norm.fit(data)
    assert norm.std[1].item() == pytest.approx(1e-3) and norm.std[0].item() > 0.5
    with pytest.raises(ValueError, match="std_floor"):
        ModelConfig(std_floor=0.0)


def test_model_with_euler_dims_keeps_state_shape_and_saves_config():
    model = EnsembleDynamics(5, 2, ModelConfig(2, 8, 1, euler_dims=[1], std_floor=1e-3))
    assert model.config.euler_dims == (1,) and model.input_norm.std.shape == (8 + 2,)
    out = model.rollout(torch.zeros(4, 5), torch.zeros(4, 3, 2))
    assert out.states.shape == (4, 3, 5) and torch.isfinite(out.states).all()
