"""Everything an SB3 run needs to continue exactly, as tensors and plain data (no pickle).

Gathered: network weights and optimizers (the list SB3 itself saves, ``_get_torch_save_params``),
step and update counters, the last observation, the replay buffer (only its filled part),
``VecNormalize`` statistics, the torch/numpy/Python/action-space RNGs, and each env's current
episode (see :mod:`agents.training.episode_replay`). Restoring them into a freshly built model and env gives
the same continuation as never stopping, on CPU, for deterministic envs.

Also the action noise's state (Ornstein-Uhlenbeck). Not restored (only for logging, or resampled):
the gSDE exploration matrix, the logger's running averages of losses, and wall-clock times.
"""
from __future__ import annotations

import json
import random
from collections import deque
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.noise import VectorizedActionNoise
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from agents.agent import Agent
from agents.checkpoints import to_numpy, to_tensors

FORMAT = "foresight-train-state-1"
REQUIRED = ("format", "algo", "rng", "episodes", "extra")
"""Keys every checkpoint of :func:`gather` has (a file without them is not a training state)."""
COUNTERS = ("num_timesteps", "_n_updates", "_episode_num", "_current_progress_remaining", "_total_timesteps")
LAST = ("_last_obs", "_last_original_obs", "_last_episode_starts")
BUFFER_SKIP = {"observation_space", "action_space", "device", "env", "obs_shape", "action_dim", "n_envs"}


