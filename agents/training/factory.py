"""One factory over SB3's algorithms (and sb3-contrib's TQC, and our planning agent).

``make_agent(algo, env, hyperparams)`` turns a resolved hyperparameter dict (rl-zoo keys, see
:mod:`agents.training.hyperparams`) into a ready model. It works on any gymnasium env wrapped as an SB3
``VecEnv``: the policy class follows the observation space, and goal-dict envs get
``HerReplayBuffer`` with off-policy algorithms unless the hyperparameters say otherwise.

Example:
    >>> import gymnasium as gym
    >>> from stable_baselines3.common.vec_env import DummyVecEnv
    >>> env = DummyVecEnv([lambda: gym.make("Pendulum-v1")])
    >>> model = make_agent("sac", env, {"policy_kwargs": "dict(net_arch=[8])"}, seed=0)
    >>> type(model).__name__
    'SAC'
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3 import A2C, DDPG, DQN, PPO, SAC, TD3, HerReplayBuffer
from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.common.vec_env import VecEnv

from agents.training.hyperparams import SPECIAL_KEYS, parse_value
from agents.training.names import ALGOS
from foresight_base.checks import check_choice

SB3_ALGOS = {"a2c": A2C, "ddpg": DDPG, "dqn": DQN, "ppo": PPO, "sac": SAC, "td3": TD3}
CONTRIB_ALGOS = {"tqc": "TQC"}
PLANNING_ALGOS = {"mpc": ("agents.planning.mpc", "PlanningAgent"),
                  "lmpc": ("agents.planning.latent_agent", "LatentPlanningAgent")}
OFF_POLICY = {"ddpg", "dqn", "sac", "td3", "tqc"}
GOAL_KEYS = {"observation", "achieved_goal", "desired_goal"}
# Names allowed in zoo-style ``policy_kwargs`` strings, e.g. ``activation_fn=nn.ReLU``.
TORCH_NAMES = {
    f"{prefix}{name}": getattr(torch.nn, name)
    for prefix in ("nn.", "th.nn.", "torch.nn.")
    for name in ("ReLU", "Tanh", "ELU", "LeakyReLU", "GELU", "SiLU", "Mish")
}
TORCH_NAMES |= {f"{p}optim.{n}": getattr(torch.optim, n) for p in ("th.", "torch.") for n in ("Adam", "AdamW",
                                                                                              "RMSprop", "SGD")}
# Keys handled here, not passed to the algorithm's constructor.
NOISE_KEYS = ("noise_type", "noise_std")


def optional_module(name: str):
    """Import ``name`` if it is installed; a broken import inside it still raises."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name is not None and name.startswith(err.name):
            return None
        raise


def algo_class(algo: str) -> type:
    """The model class for ``algo`` (lower case), importing optional back-ends lazily."""
    if algo in SB3_ALGOS:
        return SB3_ALGOS[algo]
    if algo in CONTRIB_ALGOS:
        module = optional_module("sb3_contrib")
        if module is None:
            raise ImportError(f"--algo {algo} needs sb3-contrib: pip install 'foresight[contrib]'")
        return getattr(module, CONTRIB_ALGOS[algo])
    if algo in PLANNING_ALGOS:
        module_name, class_name = PLANNING_ALGOS[algo]
        module = optional_module(module_name)
        if module is None:
            raise ImportError(f"--algo {algo} needs {module_name} (the planning agent), not installed yet")
        return getattr(module, class_name)
    raise ValueError(f"unknown algo {algo!r}; valid: {', '.join(ALGOS)}")


def is_goal_space(space: spaces.Space) -> bool:
    """True for the goal-dict observations HER relabels (``observation``/``achieved_goal``/``desired_goal``)."""
    return isinstance(space, spaces.Dict) and GOAL_KEYS <= set(space.spaces)


def default_policy(space: spaces.Space) -> str:
    """SB3 policy name for an observation space (SB3's own image test, so loading agrees with training)."""
    if isinstance(space, spaces.Dict):
        return "MultiInputPolicy"
    return "CnnPolicy" if is_image_space(space) else "MlpPolicy"


def agent_kwargs(algo: str, env: VecEnv, hyperparams: dict[str, Any]) -> dict[str, Any]:
    """Constructor keyword arguments from resolved hyperparameters (special keys dropped)."""
    kwargs = {k: parse_value(k, v) for k, v in hyperparams.items() if k not in SPECIAL_KEYS + NOISE_KEYS}
    if "learning_rate" in kwargs:
        kwargs["learning_rate"] = schedule(kwargs["learning_rate"])
    for key in ("clip_range", "clip_range_vf"):
        if key in kwargs:
            kwargs[key] = schedule(kwargs[key])
    if "train_freq" in kwargs and isinstance(kwargs["train_freq"], list):
        kwargs["train_freq"] = tuple(kwargs["train_freq"])
    kwargs["policy_kwargs"] = resolve_names(dict(kwargs.get("policy_kwargs") or {}))
    if algo in OFF_POLICY and algo != "dqn":
        _add_replay_buffer(kwargs, env)
    noise = action_noise(hyperparams, env.action_space)
    if noise is not None:
        kwargs["action_noise"] = noise
    return kwargs


