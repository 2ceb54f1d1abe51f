"""SB3 adapters over perception encoders: shapes, dict fusion, pretrained loading, and learning."""
import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO

from agents.sb3.features import EncoderExtractor, MultiInputEncoderExtractor, policy_kwargs_for
from perception.checkpoint import save_encoder
from perception.encoders import make_encoder


class SideOfSquare(gym.Env):
    """A pixel bandit: a bright square is on the left or right; act 0/1 to name the side."""

    def __init__(self, size: int = 36, with_proprio: bool = False) -> None:
        image = gym.spaces.Box(0, 255, (size, size, 3), np.uint8)
        self.observation_space = (
            gym.spaces.Dict({"rgb": image, "proprio": gym.spaces.Box(-1, 1, (2,), np.float32)})
            if with_proprio
            else image
        )
        self.action_space = gym.spaces.Discrete(2)
        self.size, self.with_proprio = size, with_proprio

    def _observe(self):
        self.side = int(self.np_random.integers(2))
        image = np.zeros((self.size, self.size, 3), np.uint8)
        half = self.size // 2
        row = int(self.np_random.integers(0, self.size - 8))
        col = int(self.np_random.integers(0, half - 8)) + self.side * half
        image[row : row + 8, col : col + 8] = 255
        if self.with_proprio:
            return {"rgb": image, "proprio": np.zeros(2, np.float32)}
        return image

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._observe(), {}

    def step(self, action):
        reward = float(action == self.side)
        self.t += 1
        return self._observe(), reward, False, self.t >= 8, {}


def _accuracy(model, env, n=200):
    obs, _ = env.reset(seed=123)
    hits = 0
    for _ in range(n):
        action, _ = model.predict(obs, deterministic=True)
        obs, reward, _, truncated, _ = env.step(action)
        hits += reward
        if truncated:
            obs, _ = env.reset()
    return hits / n


def test_pixel_policy_learns_better_than_chance():
    env = SideOfSquare()
    kwargs = policy_kwargs_for(env.observation_space, encoder="nature", features_dim=32, augment="shift")
    kwargs["net_arch"] = [16]
    model = PPO("CnnPolicy", env, n_steps=128, batch_size=64, n_epochs=4, learning_rate=1e-3, gamma=0.0,
                policy_kwargs=kwargs, seed=0, device="cpu")  # fmt: skip
    assert isinstance(model.policy.features_extractor, EncoderExtractor)
    model.learn(1536)
    assert _accuracy(model, SideOfSquare()) >= 0.8  # chance is 0.5


@pytest.mark.parametrize("encoder", ["impala", "keypoints"])
def test_dict_observation_fuses_image_and_proprio(encoder):
    env = SideOfSquare(with_proprio=True)
    kwargs = policy_kwargs_for(env.observation_space, encoder=encoder, features_dim=16, augment=["shift", "jitter"])
    kwargs["net_arch"] = [8]
    model = PPO("MultiInputPolicy", env, n_steps=32, batch_size=32, n_epochs=1, policy_kwargs=kwargs, seed=0,
                device="cpu")  # fmt: skip
    extractor = model.policy.features_extractor
    assert isinstance(extractor, MultiInputEncoderExtractor)
    assert extractor.features_dim == 16 + 2
    model.learn(32)


def test_pretrained_encoder_is_loaded_and_can_be_frozen(tmp_path):
    torch.manual_seed(0)
    saved = make_encoder("nature", 3, 24, (36, 36))
    path = save_encoder(saved, tmp_path / "enc.pt")
    space = gym.spaces.Box(0, 255, (3, 36, 36), np.uint8)
    kwargs = policy_kwargs_for(space, pretrained=path, freeze=True)
    extractor = kwargs["features_extractor_class"](space, **kwargs["features_extractor_kwargs"])
    extractor.eval()
    x = torch.rand(2, 3, 36, 36)
    torch.testing.assert_close(extractor(x), saved(x))
    assert not any(p.requires_grad for p in extractor.parameters())


def test_channels_last_float_images_are_moved_first():
    space = gym.spaces.Box(0.0, 5.0, (36, 40, 1), np.float32)  # depth in metres, [H, W, 1]
    extractor = EncoderExtractor(space, encoder="nature", features_dim=8)
    assert extractor(torch.rand(2, 36, 40, 1)).shape == (2, 8)


def test_bad_input_names_the_problem(tmp_path):
    image = gym.spaces.Box(0, 255, (3, 36, 36), np.uint8)
    with pytest.raises(ValueError, match="valid"):
        policy_kwargs_for(image, encoder="vit")
    with pytest.raises(ValueError, match="image"):
        policy_kwargs_for(gym.spaces.Box(-1, 1, (4,), np.float32))
    path = save_encoder(make_encoder("nature", 3, 8, (40, 40)), tmp_path / "enc.pt")
    with pytest.raises(ValueError, match="channels"):
        EncoderExtractor(image, pretrained=path)
