"""Checks a run passes before anything is written: hyperparameter names, and that its env builds.

Without them a misspelt hyperparameter surfaced as SB3's ``TypeError`` from deep inside the model
constructor, and a bad ``--env-kwargs`` value as the env's traceback, each after the run folder
had been created (a folder holding only ``config.yaml``). Here both fail first, as a
``ValueError`` that names the bad value and what would be valid.
"""
from __future__ import annotations

import inspect
from typing import Any

import gymnasium as gym

from agents.training.env_setup import env_maker, registered_id
from agents.training.factory import NOISE_KEYS, algo_class
from agents.training.hyperparams import SPECIAL_KEYS

RESERVED = {"env": "--env", "seed": "--seed", "device": "--device", "verbose": "-v",
            "tensorboard_log": "the run folder"}
"""Constructor arguments the run sets itself, and the flag that sets each."""
SCHEDULE_KEYS = ("learning_rate", "clip_range", "clip_range_vf")
"""Numbers that may also be written as rl-zoo schedules (``lin_3e-4``)."""


def check_hyperparams(algo: str, hyperparams: dict[str, Any]) -> None:
    """Every key must be a zoo special key or a constructor argument of ``algo``'s class."""
    keys = set(hyperparams) - set(SPECIAL_KEYS) - set(NOISE_KEYS)
    for key in sorted(keys & set(RESERVED)):
        raise ValueError(f"hyperparameter {key!r} is set by the run; use {RESERVED[key]} instead")
    parameters = inspect.signature(algo_class(algo).__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return  # the class validates its own keywords (PlanningAgent names the valid ones)
    public = {name for name in parameters if not name.startswith("_")} - {"self", "policy", *RESERVED}
    unknown = sorted(keys - public)
    if unknown:
        valid = sorted(public | set(SPECIAL_KEYS) | set(NOISE_KEYS))
        raise ValueError(f"unknown {algo} hyperparameter(s) {', '.join(map(repr, unknown))}; valid: {', '.join(valid)}")
    for key in sorted(keys):
        _check_number(algo, key, hyperparams[key], parameters[key].default)


def _check_number(algo: str, key: str, value: Any, default: Any) -> None:
    """A hyperparameter whose default is a number must be given as one (schedules excepted)."""
    numeric = isinstance(default, (int, float)) and not isinstance(default, bool)
    if not numeric or not isinstance(value, str) or key in SCHEDULE_KEYS:
        return
    try:
        float(value)
    except ValueError:
        raise ValueError(f"hyperparameter {key}={value!r} must be a number ({algo}'s default: {default})") from None


def check_env_builds(env_id: str, env_kwargs: dict[str, Any] | None, wrappers: Any, vec_env: str,
                     device: str = "auto") -> None:
    """Build (and close) one env as training will, turning its refusal into a ``ValueError``."""
    try:
        if vec_env == "batched":
            env: Any = gym.make_vec(registered_id(env_id), num_envs=1, device=device, **(env_kwargs or {}))
        else:
            env = env_maker(env_id, env_kwargs, wrappers)()
    except (ValueError, TypeError, KeyError, gym.error.Error) as err:
        shown = " ".join(f"{k}={v}" for k, v in (env_kwargs or {}).items()) or "(none)"
        raise ValueError(f"cannot make {env_id} with env kwargs {shown}: {type(err).__name__}: {err}") from None
    env.close()
