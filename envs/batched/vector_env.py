"""N copies of a batched world as one ``gymnasium.vector.VectorEnv``, stepped as tensor ops.

``step`` is one call of the world's pure ``dynamics`` on the whole ``[N, S]`` state, then a masked
autoreset of the finished worlds (see ``_autoreset``: fixed shapes and no host-device sync on an
accelerator). The arrays are numpy or torch (``backend``), returned as numpy or torch (``array_type``).

Autoreset is ``AutoresetMode.SAME_STEP`` (what SB3 expects): the observation returned for a
finished world is already its next episode's first one; its last observation is in
``infos["final_obs"]`` (``[N, ...]``, valid where ``infos["_final_obs"]`` is True).
"""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from envs.batched.ops import Array, NumpyOps, TorchOps
from envs.batched.raster import Canvas
from envs.batched.world import BatchedWorld
from foresight_base.action_check import check_action
from foresight_base.checks import check_choice
from foresight_base.devices import resolve_device

OBS_MODES = ("state", "rgb", "rgb+state")
ARRAY_TYPES = ("torch", "numpy")
BACKENDS = ("auto", "torch", "numpy")


def observation_space(world: BatchedWorld, obs_mode: str, image_size: tuple[int, int]) -> gym.spaces.Space:
    """One world's observation space in ``obs_mode`` (images are uint8 ``[H, W, 3]``, as every Foresight env's)."""
    image = gym.spaces.Box(0, 255, (*image_size, 3), np.uint8)
    if obs_mode == "rgb":
        return image
    if obs_mode == "rgb+state":
        return gym.spaces.Dict({"image": image, "state": world.single_observation_space})
    return world.single_observation_space


