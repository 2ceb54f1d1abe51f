"""The batched rasterizer: right shapes, right pixels, and one world's image follows its state."""
import numpy as np
import pytest
import torch

from envs.batched import WORLDS, Canvas, make_batched


def test_shapes_land_on_the_right_pixels():
    canvas = Canvas(2, view=(-1.0, 1.0, -1.0, 1.0), size=(20, 40))
    centre = torch.tensor([0.0, 0.5])
    canvas.circles(centre, centre, 0.2, (255, 0, 0))
    canvas.boxes(torch.tensor([-0.9, -0.9]), torch.tensor([-0.9, -0.9]), 0.05, 0.08, (0, 255, 0))
    canvas.segments(torch.tensor([-1.0, -1.0]), torch.tensor([0.9, 0.9]), torch.tensor([1.0, 1.0]),
                    torch.tensor([0.9, 0.9]), 0.12, (0, 0, 255))
    image = canvas.image
    assert image.shape == (2, 3, 20, 40) and image.dtype == torch.uint8
    assert image[0, :, 10, 20].tolist() == [255, 0, 0]  # world 0: disc at the centre
    assert image[1, :, 10, 20].tolist() == [0, 0, 0]  # world 1's disc is up and right of it
    assert image[1, 0, 5, 30] == 255  # (0.5, 0.5) is row 5, column 30
    assert image[:, 1, 19, 1].tolist() == [255, 255] and image[0, 1, 19, 4] == 0  # box, bottom left
    assert (image[:, 2, 0, :] == 255).all()  # the segment spans the top row


@pytest.mark.parametrize("name", sorted(WORLDS))
def test_a_worlds_pixels_change_when_its_state_does_and_only_its_own(name):
    env = make_batched(name, 3, device="cpu", obs_mode="rgb", image_size=(48, 64), backend="torch")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (3, 48, 64, 3) and obs.dtype == torch.uint8
    assert env.observation_space.contains(obs.numpy())
    before = env.images(env.state)
    moved = env.state.clone()
    moved[1] = env.world.initial_state(env.ops, torch.Generator().manual_seed(9), 1)[0]
    after = env.images(moved)
    assert not torch.equal(after[1], before[1])
    assert torch.equal(after[0], before[0]) and torch.equal(after[2], before[2])


def test_images_follow_the_steps_of_the_env():
    env = make_batched("cartpole", 2, device="cpu", obs_mode="rgb", array_type="numpy")
    first, _ = env.reset(seed=0)
    for _ in range(10):
        last, *_ = env.step(np.ones(2, dtype=np.int64))
    assert (first != last).any(axis=(1, 2, 3)).all()  # the carts moved right in both


def test_render_gives_one_hwc_frame_per_world():
    env = make_batched("arm_reach", 2, device="cpu", render_mode="rgb_array", image_size=32)
    env.reset(seed=0)
    frames = env.render()
    assert len(frames) == 2 and frames[0].shape == (32, 32, 3) and frames[0].dtype == np.uint8


def test_bad_image_size_is_refused():
    with pytest.raises(ValueError, match="image size must be positive"):
        Canvas(1, (-1.0, 1.0, -1.0, 1.0), size=(0, 64))


def test_rgb_plus_state_gives_a_dict_with_the_pybullet_envs_keys():
    env = make_batched("spaceship", 3, device="cpu", obs_mode="rgb+state", image_size=32, array_type="numpy")
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs) and set(obs) == {"image", "state"}
    _, _, _, _, info = env.step(np.zeros((3, 2), np.float32))
    assert info["final_obs"]["image"].shape == (3, 32, 32, 3) and info["final_obs"]["state"].shape == (3, 8)


def test_tight_windows_draw_exactly_what_whole_image_tests_draw():
    generator = torch.Generator().manual_seed(0)
    centres = torch.rand(4, 3, 4, generator=generator) * 2.4 - 1.2  # some shapes hang off the image
    length = 0.5
    angle = torch.rand(4, 3, generator=generator) * 6.3
    ends = centres[..., 0] + length * angle.cos(), centres[..., 1] + length * angle.sin()
    radius = 0.05 + 0.1 * torch.rand(4, 3, generator=generator)
    images = []
    for tight in (True, False):
        canvas = Canvas(4, (-1.0, 1.0, -1.0, 0.5), size=(30, 50))
        canvas.circles(centres[..., 2], centres[..., 3], radius, (200, 0, 0), max_radius=0.15 if tight else None)
        canvas.segments(centres[..., 0], centres[..., 1], *ends, 0.1, (0, 200, 0), max_length=length if tight else None)
        canvas.boxes(centres[..., 3], centres[..., 0], 0.2, 0.05, (0, 0, 200))
        images.append(canvas.image)
    assert images[0].any() and torch.equal(images[0], images[1])


def test_rgb_is_channel_last_like_the_pybullet_envs_and_a_free_view_of_the_planes():
    import gymnasium as gym

    import envs  # noqa: F401  (registers the ids)

    pybullet = gym.make("Foresight/PandaReach-v0", obs_mode="rgb", image_size=32)
    batched = make_batched("cartpole", 2, device="cpu", obs_mode="rgb", image_size=32, backend="torch")
    single = gym.make("Foresight/BatchedCartPole-v0", obs_mode="rgb", image_size=32)
    try:
        assert pybullet.observation_space.shape == batched.single_observation_space.shape == (32, 32, 3)
        assert single.observation_space.shape == (32, 32, 3)
        obs, _ = batched.reset(seed=0)
        assert obs.permute(0, 3, 1, 2)[0, 0].is_contiguous()  # a view of the rasterizer's planes, not a copy
        single_obs, _ = single.reset(seed=0)
        assert single.observation_space.contains(single_obs)
    finally:
        pybullet.close()
        single.close()