def _add_replay_buffer(kwargs: dict[str, Any], env: VecEnv) -> None:
    buffer = kwargs.get("replay_buffer_class")
    if buffer is None and is_goal_space(env.observation_space):
        buffer = "HerReplayBuffer"
    if buffer == "HerReplayBuffer":
        kwargs["replay_buffer_class"] = HerReplayBuffer
        kwargs["replay_buffer_kwargs"] = dict(kwargs.get("replay_buffer_kwargs") or {})
    elif buffer is not None and not isinstance(buffer, type):
        raise ValueError(f"replay_buffer_class {buffer!r} not supported; valid: HerReplayBuffer (or none)")


def schedule(value: Any) -> float | Callable[[float], float]:
    """``"lin_3e-4"`` -> linear decay to 0 over training (rl-zoo's spelling); numbers pass through."""
    if isinstance(value, str) and value.startswith("lin_"):
        start = float(value[len("lin_"):])
        return LinearSchedule(start)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"schedule {value!r} not understood; use a number or lin_<number>") from None
    return value


class LinearSchedule:
    """Decays from ``start`` at progress 1 to 0 at progress 0 (SB3's ``progress_remaining``)."""

    def __init__(self, start: float) -> None:
        self.start = start

    def __call__(self, progress_remaining: float) -> float:
        return progress_remaining * self.start

    def __repr__(self) -> str:
        return f"lin_{self.start}"


def resolve_names(policy_kwargs: dict[str, Any]) -> dict[str, Any]:
    """Replace allowed torch names (``"nn.ReLU"``) by their classes; reject any other name, also in
    any other ``*_class`` / ``*_fn`` entry (a file never names the code we call)."""
    named = ("activation_fn", "optimizer_class")
    for key, name in list(policy_kwargs.items()):
        if isinstance(name, str) and (key in named or key.endswith(("_class", "_fn"))):
            if name not in TORCH_NAMES or key not in named:
                valid = ", ".join(sorted(TORCH_NAMES)) if key in named else "none by name"
                raise ValueError(f"policy_kwargs {key}={name!r} not allowed; valid: {valid}")
            policy_kwargs[key] = TORCH_NAMES[name]
    return policy_kwargs


def action_noise(hyperparams: dict[str, Any], action_space: spaces.Space):
    """rl-zoo's ``noise_type`` (``normal`` | ``ornstein-uhlenbeck``) and ``noise_std`` as SB3 noise."""
    kind = hyperparams.get("noise_type")
    if kind is None:
        return None
    check_choice("noise_type", kind, ("normal", "ornstein-uhlenbeck"))
    import numpy as np

    dim = action_space.shape[-1]
    mean, sigma = np.zeros(dim), float(hyperparams.get("noise_std", 0.1)) * np.ones(dim)
    if kind == "normal":
        return NormalActionNoise(mean, sigma)
    return OrnsteinUhlenbeckActionNoise(mean, sigma)


def make_agent(
    algo: str,
    env: VecEnv,
    hyperparams: dict[str, Any],
    *,
    seed: int | None = None,
    device: str = "auto",
    tensorboard_log: str | None = None,
    verbose: int = 0,
):
    """Build the model for ``algo`` on ``env`` from resolved hyperparameters.

    Args:
        algo: one of :data:`ALGOS` (lower case).
        env: the training env as an SB3 ``VecEnv`` (already normalised if asked).
        hyperparams: rl-zoo style dict; special keys (``n_timesteps``, ``n_envs``...) are ignored.
        seed: seeds torch, numpy, Python and the action space (SB3's ``set_random_seed``).
        device: ``"auto"`` picks CUDA when present.
    """
    cls = algo_class(algo)
    policy = hyperparams.get("policy") or default_policy(env.observation_space)
    kwargs = agent_kwargs(algo, env, hyperparams)
    if algo in PLANNING_ALGOS:
        return cls(env, seed=seed, device=device, verbose=verbose, tensorboard_log=tensorboard_log, **kwargs)
    policy = _perception_policy(policy, env.observation_space, kwargs)
    return cls(policy, env, seed=seed, device=device, tensorboard_log=tensorboard_log, verbose=verbose, **kwargs)


def _perception_policy(policy: str, space: spaces.Space, kwargs: dict[str, Any]) -> str:
    """Use our perception encoders for image observations when that adapter is installed."""
    has_image = is_image_space(space) or (
        isinstance(space, spaces.Dict) and any(is_image_space(s) for s in space.spaces.values())
    )
    encoder = kwargs["policy_kwargs"].pop("encoder", None)
    if not has_image:
        return policy
    features = optional_module("agents.sb3.features")
    if features is None:
        return policy  # SB3's own NatureCNN / CombinedExtractor
    extra = features.policy_kwargs_for(space, **({"encoder": encoder} if encoder else {}))
    kwargs["policy_kwargs"] = {**extra, **kwargs["policy_kwargs"]}
    return policy
