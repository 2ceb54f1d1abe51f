"""Export: exported policies match the originals to 1e-5; crafted files execute nothing."""
import io
import json
import pickle
import zipfile

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from agents.deploy.export import ObsNormalizer, export_onnx, export_program, verify_export
from agents.deploy.flows import sample_observations
from agents.deploy.runtime import OnnxPolicy, UnsafeFileError, load_policy
from agents.runs.sb3_load import load_sb3_policy
from tests.helpers import MkdirOnUnpickle

N_OBS = 1000


def _observations(space: spaces.Space, n: int = N_OBS):
    return sample_observations(space, n, seed=0)


@pytest.fixture(scope="module")
def sac():
    torch.manual_seed(0)
    model = SAC("MlpPolicy", "Pendulum-v1", learning_starts=8, batch_size=8, policy_kwargs={"net_arch": [32]},
                device="cpu", seed=0)
    model.learn(24)
    return model


@pytest.fixture(scope="module")
def exported(sac, tmp_path_factory):
    """The SAC policy exported once per format (torch.export tracing takes seconds)."""
    folder = tmp_path_factory.mktemp("exported")
    return {".onnx": export_onnx(sac, folder / "policy.onnx"), ".pt2": export_program(sac, folder / "policy.pt2")}


@pytest.mark.parametrize("suffix", [".onnx", ".pt2"])
def test_exported_sac_matches_original(sac, exported, suffix):
    policy = load_policy(exported[suffix])
    observations = _observations(sac.observation_space)
    assert verify_export(sac, policy, observations, atol=1e-5) <= 1e-5
    action = policy(observations[0])
    assert action.shape == (1,) and -2.0 <= action[0] <= 2.0


def test_gaussian_policy_with_dict_obs_and_normalization(tmp_path):
    """PPO (clipped Gaussian mean) on dict observations, VecNormalize statistics folded in."""
    obs_space = spaces.Dict({"observation": spaces.Box(-5, 5, (6,)), "desired_goal": spaces.Box(-1, 1, (3,))})
    act_space = spaces.Box(-1.0, 1.0, (4,))
    env = gym.Env()
    env.observation_space, env.action_space = obs_space, act_space
    model = PPO("MultiInputPolicy", DummyVecEnv([lambda: _Static(obs_space, act_space)]), n_steps=16,
                policy_kwargs={"net_arch": [16], "log_std_init": 1.0}, device="cpu", seed=1)
    vec_norm = VecNormalize(model.get_env(), norm_reward=False)
    observations = _observations(obs_space)
    vec_norm.obs_rms["observation"].update(observations["observation"] * 2 + 1)
    normalizer = ObsNormalizer.from_vec_normalize(vec_norm)
    policy = OnnxPolicy(export_onnx(model, tmp_path / "ppo.onnx", normalizer=normalizer))
    reference = lambda obs: model.predict(vec_norm.normalize_obs(obs), deterministic=True)[0]  # noqa: E731
    assert verify_export(reference, policy, observations, atol=1e-5) <= 1e-5
    assert np.all(np.abs(policy.predict_batch(observations)) <= 1.0)


class _Static(gym.Env):
    def __init__(self, obs_space, act_space):
        self.observation_space, self.action_space = obs_space, act_space

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, False, False, {}


def test_distilled_torch_module_exports(tmp_path):
    net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    space = spaces.Box(-1, 1, (5,))
    policy = OnnxPolicy(export_onnx(net, tmp_path / "d.onnx", observation_space=space))
    observations = _observations(space)
    reference = lambda obs: net(torch.as_tensor(obs)).detach().numpy()  # noqa: E731
    assert verify_export(reference, policy, observations) <= 1e-5
    with pytest.raises(ValueError, match="shape"):
        policy(np.zeros(4))


def test_safe_sb3_load_matches_model(tmp_path, sac):
    sac.save(tmp_path / "best_model.zip")
    policy = load_sb3_policy(tmp_path / "best_model.zip", "SAC", sac.observation_space, sac.action_space)
    observations = _observations(sac.observation_space, 100)
    np.testing.assert_allclose(policy.predict(observations, deterministic=True)[0],
                               sac.predict(observations, deterministic=True)[0], atol=1e-6)
    with pytest.raises(ValueError, match="not one of"):
        load_sb3_policy(tmp_path / "best_model.zip", "SACX", sac.observation_space, sac.action_space)


