"""Training and evaluation envs as SB3 ``VecEnv``s, for any registered gymnasium id.

Each worker env is ``gymnasium.make(id, **env_kwargs)`` -> optional rl-zoo ``env_wrapper``s ->
SB3 ``Monitor`` (episode returns and success in the logs) -> :class:`EpisodeRecorder` (exact
resume). ``vec_env`` picks ``dummy`` (one process), ``subproc`` (one process per env) or
``batched`` (a batched torch world from ``gymnasium.make_vec``, adapted by ``agents.sb3.vec_env``).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import gymnasium as gym
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecMonitor, VecNormalize

from agents.training.episode_replay import EpisodeRecorder
from agents.training.factory import optional_module
from agents.training.names import VEC_ENVS
from agents.training.wrapper_allowlist import resolve_wrapper
from foresight_base.checks import check_choice


def registered_id(env_id: str) -> str:
    """The registry id of ``env_id``: gymnasium's ``module:Id`` form imports ``module`` first (it
    registers ``Id``), as ``gymnasium.make`` does; a plain id passes through."""
    module, sep, name = env_id.rpartition(":")
    if not sep:
        return env_id
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as err:
        raise ValueError(f"env id {env_id!r}: cannot import {module!r} ({err}); install the package that "
                         f"registers {name!r}") from None
    return name


def registry_name(env_id: str) -> str:
    """``module:Id`` -> ``Id`` (a plain id unchanged), without importing anything."""
    return env_id.rpartition(":")[2]


def check_env_id(env_id: str) -> None:
    """Fail fast, naming close ids, when ``env_id`` is not registered; never imports anything.

    A plain id, or gymnasium's ``module:Id`` whose ``Id`` is already registered (the command line's
    :func:`registered_id` imports ``module`` for an id the user typed; an id read from a run folder
    must not choose what we import, so its package comes from ``--gym-packages``).
    """
    if not isinstance(env_id, str):
        raise ValueError(f"env id must be a string such as 'Foresight/PandaReach-v0', got {env_id!r}")
    name = registry_name(env_id)
    if name in gym.registry:
        return
    close = [i for i in gym.registry if name.split("/")[-1].split("-")[0].lower() in i.lower()]
    hint = f"; did you mean: {', '.join(sorted(close)[:8])}" if close else ""
    raise ValueError(f"unknown env id {env_id!r} (is its package imported? see --gym-packages, or write "
                     f"module:{name}){hint}")


def wrapper_factories(spec: Any) -> list[Callable[[gym.Env], gym.Env]]:
    """rl-zoo's ``env_wrapper`` value (a path, a list of paths, or ``{path: kwargs}`` items) as callables.

    Paths resolve through :mod:`agents.training.wrapper_allowlist` only (known or explicitly
    trusted wrappers), and every entry is checked here, before any env exists.

    Raises:
        ValueError: a malformed entry, or a wrapper that is neither known nor trusted.
    """
    if spec is None:
        return []
    items = spec if isinstance(spec, list) else [spec]
    factories = []
    for item in items:
        if isinstance(item, dict) and len(item) != 1:
            raise ValueError(f"env_wrapper entry {item!r} must be a path or a one-item {{path: kwargs}} mapping")
        path, kwargs = next(iter(item.items())) if isinstance(item, dict) else (item, {})
        if not isinstance(kwargs or {}, dict) or not all(isinstance(k, str) for k in (kwargs or {})):
            raise ValueError(f"env_wrapper {path!r} kwargs must be a mapping of names to values, got {kwargs!r}")
        cls = resolve_wrapper(path)
        factories.append(lambda env, cls=cls, kwargs=dict(kwargs or {}): cls(env, **kwargs))
    return factories


def env_maker(
    env_id: str, env_kwargs: dict[str, Any] | None = None, wrappers: Any = None, render_mode: str | None = None
) -> Callable[[], gym.Env]:
    """A picklable thunk that builds one worker env (for ``DummyVecEnv``/``SubprocVecEnv``).

    It carries the id's ``EnvSpec``, so a spawned worker process builds the env without having
    imported the package that registered the id, and the wrapper classes, resolved (and refused)
    here rather than in the worker.
    """
    check_env_id(env_id)
    spec = gym.spec(registry_name(env_id))
    factories = wrapper_factories(wrappers)

    def make() -> gym.Env:
        kwargs = dict(env_kwargs or {})
        if render_mode is not None:
            kwargs["render_mode"] = render_mode
        env = gym.make(spec, **kwargs)
        for wrap in factories:
            env = wrap(env)
        return EpisodeRecorder(Monitor(env))

    return make


def make_vec_env(
    env_id: str,
    *,
    n_envs: int = 1,
    vec_env: str = "dummy",
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    wrappers: Any = None,
    device: str = "auto",
) -> VecEnv:
    """``n_envs`` copies of ``env_id`` as one SB3 ``VecEnv``, seeded ``seed, seed + 1, ...``."""
    check_choice("vec_env", vec_env, VEC_ENVS)
    if n_envs < 1:
        raise ValueError(f"n_envs must be >= 1, got {n_envs}")
    if vec_env == "batched":
        venv = _batched(env_id, n_envs, env_kwargs, device)
    else:
        thunks = [env_maker(env_id, env_kwargs, wrappers) for _ in range(n_envs)]
        venv = SubprocVecEnv(thunks) if vec_env == "subproc" else DummyVecEnv(thunks)
    venv.seed(seed)
    return venv


def _batched(env_id: str, n_envs: int, env_kwargs: dict[str, Any] | None, device: str) -> VecEnv:
    adapter = optional_module("agents.sb3.vec_env")
    if adapter is None:
        raise ImportError("--vec-env batched needs agents.sb3.vec_env (the batched-world adapter), not installed")
    vector_env = gym.make_vec(registry_name(env_id), num_envs=n_envs, device=device, **(env_kwargs or {}))
    return VecMonitor(adapter.VectorEnvToSB3(vector_env))  # episode returns for SB3's logs


def normalize(venv: VecEnv, spec: Any, gamma: float | None, training: bool = True) -> VecEnv:
    """Wrap in ``VecNormalize`` when rl-zoo's ``normalize`` is true or a kwargs dict."""
    if not spec:
        return venv
    kwargs = dict(spec) if isinstance(spec, dict) else {}
    if gamma is not None:
        kwargs.setdefault("gamma", gamma)
    if not training:
        kwargs["norm_reward"] = False
    vec = VecNormalize(venv, **kwargs)
    vec.training = training
    return vec
