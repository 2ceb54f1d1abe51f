"""SB3's ``VecEnv`` over any ``gymnasium.vector.VectorEnv``, with numpy or torch arrays.

Stable-Baselines3 speaks its own vector API: ``step`` returns ``(obs, rewards, dones, infos)``
with one info dict per env, a finished env's last observation in ``"terminal_observation"`` and
``"TimeLimit.truncated"`` set for timeouts (so SB3 bootstraps them). Gymnasium 1.x vector envs
return ``(obs, rewards, terminated, truncated, info)`` with one dict of arrays. This adapter
converts between the two for any vector env that declares ``AutoresetMode.SAME_STEP`` (the
Foresight batched worlds, or ``SyncVectorEnv(..., autoreset_mode=AutoresetMode.SAME_STEP)``) or
``AutoresetMode.DISABLED`` (resetting finished envs itself through ``options["reset_mask"]``).

Example:
    >>> import gymnasium as gym
    >>> venv = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync",
    ...                     vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP})
    >>> env = VectorEnvToSB3(venv)
    >>> env.reset().shape
    (2, 4)
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn

SUPPORTED_MODES = (AutoresetMode.SAME_STEP, AutoresetMode.DISABLED)
FINAL_KEYS = ("final_obs", "_final_obs", "final_info", "_final_info")


def to_numpy(x: Any) -> Any:
    """Tensors (any device), arrays and dicts of them -> numpy arrays (dicts kept)."""
    if isinstance(x, dict):
        return {key: to_numpy(value) for key, value in x.items()}
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def unbatch_info(info: dict[str, Any], index: int) -> dict[str, Any]:
    """Env ``index``'s entries of a gymnasium vector info dict (keys with a ``_key`` mask)."""
    single: dict[str, Any] = {}
    for key, value in info.items():
        if key.startswith("_") or key in FINAL_KEYS:
            continue
        mask = info.get(f"_{key}")
        if mask is not None and not bool(mask[index]):
            continue
        single[key] = unbatch_info(value, index) if isinstance(value, dict) else to_numpy(value[index])
    return single


def _item(batch: Any, index: int) -> Any:
    """Row ``index`` of a batched observation (array, dict of arrays, or object array of rows)."""
    if isinstance(batch, dict):
        return {key: _item(value, index) for key, value in batch.items()}
    return batch[index]


class VectorEnvToSB3(VecEnv):
    """Present a gymnasium ``VectorEnv`` as an SB3 ``VecEnv`` so any SB3 algorithm trains on it.

    Args:
        venv: The vector env. Its arrays may be numpy or torch tensors on any device; actions are
            handed back in the same kind (tensors on the observations' device).
    """

    def __init__(self, venv: gym.vector.VectorEnv):
        mode = venv.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        if mode not in SUPPORTED_MODES:
            raise ValueError(
                f"vector env autoreset_mode {mode} is not supported; valid: "
                f"{[m.value for m in SUPPORTED_MODES]} (for gymnasium's sync/async envs pass "
                "vector_kwargs={'autoreset_mode': AutoresetMode.SAME_STEP} to make_vec)"
            )
        self.venv, self.autoreset_mode = venv, mode
        self._device: torch.device | None = None  # set when the env speaks torch
        self._actions: np.ndarray | None = None
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)

    def reset(self) -> VecEnvObs:
        seed = self._seeds[0]  # SB3 seeds env i with seed + i; a vector env takes one seed
        options = self._options[0] or None
        obs, info = self.venv.reset(seed=seed, options=options)
        self._reset_seeds()
        self._reset_options()
        self._device = obs.device if isinstance(obs, torch.Tensor) else None
        self.reset_infos = [unbatch_info(info, i) for i in range(self.num_envs)]
        return to_numpy(obs)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        actions = self._actions
        if self._device is not None:
            actions = torch.as_tensor(actions, device=self._device)
        obs, reward, terminated, truncated, info = self.venv.step(actions)
        terminated, truncated = to_numpy(terminated).astype(bool), to_numpy(truncated).astype(bool)
        dones = terminated | truncated
        if self.autoreset_mode == AutoresetMode.DISABLED:
            obs, info = self._reset_finished(obs, info, dones)
        infos = self._sb3_infos(info, terminated, truncated, dones)
        return to_numpy(obs), to_numpy(reward).astype(np.float32), dones, infos

    def _reset_finished(self, obs: Any, info: dict, dones: np.ndarray) -> tuple[Any, dict]:
        """DISABLED mode: keep the last observations, then reset the finished envs only."""
        if not dones.any():
            return obs, info
        new_obs, _ = self.venv.reset(options={"reset_mask": dones})
        return new_obs, {**info, "final_obs": obs, "_final_obs": dones, "final_info": info}

    def _sb3_infos(
        self, info: dict, terminated: np.ndarray, truncated: np.ndarray, dones: np.ndarray
    ) -> list[dict[str, Any]]:
        """One dict per env; finished ones carry their last observation and the timeout flag."""
        timeouts = (truncated & ~terminated).tolist()
        extra = any(not key.startswith("_") and key not in FINAL_KEYS for key in info)
        infos = [unbatch_info(info, i) if extra else {} for i in range(self.num_envs)]
        for i, timeout in enumerate(timeouts):
            infos[i]["TimeLimit.truncated"] = timeout
        finished = np.flatnonzero(dones)
        if finished.size:
            final_obs = to_numpy(info["final_obs"]) if "final_obs" in info else None
            final_info = info.get("final_info", {})
            for i in finished:
                infos[i].update(unbatch_info(final_info, i))
                if final_obs is not None:
                    infos[i]["terminal_observation"] = _item(final_obs, i)
        return infos

    # -- the rest of SB3's VecEnv interface: the vector env is one object, not N ------------------

    def close(self) -> None:
        self.venv.close()

    def get_images(self) -> Sequence[np.ndarray | None]:
        frames = self.venv.render() if self.render_mode == "rgb_array" else None
        return list(frames) if frames is not None else [None] * self.num_envs

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [getattr(self.venv, attr_name)] * len(list(self._get_indices(indices)))

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self.venv, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs) -> list[Any]:
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        return [result] * len(list(self._get_indices(indices)))

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False] * len(list(self._get_indices(indices)))
