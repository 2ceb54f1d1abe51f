"""The supervised locator finds a square it was trained on, far better than the mean guess."""
import numpy as np
import pytest

from perception.frames import collect_frames
from perception.locate import fit_locator, location_errors
from tests.perception.synthetic import MovingSquare


def square_point(env) -> np.ndarray:
    """The square's pixel position as an xyz point (z = 0), so errors read as 3-D distances."""
    return np.append(env.square_position, 0.0).astype(np.float32)


def test_locator_beats_the_mean_on_held_out_frames():
    data = collect_frames(MovingSquare(), 600, labels=square_point, seed=0)
    train, test = data.split(0.8)
    locator = fit_locator(train, steps=300, batch_size=32, features=64, seed=0)
    errors = location_errors(locator, test)[:, 0]
    floor = (train.labels.mean(0) - test.labels).norm(dim=-1)
    assert errors.shape == (len(test),)
    assert errors.median() < 0.5 * floor.median()  # pixels: it learnt where the square is


def test_location_errors_needs_xyz_columns_and_fit_needs_labels():
    data = collect_frames(MovingSquare(), 8, labels=lambda env: env.square_position, seed=0)
    with pytest.raises(ValueError, match="multiple of 3"):
        location_errors(fit_locator(data, steps=1, batch_size=4, features=8), data)
    unlabelled = collect_frames(MovingSquare(), 8, seed=0)
    with pytest.raises(ValueError, match="labelled frames"):
        fit_locator(unlabelled, steps=1)