def _evil_sb3_zip(src, dst, marker):
    """A model zip whose JSON carries a cloudpickle payload (SB3's own load would run it)."""
    payload = __import__("base64").b64encode(pickle.dumps(MkdirOnUnpickle(marker))).decode()
    with zipfile.ZipFile(src) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    data = json.loads(members["data"])
    data["lr_schedule"] = data["evil"] = {":type:": "x", ":serialized:": payload}
    members["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(dst, "w") as archive:
        for name, blob in members.items():
            archive.writestr(name, blob)


def test_crafted_files_execute_nothing(tmp_path, sac, exported):
    marker = tmp_path / "pwned"
    evil_pickle = pickle.dumps(MkdirOnUnpickle(marker))
    sac.save(tmp_path / "good.zip")
    _evil_sb3_zip(tmp_path / "good.zip", tmp_path / "evil.zip", marker)
    load_sb3_policy(tmp_path / "evil.zip", "SAC", sac.observation_space, sac.action_space)  # payload ignored
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("data", json.dumps({}))
        archive.writestr("policy.pth", evil_pickle)
    (tmp_path / "evil_weights.zip").write_bytes(buf.getvalue())
    with pytest.raises(pickle.UnpicklingError):
        load_sb3_policy(tmp_path / "evil_weights.zip", "SAC", sac.observation_space, sac.action_space)
    (tmp_path / "evil.onnx").write_bytes(evil_pickle)
    (tmp_path / "junk.onnx").write_bytes(b"\x08\x07garbage")
    for path in ("evil.onnx", "junk.onnx"):
        with pytest.raises(UnsafeFileError):
            load_policy(tmp_path / path)
    assert not marker.exists()  # crafted .pt2 archives: tests/agents/deploy/test_pt2_archive.py


def test_training_run_folder_exports_with_its_normalization(tmp_path):
    """A run written by agents.training.run (PPO, VecNormalize on) exports with its statistics folded in."""
    from agents.deploy.flows import export_run
    from agents.training.run import RunConfig, train
    from tests.agents import point_goal_env

    params = {"n_steps": 64, "batch_size": 32, "n_epochs": 1, "policy_kwargs": "dict(net_arch=[16])",
              "normalize": True}
    result = train(RunConfig(algo="ppo", env_id=point_goal_env.ENV_ID, n_timesteps=128, n_envs=1, eval_freq=0,
                               eval_episodes=1, save_freq=0, params=params, log_folder=str(tmp_path),
                               video_episodes=0, progress=False, device="cpu"))
    report = export_run(result.run.path, tmp_path / "run.onnx", which="latest", check=N_OBS)
    assert report["max_abs_error"] <= 1e-5 and report["checked_observations"] == N_OBS
    assert OnnxPolicy(tmp_path / "run.onnx").meta["normalized"]


@pytest.mark.parametrize("dict_obs", [False, True])
def test_image_policies_take_channel_last_camera_images(tmp_path, dict_obs):
    """SB3 transposes images for its CNN; the exported function takes them as the camera gives them."""
    image = spaces.Box(0, 255, (36, 36, 3), np.uint8)
    obs_space = spaces.Dict({"image": image, "state": spaces.Box(-1, 1, (4,))}) if dict_obs else image
    model = PPO("MultiInputPolicy" if dict_obs else "CnnPolicy", _Static(obs_space, spaces.Box(-1, 1, (2,))),
                n_steps=16, batch_size=16, policy_kwargs={"net_arch": [16]}, device="cpu", seed=0)
    policy = OnnxPolicy(export_onnx(model, tmp_path / "cnn.onnx", observation_space=obs_space))
    observations = _observations(obs_space, 200)
    assert verify_export(model, policy, observations) <= 1e-5
    model.save(tmp_path / "cnn.zip")  # the pickle-free loader transposes the env's space like SB3 does
    rebuilt = load_sb3_policy(tmp_path / "cnn.zip", "PPO", obs_space, model.action_space)
    np.testing.assert_allclose(rebuilt.predict(observations, deterministic=True)[0],
                               model.predict(observations, deterministic=True)[0], atol=1e-6)


def test_the_export_check_allows_float32_rounding_and_refuses_real_differences():
    """A trained SAC on Reach differed by 3.2e-5 from its ONNX copy on observations sampled over the whole
    (+-10 m) goal boxes: float32 rounding in a saturating tanh, which the old absolute 1e-5 refused."""
    from agents.deploy.export import ExportMismatch

    class Exported:
        def __init__(self, scale):
            self.scale = scale

        def predict_batch(self, obs):
            return obs * self.scale

    observations = np.linspace(-1, 1, 50, dtype=np.float32)[:, None]
    assert verify_export(lambda obs: obs, Exported(1 + 1e-4), observations) == pytest.approx(1e-4, rel=1e-3)
    with pytest.raises(ExportMismatch, match="differs from the original by up to 0.01"):
        verify_export(lambda obs: obs, Exported(1.01), observations)
