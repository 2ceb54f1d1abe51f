"""Short self-supervised runs lower their loss; datasets round-trip; checkpoints reload."""
import cv2
import numpy as np
import pytest
import torch

from perception.checkpoint import load_encoder, save_encoder
from perception.encoders import make_encoder
from perception.frames import FrameDataset, collect_frames
from perception.pretrain import pretrain
from perception.probe import linear_probe
from perception.ssl import make_objective
from perception.visualize import neighbours_png, reconstruction_png
from tests.perception.synthetic import SIZE, MovingSquare


@pytest.fixture(scope="module")
def dataset():
    return collect_frames(MovingSquare(), 300, labels=lambda env: env.unwrapped.square_position, seed=0)


def test_collected_frames_are_uint8_channels_first(dataset):
    assert dataset.frames.shape == (300, 3, SIZE, SIZE) and dataset.frames.dtype == torch.uint8
    assert dataset.actions.shape == (300, 2) and dataset.labels.shape == (300, 2)
    assert not torch.equal(dataset.frames[0], dataset.next_frames[0])


@pytest.mark.parametrize("objective, steps", [("autoencoder", 40), ("contrastive", 120), ("inverse", 120)])
def test_short_run_lowers_the_loss(dataset, objective, steps):
    torch.manual_seed(0)
    encoder = make_encoder("nature", 3, 32, (SIZE, SIZE))
    losses = pretrain(make_objective(objective, encoder, (SIZE, SIZE), action_dim=2), dataset, steps=steps,
                      batch_size=32, lr=3e-3, device="cpu")  # fmt: skip
    assert np.mean(losses[-10:]) < 0.75 * np.mean(losses[:10]), (losses[:10], losses[-10:])


def test_dataset_and_encoder_round_trip(dataset, tmp_path):
    dataset.save(tmp_path / "frames.npz")
    again = FrameDataset.load(tmp_path / "frames.npz")
    assert torch.equal(again.frames, dataset.frames) and torch.equal(again.labels, dataset.labels)
    encoder = make_encoder("keypoints", 3, 10, (SIZE, SIZE))
    path = save_encoder(encoder, tmp_path / "enc.pt", extra={"objective": "contrastive"})
    x = dataset.frames[:4]
    torch.testing.assert_close(load_encoder(path)(x), encoder(x))


def test_bad_input_names_the_problem(tmp_path):
    with pytest.raises(ValueError, match="valid"):
        make_objective("byol", make_encoder("nature", 3, 8, (SIZE, SIZE)), (SIZE, SIZE))
    with pytest.raises(FileNotFoundError):
        load_encoder(tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="spec"):
        save_encoder(torch.nn.Linear(2, 2), tmp_path / "x.pt")


def test_probe_recovers_a_linear_target_and_not_noise():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(400, 16))
    target = np.c_[features @ rng.normal(size=16), rng.normal(size=400)]  # linear, then pure noise
    r2 = linear_probe(features[:300], target[:300], features[300:], target[300:])
    assert r2[0] > 0.99 and r2[1] < 0.1


def test_pictures_are_written(dataset, tmp_path):
    encoder = make_encoder("nature", 3, 16, (SIZE, SIZE))
    objective = make_objective("autoencoder", encoder, (SIZE, SIZE))
    for path in (reconstruction_png(objective, dataset.frames[:4], tmp_path / "rec.png"),
                 neighbours_png(encoder, dataset.frames[:50], tmp_path / "nn.png", queries=3, k=4)):  # fmt: skip
        image = cv2.imread(str(path))
        assert image is not None and image.shape[0] > SIZE and image.std() > 0