def rng_state(model: Agent) -> dict[str, Any]:
    """Every RNG a run draws from, as tensors and JSON strings."""
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "rest": json.dumps([np_state[2], np_state[3],
                                                                                              np_state[4]])},
        "python": json.dumps(random.getstate()),
        "action_space": json.dumps(model.action_space.np_random.bit_generator.state),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(model: Agent, state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    pos, has_gauss, gauss = json.loads(state["numpy"]["rest"])
    np.random.set_state(("MT19937", state["numpy"]["keys"].numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = json.loads(state["python"])
    random.setstate((version, tuple(internal), gauss_next))
    model.action_space.np_random.bit_generator.state = json.loads(state["action_space"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def buffer_state(buffer) -> dict[str, Any]:
    """The filled part of a (Dict/HER) replay buffer's arrays plus its scalars.

    A buffer that is not SB3's but has ``state_dict()`` (our world-model buffer) saves that.
    """
    if not hasattr(buffer, "buffer_size") and hasattr(buffer, "state_dict"):
        return {"state_dict": buffer.state_dict()}
    size = buffer.buffer_size if buffer.full else buffer.pos
    out = {}
    for name, value in vars(buffer).items():
        if name in BUFFER_SKIP:
            continue
        if isinstance(value, np.ndarray) and value.dtype == object:
            continue  # HER's per-transition info dicts: empty unless copy_info_dict=True
        if isinstance(value, np.ndarray):
            out[name] = value[:size] if value.ndim and value.shape[0] == buffer.buffer_size else value
        elif isinstance(value, dict) and all(isinstance(v, np.ndarray) for v in value.values()):
            out[name] = {k: v[:size] for k, v in value.items()}
        elif type(value) in (bool, int, float, str):
            out[name] = value
    return to_tensors(out)


def set_buffer_state(buffer, state: dict[str, Any]) -> None:
    """Write saved arrays into the preallocated buffer (same ``buffer_size``)."""
    if "state_dict" in state:
        _load_foreign_buffer(buffer, state["state_dict"])
        return
    for name, value in to_numpy(state).items():
        current = getattr(buffer, name, None)
        if isinstance(current, np.ndarray) and current.ndim and current.shape[0] == buffer.buffer_size:
            current[: len(value)] = value
        elif isinstance(current, dict):
            for key, array in value.items():
                current[key][: len(array)] = array
        else:
            setattr(buffer, name, value)


def _load_foreign_buffer(buffer, saved: dict[str, Any]) -> None:
    """``load_state_dict`` if the buffer has one, else rebuild it with ``from_state_dict`` in place."""
    if hasattr(buffer, "load_state_dict"):
        buffer.load_state_dict(saved)
    else:
        buffer.__dict__.update(type(buffer).from_state_dict(saved).__dict__)


def normalize_state(env: VecEnv) -> dict[str, Any] | None:
    """``VecNormalize`` running statistics, or ``None`` if the env is not normalised."""
    if not isinstance(env, VecNormalize):
        return None
    rms = env.obs_rms if isinstance(env.obs_rms, dict) else {"": env.obs_rms}
    return to_tensors({
        "obs": {k: {"mean": r.mean, "var": r.var, "count": float(r.count)} for k, r in rms.items()},
        "ret": {"mean": env.ret_rms.mean, "var": env.ret_rms.var, "count": float(env.ret_rms.count)},
        "returns": env.returns,
    })


def set_normalize_state(env: VecEnv, state: dict[str, Any] | None) -> None:
    if state is None or not isinstance(env, VecNormalize):
        return
    state = to_numpy(state)
    rms = env.obs_rms if isinstance(env.obs_rms, dict) else {"": env.obs_rms}
    for key, saved in state["obs"].items():
        rms[key].mean, rms[key].var, rms[key].count = saved["mean"], saved["var"], saved["count"]
    ret = state["ret"]
    env.ret_rms.mean, env.ret_rms.var, env.ret_rms.count = ret["mean"], ret["var"], ret["count"]
    env.returns = state["returns"]


def noise_state(model: BaseAlgorithm) -> list[dict[str, Any]] | None:
    """Arrays inside the action noise (Ornstein-Uhlenbeck's last value), one dict per env's noise."""
    noise = getattr(model, "action_noise", None)
    if noise is None:
        return None
    members = getattr(noise, "noises", [noise])
    return [to_tensors({k: v for k, v in vars(m).items() if isinstance(v, np.ndarray)}) for m in members]


def set_noise_state(model: BaseAlgorithm, state: list[dict[str, Any]] | None) -> None:
    noise = getattr(model, "action_noise", None)
    if noise is None or state is None:
        return
    if len(state) > 1 and not isinstance(noise, VectorizedActionNoise):
        noise = model.action_noise = VectorizedActionNoise(noise, len(state))  # as SB3's learn() would
    for member, saved in zip(getattr(noise, "noises", [noise]), state, strict=True):
        for key, value in to_numpy(saved).items():
            setattr(member, key, value)


def weights_state(model: BaseAlgorithm) -> dict[str, Any]:
    """Network weights, optimizer states and extra tensors (SB3's own list of what to save)."""
    modules, tensors = model._get_torch_save_params()
    out = {"modules": {}, "tensors": {}}
    for name in modules:
        out["modules"][name] = _getattr_path(model, name).state_dict()
    for name in tensors or []:
        out["tensors"][name] = _getattr_path(model, name).detach().clone()
    return out


def set_weights_state(model: BaseAlgorithm, state: dict[str, Any]) -> None:
    for name, value in state["modules"].items():
        _getattr_path(model, name).load_state_dict(value)
    for name, value in state["tensors"].items():
        with torch.no_grad():
            _getattr_path(model, name).copy_(value)


def step_of(state: dict[str, Any]) -> int:
    """The env step at which the checkpoint ``state`` of :func:`gather` was taken."""
    if "agent" in state:
        return int(state["agent"]["loop"]["num_timesteps"])
    return int(state["counters"]["num_timesteps"])


def load_weights(model: Agent, state: dict[str, Any]) -> None:
    """Only what acting needs from a checkpoint of :func:`gather`: the weights (no counters, replay or RNG)."""
    if "agent" in state:
        model.load_learner_state(state["agent"]["learner"])
    else:
        set_weights_state(model, state["weights"])


def _getattr_path(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def gather(model: Agent, extra: dict[str, Any] | None = None, with_buffer: bool = True) -> dict[str, Any]:
    """The full training state of ``model`` (and its env) as a checkpoint dict.

    Our own agents (``training_state()``, :class:`agents.planning.loop.OnlineAgent`) say what they
    hold; SB3 models are read through SB3's own attributes.
    """
    env = model.get_env()
    if hasattr(model, "training_state"):
        return {"format": FORMAT, "algo": type(model).__name__, "agent": model.training_state(with_buffer),
                "rng": rng_state(model), "episodes": _episode_snapshots(env), "extra": extra or {}}
    state = {
        "format": FORMAT,
        "algo": type(model).__name__,
        "weights": weights_state(model),
        "counters": {k: getattr(model, k) for k in COUNTERS if hasattr(model, k)},
        "last": {k: to_tensors(getattr(model, k, None)) for k in LAST},
        "episode_info": json.dumps([list(getattr(model, "ep_info_buffer", None) or []),
                                     list(getattr(model, "ep_success_buffer", None) or [])], default=float),
        "rng": rng_state(model),
        "normalize": normalize_state(env),
        "action_noise": noise_state(model),
        "episodes": _episode_snapshots(env),
        "extra": extra or {},
    }
    buffer = getattr(model, "replay_buffer", None)
    if with_buffer and buffer is not None:
        state["replay_buffer"] = buffer_state(buffer)
    return state


def _episode_snapshots(env: VecEnv) -> list[dict[str, Any]] | None:
    try:
        snaps = env.env_method("episode_snapshot")
    except AttributeError:
        return None  # e.g. a batched world: resume starts fresh episodes
    return [to_tensors(s) for s in snaps]


def restore(model: Agent, state: dict[str, Any]) -> bool:
    """Load ``state`` into a freshly built ``model`` and its env; True if the envs replayed exactly.

    Raises:
        ValueError: if the checkpoint was written by another algorithm (before anything is loaded).
    """
    if state.get("algo") != type(model).__name__:
        raise ValueError(f"checkpoint of a {state.get('algo')} cannot resume a {type(model).__name__}; resume it "
                         f"with the algorithm that wrote it (its run folder's config.yaml names it)")
    if "agent" in state:
        return _restore_own_agent(model, state)
    set_weights_state(model, state["weights"])
    for key, value in state["counters"].items():
        setattr(model, key, value)
    for key, value in state["last"].items():
        setattr(model, key, to_numpy(value))
    infos, successes = json.loads(state["episode_info"])
    window = getattr(model, "_stats_window_size", 100)
    model.ep_info_buffer = deque(infos, maxlen=window)
    model.ep_success_buffer = deque(successes, maxlen=window)
    if "replay_buffer" in state and getattr(model, "replay_buffer", None) is not None:
        set_buffer_state(model.replay_buffer, state["replay_buffer"])
    set_normalize_state(model.get_env(), state["normalize"])
    # the action noise is restored by callbacks.RestoreActionNoise: SB3's learn() resets it first
    exact = _replay_episodes(model.get_env(), state["episodes"])
    if state["episodes"] is None:
        _start_fresh_episodes(model)
    set_rng_state(model, state["rng"])
    return exact


def _restore_own_agent(model: Agent, state: dict[str, Any]) -> bool:
    model.load_training_state(state["agent"])
    exact = _replay_episodes(model.get_env(), state["episodes"])
    if state["episodes"] is None:
        model.restart_episodes()
    set_rng_state(model, state["rng"])
    return exact


def _start_fresh_episodes(model: BaseAlgorithm) -> None:
    """Envs that cannot replay their episodes (batched worlds) start new ones, as SB3 does at step 0."""
    env = model.get_env()
    model._last_obs = env.reset()
    model._last_episode_starts = np.ones((env.num_envs,), dtype=bool)
    if isinstance(env, VecNormalize):
        model._last_original_obs = env.get_original_obs()


def _replay_episodes(env: VecEnv, snapshots: list[dict[str, Any]] | None) -> bool:
    if snapshots is None:
        return False
    results = [env.env_method("replay", to_numpy(s), indices=[i])[0] for i, s in enumerate(snapshots)]
    return all(results)
