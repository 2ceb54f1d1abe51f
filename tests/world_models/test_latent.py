"""The latent pixel model learns a moving-dot world better than copying the last frame."""
import json

import imageio.v3 as iio
import torch
from torch import nn

from world_models.latent import LatentConfig, LatentDynamics, frame_strip, sequences_from_episodes, train_latent
from world_models.scoring import model_score_fn

SIZE = 16


def dot_frames(positions: torch.Tensor, size: int = SIZE) -> torch.Tensor:
    """Gaussian blob at ``positions[T, 2]`` in [0, 1]^2 -> uint8 frames ``[T, 1, size, size]``."""
    grid = (torch.arange(size) + 0.5) / size
    dy = (grid[None, :, None] - positions[:, 1, None, None]) ** 2
    dx = (grid[None, None, :] - positions[:, 0, None, None]) ** 2
    return (255 * torch.exp(-(dx + dy) / 0.02)).round().to(torch.uint8).unsqueeze(1)


def dot_episodes(count: int, steps: int, seed: int, size: int = SIZE):
    g = torch.Generator().manual_seed(seed)
    frames, actions, rewards = [], [], []
    for _ in range(count):
        acts = torch.rand(steps, 2, generator=g) * 2 - 1
        position = torch.rand(2, generator=g) * 0.6 + 0.2
        path = [position]
        for a in acts:
            path.append((path[-1] + 0.15 * a).clamp(0.1, 0.9))
        path = torch.stack(path)
        frames.append(dot_frames(path, size))
        actions.append(acts)
        rewards.append(-(path[1:] - 0.5).norm(dim=-1))
    return frames, actions, rewards


def small_encoder() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 16, 4, stride=2, padding=1), nn.ReLU(),
                         nn.Conv2d(16, 32, 4, stride=2, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(32 * 16, 64))


def test_latent_model_beats_copy_last_frame_and_draws_a_strip(tmp_path):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    data = sequences_from_episodes(*dot_episodes(40, 24, seed=0), length=8)
    model = LatentDynamics(small_encoder(), 64, (1, SIZE, SIZE), 2,
                           LatentConfig(deterministic_size=64, stochastic_size=8, hidden_size=64, free_nats=1.0,
                                        decoder_depth=8))
    losses = train_latent(model, data, steps=300, batch_size=8, learning_rate=3e-3)
    assert sum(losses[-20:]) < 0.5 * sum(losses[:20])
    test = sequences_from_episodes(*dot_episodes(8, 10, seed=1), length=10)
    predicted = model.predict_frames(test.frames, test.actions, context=3)  # 7 imagined frames
    real = test.frames[:, 3:].float() / 255
    model_error = ((predicted - real) ** 2).mean()
    copy_error = ((test.frames[:, 2:3].float() / 255 - real) ** 2).mean()  # the last seen frame
    mean_error = ((data.frames.float().mean((0, 1)) / 255 - real) ** 2).mean()  # the average frame (a blur)
    assert model_error < 0.6 * min(copy_error, mean_error), (float(model_error), float(copy_error), float(mean_error))
    strip = frame_strip(test.frames[0, 3:], predicted[0])
    assert strip.shape == (2 * SIZE, 7 * SIZE, 1)
    iio.imwrite(tmp_path / "strip.png", strip[..., 0].numpy())
    assert (tmp_path / "strip.png").stat().st_size > 0
    states, _ = model.observe(test.frames[:2, :3], test.actions[:2, :3])
    score = model_score_fn(model, states[:, -1])  # planners see the latent model like any other
    assert score(torch.zeros(2, 5, 4, 2)).shape == (2, 5)


def test_fit_world_model_script_on_an_image_dataset(tmp_path, capsys):
    """Plumbing of the pixel path: dataset of images -> perception encoder -> report + PNG strip."""
    import gymnasium as gym
    import numpy as np

    from tests.world_models.test_wm_scripts import script
    from world_models.data import EpisodeWriter
    from world_models.pixel_report import load_pixel_model
    frames, actions, rewards = dot_episodes(6, 12, seed=2, size=36)  # the Nature CNN needs >= 36 x 36
    space = gym.spaces.Box(0, 255, (1, 36, 36), np.uint8)
    with EpisodeWriter(tmp_path / "dots-v0", space, gym.spaces.Box(-1, 1, (2,), np.float32)) as writer:
        for f, a, r in zip(frames, actions, rewards, strict=True):
            writer.reset(f[0].numpy())
            for t in range(len(a)):
                writer.step(a[t].numpy(), f[t + 1].numpy(), float(r[t]), False, t == len(a) - 1)
    assert script("fit_world_model").main(["--data", str(tmp_path / "dots-v0"), "--out", str(tmp_path / "fit"),
                                           "--seq-len", "6", "--context", "2", "--train-steps", "3"]) == 0
    report = json.loads((tmp_path / "fit" / "report.json").read_text())
    assert set(report["frame_mse"]) == {"model",
                                        "copy_last"} and len(report["frame_mse"]["model"]) == 11  # 13 frames - 2
    assert (tmp_path / "fit" / "strip.png").stat().st_size > 0 and (tmp_path / "fit" / "model.pt").exists()
    # issue 14: the pixel model ran at its own batch size (the state model's 256 made a step take 21 s)...
    assert report["config"]["batch_size"] == 8 and report["steps"] == 3
    # ...and said how far it was while it ran (stderr is not a terminal here: lines)
    assert "fit pixel model: 3/3 updates (100%)" in capsys.readouterr().err
    model = load_pixel_model(tmp_path / "fit" / "model.pt")
    assert model.frame_shape == (1, 36, 36) and model.config.composite
