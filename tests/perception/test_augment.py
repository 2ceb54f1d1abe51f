"""Augmentations keep shape, dtype and device, change pixels, and follow their generator."""
import pytest
import torch

from perception.augment import ColorJitter, RandomShift, make_augmentation, to_float


def _frames(b=8, c=6, h=20, w=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (b, c, h, w), generator=g, dtype=torch.uint8)


@pytest.mark.parametrize("module", [RandomShift(pad=4), ColorJitter()])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_keeps_shape_dtype_and_changes_pixels(module, dtype):
    x = _frames()
    x = x if dtype == torch.uint8 else to_float(x)
    y = module(x)
    assert y.shape == x.shape and y.dtype == x.dtype and y.device == x.device
    assert not torch.equal(x, y)


def test_shift_is_an_edge_replicated_translation():
    x = torch.arange(16, dtype=torch.uint8).view(1, 1, 4, 4).repeat(64, 1, 1, 1)
    y = RandomShift(pad=1, generator=torch.Generator().manual_seed(0))(x)
    # every output is the input translated by (dy, dx) in {-1, 0, 1}^2 with clamped edges
    candidates = []
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            rows = (torch.arange(4) + dy).clamp(0, 3)
            cols = (torch.arange(4) + dx).clamp(0, 3)
            candidates.append(x[0, 0][rows][:, cols])
    for img in y[:, 0]:
        assert any(torch.equal(img, c) for c in candidates)
    assert len({tuple(img.flatten().tolist()) for img in y[:, 0]}) > 3  # per-sample shifts


def test_same_generator_seed_same_output():
    x = _frames()
    a = make_augmentation(["shift", "jitter"], torch.Generator().manual_seed(3))(x)
    b = make_augmentation(["shift", "jitter"], torch.Generator().manual_seed(3))(x)
    c = make_augmentation(["shift", "jitter"], torch.Generator().manual_seed(4))(x)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_jitter_with_zero_ranges_is_identity():
    x = to_float(_frames())
    y = ColorJitter(brightness=0, contrast=0, saturation=0, hue=0)(x)
    torch.testing.assert_close(y, x)


def test_hue_rotation_preserves_gray():
    gray = torch.full((4, 3, 5, 5), 0.5)
    y = ColorJitter(brightness=0, contrast=0, saturation=0, hue=0.5)(gray)
    torch.testing.assert_close(y, gray, atol=1e-5, rtol=0)


def test_bad_input_names_the_problem():
    with pytest.raises(ValueError, match="valid"):
        make_augmentation("blur")
    with pytest.raises(ValueError, match=r"\[B, C, H, W\]"):
        RandomShift()(torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match="pad"):
        RandomShift(pad=-1)
