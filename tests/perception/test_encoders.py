"""Every encoder maps [B, C, H, W] uint8 or float to [B, D] float32 on the input's device."""
import pytest
import torch

from perception.encoders import ImpalaCNN, NatureCNN, SpatialSoftmax, SpatialSoftmaxEncoder, make_encoder

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["nature", "impala", "keypoints"])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_shapes_dtypes_devices(name, dtype, device):
    torch.manual_seed(0)
    encoder = make_encoder(name, in_channels=6, features_dim=32, image_size=(48, 40)).to(device)
    x = torch.randint(0, 256, (3, 6, 48, 40), dtype=torch.uint8, device=device)
    x = x if dtype == torch.uint8 else x.float() / 255
    y = encoder(x)
    assert y.shape == (3, 32) and encoder.features_dim == 32
    assert y.dtype == torch.float32 and y.device.type == device
    y.sum().backward()
    assert all(p.grad is not None for p in encoder.parameters() if p.requires_grad)


def test_uint8_and_float_inputs_agree():
    encoder = NatureCNN(3, 16, image_size=(36, 36))
    x = torch.randint(0, 256, (2, 3, 36, 36), dtype=torch.uint8)
    torch.testing.assert_close(encoder(x), encoder(x.float() / 255))


def test_default_widths():
    assert NatureCNN(3).features_dim == 512
    assert ImpalaCNN(3).features_dim == 256
    assert SpatialSoftmaxEncoder(3, num_keypoints=8).features_dim == 16


def test_spatial_softmax_finds_the_peak():
    maps = torch.full((1, 2, 11, 21), -50.0)
    maps[0, 0, 0, 20] = 50.0  # top right
    maps[0, 1, 10, 0] = 50.0  # bottom left
    keypoints = SpatialSoftmax()(maps)
    torch.testing.assert_close(keypoints, torch.tensor([[[1.0, -1.0], [-1.0, 1.0]]]), atol=1e-4, rtol=0)


def test_keypoint_encoder_returns_keypoints_in_range():
    encoder = SpatialSoftmaxEncoder(3, num_keypoints=5)
    kp = encoder.keypoints(torch.rand(2, 3, 32, 32))
    assert kp.shape == (2, 5, 2) and kp.abs().max() <= 1


def test_bad_input_names_the_problem():
    with pytest.raises(ValueError, match="valid"):
        make_encoder("resnet", 3)
    with pytest.raises(ValueError, match="channels"):
        NatureCNN(3, 8, image_size=(36, 36))(torch.zeros(1, 4, 36, 36))
    with pytest.raises(ValueError, match="too small"):
        NatureCNN(3, 8, image_size=(16, 16))
    with pytest.raises(TypeError, match="dtype"):
        NatureCNN(3, 8, image_size=(36, 36))(torch.zeros(1, 3, 36, 36, dtype=torch.int32))
