"""Learning PandaReach from 84x84 pixels: encoder from scratch, SSL encoder, intermediate representation.

Every variant sees the same camera and the robot's proprioception, never the goal vector (it must
come from the image: the green target sphere), and trains the same SAC agent (same
hyperparameters, same env-step budget). Success is measured on fresh episodes every
``eval_every`` steps. Helper module of ``scripts/benchmarks/perception.py``.
"""
from __future__ import annotations

import json
import pathlib
import time

import gymnasium as gym
import numpy as np

import envs  # noqa: F401  (registers the Foresight/ ids)
from agents.features import policy_kwargs_for
from perception.checkpoint import load_encoder
from perception.wrappers import EncodedObservationWrapper, ObjectLocalizationWrapper, ObjectSpec

GOAL_SIZE = 3  # rgb+state's "state" is proprioception then the desired goal (docs/envs.md)
VARIANTS = ("scratch", "ssl", "intermediate")
SAC_KWARGS = {"learning_rate": 1e-3, "batch_size": 64, "gamma": 0.95, "tau": 0.05, "learning_starts": 300}
NET_ARCH = [64, 64]
TARGET = ObjectSpec(projected_area=np.pi * 0.025**2, surface_offset=2 * 0.025 / 3)


class HideGoal(gym.ObservationWrapper):
    """``{"image", "state"}`` -> ``{"image", "proprio"}``: drop the goal so it must be seen."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        state = env.observation_space["state"]
        proprio = gym.spaces.Box(state.low[:-GOAL_SIZE], state.high[:-GOAL_SIZE], dtype=np.float32)
        self.observation_space = gym.spaces.Dict({"image": env.observation_space["image"], "proprio": proprio})

    def observation(self, observation: dict) -> dict:
        return {"image": observation["image"], "proprio": observation["state"][:-GOAL_SIZE]}


def make_env(variant: str, encoder_path: str | None, image_size: int = 84) -> gym.Env:
    """The PandaReach env as seen by ``variant``."""
    env = HideGoal(gym.make("Foresight/PandaReach-v0", obs_mode="rgb+state", image_size=image_size,
                            reward_type="dense"))  # fmt: skip
    if variant == "ssl":
        return EncodedObservationWrapper(env, load_encoder(encoder_path), image_key="image")
    if variant == "intermediate":
        return ObjectLocalizationWrapper(env, {"target": TARGET}, frames_from="render_frames",
                                         keep_keys=["proprio"],
                                         hold_last_seen=True)  # the hand hides the target when on it  # fmt: skip
    if variant != "scratch":
        raise ValueError(f"unknown variant {variant!r}; valid: {list(VARIANTS)}")
    return env


def success_rate(model, env: gym.Env, episodes: int, seed: int) -> float:
    """Fraction of deterministic episodes that end in success."""
    successes = 0
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        done = False
        while not done:
            obs, _, terminated, truncated, info = env.step(model.predict(obs, deterministic=True)[0])
            done = terminated or truncated
        successes += bool(info["is_success"])
    return successes / episodes


def run_variant(variant: str, steps: int, eval_every: int, eval_episodes: int, seed: int,
                encoder_path: str | None, out: pathlib.Path) -> list[tuple[int, float]]:
    """Train SAC on ``variant`` for ``steps`` env steps; write and return the success curve."""
    from stable_baselines3 import SAC

    env, eval_env = make_env(variant, encoder_path), make_env(variant, encoder_path)
    policy_kwargs = {"net_arch": NET_ARCH}
    if variant == "scratch":
        policy_kwargs |= policy_kwargs_for(env.observation_space, encoder="nature", features_dim=50, augment="shift")
    model = SAC("MultiInputPolicy", env, buffer_size=steps, policy_kwargs=policy_kwargs, seed=seed, device="cpu",
                **SAC_KWARGS)  # fmt: skip
    curve, start = [], time.perf_counter()
    while model.num_timesteps < steps:
        model.learn(eval_every, reset_num_timesteps=False)
        curve.append((model.num_timesteps, success_rate(model, eval_env, eval_episodes, 10_000 + seed)))
        print(f"{variant:12s} step {curve[-1][0]:6d} success {curve[-1][1]:.2f} ({time.perf_counter() - start:.0f} s)",
              flush=True)  # fmt: skip
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{variant}.json").write_text(json.dumps({"variant": variant, "seed": seed, "curve": curve,
                                                          "seconds": time.perf_counter() - start}))  # fmt: skip
    return curve


def steps_to(curve: list[tuple[int, float]], level: float) -> int | None:
    """First evaluated step count whose success reaches ``level``; ``None`` if never."""
    return next((step for step, success in curve if success >= level), None)


def plot(out: pathlib.Path) -> pathlib.Path:
    """One PNG of success vs env steps for every variant whose curve is in ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for variant in VARIANTS:
        path = out / f"{variant}.json"
        if path.exists():
            steps, success = zip(*json.loads(path.read_text())["curve"])
            ax.plot(steps, success, marker="o", label=variant)
    ax.axhline(0.9, color="gray", linestyle="--", linewidth=0.8)
    ax.set(xlabel="env steps", ylabel="success rate", title="PandaReach from 84x84 pixels (SAC)", ylim=(-0.05, 1.05))
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "pixels.png", dpi=100)
    return out / "pixels.png"