class BatchedVectorEnv(gym.vector.VectorEnv):
    """A vector env over a :class:`BatchedWorld`: ``num_envs`` worlds, one tensor op per step.

    Args:
        world: The world's parameters and pure functions.
        num_envs: N, the number of worlds.
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"`` or a ``torch.device``.
        max_episode_steps: Truncation length; ``None`` takes the world's default (as gymnasium).
        obs_mode: ``"state"`` (float32 ``[N, O]``), ``"rgb"`` (uint8 ``[N, H, W, 3]``, top-down
            or side view drawn by the batched rasterizer) or ``"rgb+state"`` (a dict of both under
            ``"image"`` and ``"state"``, the PyBullet envs' keys).
        image_size: ``(H, W)`` of ``"rgb"`` observations and of ``render()``.
        array_type: ``"torch"`` returns tensors on ``device``; ``"numpy"`` returns numpy arrays.
        backend: Array library that steps the worlds: ``"torch"`` (any device, differentiable),
            ``"numpy"`` (CPU only) or ``"auto"`` (numpy on the CPU, where it is faster, else torch).
        dtype: Float dtype of the state (``torch.float32`` or ``torch.float64``; numpy's likewise).
        render_mode: ``None`` or ``"rgb_array"`` (``render()`` returns N ``[H, W, 3]`` frames).
    """

    def __init__(
        self,
        world: BatchedWorld,
        num_envs: int = 1,
        *,
        device: str | torch.device = "auto",
        max_episode_steps: int | None = None,
        obs_mode: str = "state",
        image_size: int | tuple[int, int] = 64,
        array_type: str = "torch",
        backend: str = "auto",
        dtype: torch.dtype = torch.float32,
        render_mode: str | None = None,
    ):
        if int(num_envs) < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        check_choice("render_mode", render_mode, (None, "rgb_array"))
        self.world, self.num_envs, self.render_mode = world, int(num_envs), render_mode
        self.device = resolve_device(device)
        self.obs_mode = check_choice("obs_mode", obs_mode, OBS_MODES)
        self.array_type = check_choice("array_type", array_type, ARRAY_TYPES)
        self.backend = self._pick_backend(check_choice("backend", backend, BACKENDS))
        self.image_size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        self.max_episode_steps = max_episode_steps or world.default_max_episode_steps
        check_choice("dtype", dtype, (torch.float32, torch.float64))
        numpy_dtype = np.float32 if dtype == torch.float32 else np.float64
        self.ops = TorchOps(self.device, dtype) if self.backend == "torch" else NumpyOps(numpy_dtype)
        #: Fixed-shape autoreset (see ``_autoreset``); on for accelerators, where shapes must not depend on data.
        self.dense_reset = self.backend == "torch" and self.device.type != "cpu"
        self.metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": ["rgb_array"]}
        self._set_spaces()
        self._rng: Any = None
        self.state: Array | None = None
        self._steps = self.ops.zeros((self.num_envs,), "int")

    def _pick_backend(self, backend: str) -> str:
        if backend == "numpy" and self.device.type != "cpu":
            raise ValueError(f"backend 'numpy' runs on the CPU only, but device is {self.device}")
        if backend == "auto":  # measured: numpy beats torch on the CPU at every N (docs/batched.md)
            return "numpy" if self.device.type == "cpu" else "torch"
        return backend

    def _set_spaces(self) -> None:
        self.single_action_space = self.world.single_action_space
        self.single_observation_space = observation_space(self.world, self.obs_mode, self.image_size)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)

    # -- gymnasium API -----------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        """Reset all worlds, or only those in ``options["reset_mask"]`` (bool ``[N]``)."""
        super().reset(seed=seed)
        if seed is not None or self._rng is None:
            self._rng = self._make_rng(seed)
        fresh = self.world.initial_state(self.ops, self._rng, self.num_envs)
        mask = (options or {}).get("reset_mask")
        if mask is None or self.state is None:
            self.state, self._steps = fresh, self.ops.zeros((self.num_envs,), "int")
        else:
            mask = self._to_backend(mask, dtype="bool")
            self.state = self.ops.where(mask[:, None], fresh, self.state)
            self._steps = self.ops.where(mask, 0, self._steps)
        return self._output(self._observe(self.state)), {}

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        """Advance every world one step; finished worlds restart in the same step (SAME_STEP).

        Raises ``InvalidActionError`` for actions of the wrong shape or dtype, NaN/inf, or
        ``Discrete`` indices out of range, before any world moves (on an accelerator the check
        reads one scalar back per step).
        """
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        actions = check_action(actions, self.single_action_space, f"Batched {type(self.world).__name__}", self.num_envs)
        action = self.world.action_input(self._to_backend(actions, dtype="float"))
        next_state, reward = self.world.dynamics(self.state, action)
        terminated = self.world.terminated(next_state)
        steps = self._steps + 1
        truncated = steps >= self.max_episode_steps
        done = terminated | truncated
        self.state, self._steps = self._autoreset(next_state, steps, done)
        infos = {"final_obs": self._output(self._observe(next_state)), "_final_obs": self._output(done)}
        obs = self._output(self._observe(self.state))
        return obs, self._output(reward), self._output(terminated), self._output(truncated), infos

    def _autoreset(self, state: Array, steps: Array, done: Array) -> tuple[Array, Array]:
        """New states and step counts: finished worlds restart, the others carry on.

        On the CPU only the finished worlds draw fresh states (as gymnasium's vector envs do;
        a data-dependent index costs nothing there). On an accelerator every world draws and a
        mask picks, so the step keeps fixed shapes and never waits for the device.
        """
        if self.dense_reset:
            fresh = self.world.initial_state(self.ops, self._rng, self.num_envs)
            return self.ops.where(done[:, None], fresh, state), steps.masked_fill(done, 0)
        rows = done.nonzero()[0] if self.backend == "numpy" else done.nonzero()[:, 0]
        if len(rows):
            # Copy before writing: the returned final observation may share memory with ``state``.
            state = state.copy(order="K") if self.backend == "numpy" else state.clone()  # keeps the layout
            state[rows] = self.world.initial_state(self.ops, self._rng, len(rows))
            steps[rows] = 0
        return state, steps

    def render(self) -> tuple[np.ndarray, ...] | None:
        """The N current frames as ``uint8 [H, W, 3]`` numpy arrays (``render_mode="rgb_array"``)."""
        if self.render_mode is None or self.state is None:
            return None
        frames = self.images(self.state).cpu().numpy()
        return tuple(frames)

    def images(self, state: Array) -> torch.Tensor:
        """Draw each world of ``state [N, S]`` as ``uint8 [N, H, W, 3]`` on the env's device.

        The rasterizer paints channel planes; the channel-last result is a view of them (no copy),
        and a network that wants ``[N, 3, H, W]`` gets it back as a view with ``permute(0, 3, 1, 2)``.
        """
        state = torch.as_tensor(state, device=self.device)
        canvas = Canvas(state.shape[0], self.world.view, self.image_size, self.device)
        self.world.draw(canvas, state)
        return canvas.image.permute(0, 2, 3, 1)

    # -- conversions -------------------------------------------------------------------------------

    def _make_rng(self, seed: int | None) -> Any:
        if self.backend == "numpy":
            return self.np_random
        generator = torch.Generator(device=self.device)
        generator.manual_seed(seed if seed is not None else int(self.np_random.integers(2**62)))
        return generator

    def _observe(self, state: Array) -> Array | dict[str, Array]:
        if self.obs_mode == "state":
            return self.world.observe(state)
        if self.obs_mode == "rgb":
            return self.images(state)
        return {"image": self.images(state), "state": self.world.observe(state)}

    def _to_backend(self, x: Any, dtype: str) -> Array:
        """Actions or masks from the caller (numpy, tensor, list) -> the backend's array, checked."""
        if self.backend == "torch":
            kind = self.ops.float_dtype if dtype == "float" else torch.bool
            x = torch.as_tensor(x, device=self.device).to(kind)
        else:
            x = np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x)
            x = x.astype(self.ops.float_dtype if dtype == "float" else np.bool_, copy=False)
        expected = self.action_space.shape if dtype == "float" else (self.num_envs,)
        if tuple(x.shape) != tuple(expected):
            raise ValueError(f"expected shape {tuple(expected)} ({dtype}), got {tuple(x.shape)}")
        return x

    def _output(self, x: Array | dict[str, Array]) -> Any:
        """Backend array (or dict of them) -> the caller's array type; floats as float32."""
        if isinstance(x, dict):
            return {key: self._output(value) for key, value in x.items()}
        if self.array_type == "numpy":
            x = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
            return x.astype(np.float32) if x.dtype == np.float64 else x
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(x)
        return x.float() if x.dtype == torch.float64 else x
