"""Export a policy for the robot side: ONNX (run by onnxruntime) or a ``torch.export`` program.

What is exported is the whole observation -> action function, so the robot needs neither SB3 nor
the training code: optional VecNormalize statistics, SB3's own pre-processing (image scaling,
one-hot, float casts), the deterministic policy, and SB3's post-processing (unscaling a squashed
action, clipping to the action bounds). :func:`verify_export` checks exported and original agree.

Example:
    >>> import pathlib, tempfile, gymnasium as gym
    >>> from stable_baselines3 import SAC
    >>> from agents.deploy.runtime import load_policy
    >>> env = gym.make("Pendulum-v1")
    >>> model = SAC("MlpPolicy", env, policy_kwargs={"net_arch": [8]}, device="cpu")  # or load_sb3_policy(zip, ...)
    >>> path = export_onnx(model, pathlib.Path(tempfile.mkdtemp()) / "policy.onnx")
    >>> policy = load_policy(path)                          # needs onnxruntime, not SB3
    >>> policy(env.reset(seed=0)[0]).shape                  # obs: array [D] or dict of arrays
    (1,)
"""
from __future__ import annotations

import contextlib
import json
import pathlib
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy
from torch import nn
from torch.distributions import Distribution

from agents.deploy.runtime import METADATA_KEY

OPSET = 17


@contextlib.contextmanager
def distribution_validation_off() -> Iterator[None]:
    """SB3 builds ``torch.distributions`` objects inside ``_predict``; with argument validation on,
    torch 2.13's tracers meet data-dependent checks. Turn it off while tracing, then restore."""
    previous = Distribution._validate_args
    Distribution.set_default_validate_args(False)
    try:
        yield
    finally:
        Distribution.set_default_validate_args(previous)


@dataclass(frozen=True)
class ObsNormalizer:
    """VecNormalize's observation statistics as plain arrays: ``clip((x - mean) / sqrt(var + eps))``.

    Attributes:
        mean, var: per key (``""`` for a Box observation), each shaped like the observation.
        clip_obs: symmetric clip after normalising.
        epsilon: added to the variance.
    """

    mean: Mapping[str, np.ndarray]
    var: Mapping[str, np.ndarray]
    clip_obs: float = 10.0
    epsilon: float = 1e-8

    @classmethod
    def from_vec_normalize(cls, vec_normalize: Any) -> ObsNormalizer:
        """Read the statistics of a live ``VecNormalize`` (its pickle file is not loaded here)."""
        rms = vec_normalize.obs_rms
        stats = rms if isinstance(rms, dict) else {"": rms}
        return cls({k: np.asarray(v.mean) for k, v in stats.items()}, {k: np.asarray(v.var) for k, v in stats.items()},
                   float(vec_normalize.clip_obs), float(vec_normalize.epsilon))


