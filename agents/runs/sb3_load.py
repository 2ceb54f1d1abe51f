"""Load an SB3 model file's policy without unpickling anything.

``BaseAlgorithm.load`` cloudpickles spaces, schedules and classes out of the zip, so opening an
untrusted ``best_model.zip`` can run code. Here the policy is rebuilt from what is plain data:
the policy class is chosen by algorithm name and observation space, ``policy_kwargs`` come from the
zip's JSON (when they are plain JSON) or from the caller, the spaces come from the caller (e.g.
``gymnasium.make(env_id)``), and the weights load with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import inspect
import io
import json
import pathlib
import zipfile
from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3 import A2C, DDPG, DQN, PPO, SAC, TD3
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.preprocessing import is_image_space, is_image_space_channels_first
from stable_baselines3.common.vec_env import VecTransposeImage

from agents.training.factory import default_policy

ALGORITHMS = {cls.__name__: cls for cls in (A2C, DDPG, DQN, PPO, SAC, TD3)}


def channels_first(space: spaces.Space) -> spaces.Space:
    """The space SB3's policy sees: channel-last images transposed like ``VecTransposeImage`` does."""
    if isinstance(space, spaces.Dict):
        return spaces.Dict({k: channels_first(s) for k, s in space.spaces.items()})
    if is_image_space(space) and not is_image_space_channels_first(space):
        return VecTransposeImage.transpose_space(space)
    return space


def _read_zip(path: pathlib.Path) -> tuple[dict[str, Any], bytes]:
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read("data")), archive.read("policy.pth")
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not an SB3 model zip (need 'data' JSON and 'policy.pth'): {err}") from None


def _policy_kwargs(data: dict[str, Any], override: dict[str, Any] | None) -> dict[str, Any]:
    if override is not None:
        return dict(override)
    stored = data.get("policy_kwargs", {})
    if isinstance(stored, dict) and ":serialized:" in stored:
        raise ValueError("this model's policy_kwargs hold Python objects (classes, functions) that only "
                         "unpickling could restore; pass policy_kwargs=... explicitly")
    return dict(stored)


def load_sb3_policy(path: str | pathlib.Path, algo: str, observation_space: spaces.Space,
                    action_space: spaces.Space, policy_kwargs: dict[str, Any] | None = None,
                    policy: str | None = None) -> BasePolicy:
    """Rebuild the policy in an SB3 model zip, on CPU, in eval mode.

    Args:
        path: ``best_model.zip`` or a checkpoint written by ``model.save``.
        algo: algorithm name, one of :data:`ALGORITHMS` (``"SAC"``...).
        observation_space, action_space: the env's spaces (the zip's copies are pickles);
            channel-last images are transposed as SB3 does for its CNNs.
        policy_kwargs: override the stored ones (required when they are not plain JSON).
        policy: SB3 policy alias (default from the observation space).
    """
    if algo not in ALGORITHMS:
        raise ValueError(f"algo {algo!r} is not one of {sorted(ALGORITHMS)}")
    path = pathlib.Path(path)
    data, weights = _read_zip(path)
    alias = policy or default_policy(observation_space)
    aliases = ALGORITHMS[algo].policy_aliases
    if alias not in aliases:
        raise ValueError(f"policy {alias!r} is not one of {algo}'s {sorted(aliases)}")
    policy_class = aliases[alias]
    kwargs = _policy_kwargs(data, policy_kwargs)
    if "use_sde" in inspect.signature(policy_class).parameters and "use_sde" in data:
        kwargs.setdefault("use_sde", bool(data["use_sde"]))
    module = policy_class(channels_first(observation_space), action_space, lambda _: 0.0, **kwargs)
    state = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
    module.load_state_dict(state)
    return module.eval()