class PolicyModule(nn.Module):
    """Observation tensors (one per key, in ``obs_keys`` order) -> action [B, A] or [B] (discrete).

    Args:
        policy: an SB3 ``BasePolicy`` or any module mapping the observation (tensor or dict) to actions.
        observation_space: the policy's observation space (Box or Dict of Box).
        action_space: for post-processing a Box action (None: returned as the module gives it).
        normalizer: optional VecNormalize statistics applied first.
    """

    def __init__(self, policy: nn.Module, observation_space: spaces.Space, action_space: spaces.Space | None,
                 normalizer: ObsNormalizer | None = None, channel_last_keys: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.policy = policy
        self.obs_keys = list(observation_space.spaces) if isinstance(observation_space, spaces.Dict) else None
        self.channel_last_keys = list(channel_last_keys)  # images arriving [B, H, W, C] ("" for a Box)
        self.is_sb3 = isinstance(policy, BasePolicy)
        self.squash = bool(getattr(policy, "squash_output", False))
        self.box_action = isinstance(action_space, spaces.Box)
        if self.box_action:
            self.register_buffer("low", torch.as_tensor(action_space.low, dtype=torch.float32))
            self.register_buffer("high", torch.as_tensor(action_space.high, dtype=torch.float32))
        self.norm_keys = [] if normalizer is None else list(normalizer.mean)
        for i, key in enumerate(self.norm_keys):
            self.register_buffer(f"mean_{i}", torch.as_tensor(normalizer.mean[key], dtype=torch.float32))
            std = np.sqrt(np.asarray(normalizer.var[key]) + normalizer.epsilon)
            self.register_buffer(f"std_{i}", torch.as_tensor(std, dtype=torch.float32))
        self.clip_obs = 0.0 if normalizer is None else normalizer.clip_obs

    def forward(self, *obs: torch.Tensor) -> torch.Tensor:
        observation: Any = dict(zip(self.obs_keys, obs, strict=True)) if self.obs_keys else obs[0]
        observation = self._channels_first(self._normalize(observation))
        if not self.is_sb3:
            return self.policy(observation)
        actions = self.policy._predict(observation, deterministic=True)
        if not self.box_action:
            return actions
        if self.squash:  # SB3's unscale_action: [-1, 1] -> [low, high]
            return self.low + 0.5 * (actions + 1.0) * (self.high - self.low)
        return torch.maximum(torch.minimum(actions, self.high), self.low)

    def _channels_first(self, observation: Any) -> Any:
        """[B, H, W, C] -> [B, C, H, W] for images the robot sends channel-last (SB3's VecTransposeImage)."""
        for key in self.channel_last_keys:
            if key:
                observation = {**observation, key: observation[key].permute(0, 3, 1, 2)}
            else:
                observation = observation.permute(0, 3, 1, 2)
        return observation

    def _normalize(self, observation: Any) -> Any:
        for i, key in enumerate(self.norm_keys):
            mean, std = getattr(self, f"mean_{i}"), getattr(self, f"std_{i}")
            value = observation[key] if key else observation
            value = torch.clamp((value - mean) / std, -self.clip_obs, self.clip_obs)
            if key:
                observation = {**observation, key: value}
            else:
                observation = value
        return observation


def as_policy_module(policy: BaseAlgorithm | nn.Module, observation_space: spaces.Space | None = None,
                     action_space: spaces.Space | None = None,
                     normalizer: ObsNormalizer | None = None) -> PolicyModule:
    """Wrap an SB3 model/policy, or any observation -> action module, as a :class:`PolicyModule`.

    ``observation_space`` is the layout the exported function takes (the env's; default: the
    policy's). Images the env gives channel-last, where SB3 transposed them for its CNN, are
    transposed inside the exported function, so the robot feeds camera images as they come.
    """
    if isinstance(policy, BaseAlgorithm):
        policy = policy.policy
    channel_last: tuple[str, ...] = ()
    if isinstance(policy, BasePolicy):
        observation_space = observation_space or policy.observation_space
        action_space = action_space or policy.action_space
        channel_last = _channel_last_keys(observation_space, policy.observation_space)
    action_space = action_space or getattr(policy, "action_space", None)  # e.g. a DistilledPolicy's
    if observation_space is None:
        raise ValueError("observation_space is required for a policy that is not an SB3 policy")
    module = PolicyModule(policy.to("cpu"), observation_space, action_space, normalizer, channel_last).eval()
    module.meta = _metadata(observation_space, action_space, normalizer is not None)
    return module


def _channel_last_keys(given: spaces.Space, policy_space: spaces.Space) -> tuple[str, ...]:
    """Keys ("" for a Box) whose shape is the policy's [C, H, W] as [H, W, C]; raises on other mismatches."""
    pairs = ([(k, given.spaces.get(k), s) for k, s in policy_space.spaces.items()]
             if isinstance(policy_space, spaces.Dict) else [("", given, policy_space)])
    keys = []
    for key, mine, theirs in pairs:
        shape, want = getattr(mine, "shape", None), theirs.shape
        if shape == want:
            continue
        if shape is not None and len(want) == 3 and shape == (want[1], want[2], want[0]):
            keys.append(key)
            continue
        raise ValueError(f"observation {key or 'obs'!r} has shape {shape}, the policy takes {want} "
                         "(or its channel-last form)")
    return tuple(keys)


def _metadata(observation_space: spaces.Space, action_space: spaces.Space | None, normalized: bool) -> dict:
    """What a runtime needs to feed the exported function: input names, shapes, action bounds."""
    if isinstance(observation_space, spaces.Dict):
        inputs = {k: list(s.shape) for k, s in observation_space.spaces.items()}
    elif isinstance(observation_space, spaces.Box):
        inputs = {"obs": list(observation_space.shape)}
    else:
        raise ValueError(f"observation space {observation_space} not supported; use Box or Dict of Box")
    meta: dict[str, Any] = {"inputs": inputs, "dict_obs": isinstance(observation_space, spaces.Dict),
                            "normalized": normalized, "action": {"kind": "other"}}
    if isinstance(action_space, spaces.Box):
        meta["action"] = {"kind": "box", "low": action_space.low.tolist(), "high": action_space.high.tolist()}
    elif isinstance(action_space, spaces.Discrete):
        meta["action"] = {"kind": "discrete", "n": int(action_space.n)}
    return meta


def example_inputs(module: PolicyModule, batch: int = 1) -> tuple[torch.Tensor, ...]:
    """Zero tensors [batch, *shape] in input order (used for tracing)."""
    return tuple(torch.zeros(batch, *shape) for shape in module.meta["inputs"].values())


def export_onnx(policy: BaseAlgorithm | nn.Module, path: str | pathlib.Path,
                observation_space: spaces.Space | None = None, action_space: spaces.Space | None = None,
                normalizer: ObsNormalizer | None = None) -> pathlib.Path:
    """Write the observation -> action function as ONNX (dynamic batch) with its metadata.

    Uses torch's TorchScript-based exporter (``dynamo=False``): the dynamo exporter, default since
    torch 2.9, needs ``onnxscript`` and trips on SB3's distribution validation.
    """
    import onnx

    module = as_policy_module(policy, observation_space, action_space, normalizer)
    path = pathlib.Path(path)
    names = list(module.meta["inputs"])
    with distribution_validation_off(), warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(module, example_inputs(module), str(path), dynamo=False, opset_version=OPSET,
                          input_names=names, output_names=["action"],
                          dynamic_axes={n: {0: "batch"} for n in [*names, "action"]})
    model = onnx.load(str(path))
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(module.meta)
    onnx.save(model, str(path))
    return path


def export_program(policy: BaseAlgorithm | nn.Module, path: str | pathlib.Path,
                   observation_space: spaces.Space | None = None, action_space: spaces.Space | None = None,
                   normalizer: ObsNormalizer | None = None) -> pathlib.Path:
    """Write the observation -> action function as a ``torch.export`` program (``.pt2``), batch dynamic."""
    module = as_policy_module(policy, observation_space, action_space, normalizer)
    batch = torch.export.Dim("batch", min=1, max=4096)
    inputs = example_inputs(module, batch=2)
    with distribution_validation_off(), torch.no_grad():
        program = torch.export.export(module, inputs, dynamic_shapes=(tuple({0: batch} for _ in inputs),))
    path = pathlib.Path(path)
    torch.export.save(program, str(path), extra_files={f"{METADATA_KEY}.json": json.dumps(module.meta)})
    return path


class ExportMismatch(ValueError):
    """The exported policy does not give the original's actions."""


def verify_export(reference: Any, exported: Any, observations: Any, atol: float = 1e-5, rtol: float = 1e-3) -> float:
    """Largest |reference - exported| over a batch of observations; raises where any action differs
    by more than ``atol + rtol * |reference|`` (PyTorch's ONNX-export tolerance: float32 graphs fuse
    and order operations differently, and observations sampled across a whole space, ±10 m for the
    Panda's goal boxes, make a saturating tanh differ in the fifth digit).

    Args:
        reference: SB3 model (``predict(obs, deterministic=True)``) or a callable on batches.
        exported: a runtime policy from :mod:`agents.deploy.runtime` (``predict_batch``).
        observations: batch [N, ...] (or dict of batches) in the policy's observation space.

    Raises:
        ExportMismatch: naming the largest difference and the tolerance.
    """
    if hasattr(reference, "predict"):
        expected = reference.predict(observations, deterministic=True)[0]
    else:
        expected = reference(observations)
    got = exported.predict_batch(observations)
    expected, got = np.asarray(expected, dtype=np.float64), np.asarray(got, dtype=np.float64)
    if expected.shape != got.shape:
        raise ExportMismatch(f"exported actions have shape {got.shape}, original {expected.shape}")
    difference = np.abs(expected - got)
    error = float(difference.max()) if expected.size else 0.0
    if not np.all(difference <= atol + rtol * np.abs(expected)):
        raise ExportMismatch(f"exported policy differs from the original by up to {error:.3g} (tolerance: atol "
                             f"{atol:g} + rtol {rtol:g} x |action|)")
    return error
