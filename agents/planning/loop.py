"""The online learning loop shared by Foresight's own agents, behind Stable-Baselines3's face.

``OnlineAgent.learn`` steps E envs at once: ask the agent for actions, step, hand the agent the
real transitions (with the true last observation of episodes the ``VecEnv`` just reset), log
finished episodes, and run SB3 callbacks. What an agent *is* (how it acts, learns and saves) lives
in a subclass through four hooks; the loop knows nothing of models or planners:

- :meth:`OnlineAgent.explore`: actions ``[E, A]`` for training observations.
- :meth:`OnlineAgent.observe`: store a step of E transitions, update when due.
- :meth:`OnlineAgent.on_episode_start`: some envs just reset (clear warm starts).
- :meth:`OnlineAgent.learner_state` / :meth:`load_learner_state`: weights, optimisers, replay.

Every env step is a rollout boundary (SB3's off-policy loop has one per ``train_freq`` cycle), so
run callbacks evaluate and checkpoint at ``on_rollout_start`` and ``--eval-freq`` / ``--save-freq``
work. :meth:`training_state` is everything a resumed run needs besides the global RNGs and the
envs' episodes (``agents.training.state`` adds those).
"""
from __future__ import annotations

import os
from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, ConvertCallback, ProgressBarCallback
from stable_baselines3.common.logger import Logger, configure
from stable_baselines3.common.utils import get_latest_run_id
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

from agents.checkpoints import to_numpy, to_tensors

STATS_WINDOW = 100
"""Finished episodes averaged in ``rollout/*`` records (SB3's ``stats_window_size``)."""


class OnlineAgent:
    """Base of agents that learn online from a gymnasium env or an SB3 ``VecEnv``.

    Args:
        env: The training env (``None`` only for inference after ``load``).
        seed: Seeds the envs' first reset.
        verbose: 1 prints training records to stdout.
        tensorboard_log: Folder for TensorBoard events (``<log_name>_<n>`` runs inside), or ``None``.
        log_name: Prefix of the TensorBoard run folder.
    """

    def __init__(self, env: gym.Env | VecEnv | None, seed: int, verbose: int, tensorboard_log: str | None,
                 log_name: str) -> None:
        self.env, self.seed, self.verbose = env, seed, verbose
        self._vec_env: VecEnv | None = env if isinstance(env, VecEnv) else None
        self.num_timesteps = 0
        self.logger = self._make_logger(tensorboard_log, log_name)
        self._obs: Any = None  # last observation of the training envs, [E, ...]
        self._episode = np.zeros((0, 2))  # running (return, length) per env
        self.episode_returns: deque = deque(maxlen=STATS_WINDOW)
        self.episode_lengths: deque = deque(maxlen=STATS_WINDOW)
        self.episode_successes: deque = deque(maxlen=STATS_WINDOW)

    # ----------------------------------------------------------------- hooks for subclasses
    def explore(self, obs: Any, envs: int) -> np.ndarray:
        """Training actions ``[E, A]`` for the observations of E envs."""
        raise NotImplementedError

    def observe(self, obs: Any, actions: np.ndarray, rewards: np.ndarray, next_obs: Any,
                terminated: np.ndarray) -> None:
        """One step of E real transitions (``next_obs`` is the true last observation where an episode ended)."""
        raise NotImplementedError

    def on_episode_start(self, starts: np.ndarray | None) -> None:
        """Envs where ``starts[E]`` is True just reset (``None``: all of them)."""

    def episode_records(self) -> dict[str, float]:
        """Extra ``rollout/*`` scalars logged when episodes end."""
        return {}

    def before_learning(self, env: VecEnv) -> None:
        """Called by :meth:`learn` after the envs (re)start, before the first step (demonstrations load here)."""

    def learner_state(self, with_buffer: bool) -> dict[str, Any]:
        """Weights, optimisers, counters and (``with_buffer``) replay, as tensors and plain data."""
        raise NotImplementedError

    def load_learner_state(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`learner_state`."""
        raise NotImplementedError

    # ----------------------------------------------------------------- SB3's face
    def _make_logger(self, tensorboard_log: str | None, log_name: str) -> Logger:
        formats = ["stdout"] if self.verbose else []
        if tensorboard_log is None:
            return configure(None, formats) if formats else Logger(folder=None, output_formats=[])
        run = get_latest_run_id(tensorboard_log, log_name) + 1
        return configure(os.path.join(tensorboard_log, f"{log_name}_{run}"), formats + ["tensorboard"])

    def get_env(self) -> VecEnv | None:
        """The training env as a ``VecEnv`` (a one-env ``DummyVecEnv`` around a plain gymnasium env)."""
        if self._vec_env is None and self.env is not None:
            env = self.env
            self._vec_env = DummyVecEnv([lambda: env])
        return self._vec_env

    def set_logger(self, logger: Logger) -> None:
        """Use ``logger`` (SB3's ``configure(...)``) for training records, as SB3 models do."""
        self.logger = logger

    def env_attr(self, name: str) -> Any:
        """An attribute of the (first) training env, e.g. its batched ``compute_reward``; ``None`` if absent."""
        try:
            if isinstance(self.env, VecEnv):
                return self.env.get_attr(name, indices=[0])[0]
            return self.env.get_wrapper_attr(name) if self.env is not None else None
        except AttributeError:
            return None

    def get_vec_normalize_env(self) -> None:
        """SB3 callbacks ask for this; our agents never normalise observations in the env."""
        return None

    def learn(self, total_timesteps: int, callback: Any = None, reset_num_timesteps: bool = True,
              progress_bar: bool = False) -> OnlineAgent:
        """Collect and learn for ``total_timesteps`` env steps (E envs step at once)."""
        env = self.get_env()
        if env is None:
            name = type(self).__name__
            raise RuntimeError(f"this {name} has no env; pass env= to {name}.load to keep learning")
        if reset_num_timesteps or self._obs is None:
            env.seed(self.seed)
            self._obs, self._episode = env.reset(), np.zeros((env.num_envs, 2))
            self.on_episode_start(None)
        if reset_num_timesteps:
            self.num_timesteps = 0
        target = self.num_timesteps + total_timesteps  # steps a hook adds (demonstrations) count towards it
        self.before_learning(env)
        callback = self._init_callback(callback, progress_bar)
        callback.on_training_start({"total_timesteps": target, "self": self}, globals())  # SB3: the absolute target
        while self.num_timesteps < target:
            callback.on_rollout_start()
            keep_going = self._step(env, callback)
            callback.on_rollout_end()
            if not keep_going:
                break
        callback.on_training_end()
        return self

    def _init_callback(self, callback: Any, progress_bar: bool) -> BaseCallback:
        if isinstance(callback, list):
            callback = CallbackList(callback)
        if not isinstance(callback, BaseCallback):
            callback = ConvertCallback(callback)
        if progress_bar:
            callback = CallbackList([callback, ProgressBarCallback()])
        callback.init_callback(self)
        return callback

    def _step(self, env: VecEnv, callback: BaseCallback) -> bool:
        """One step of all E envs: act, hand over the real transitions, log finished episodes."""
        obs, envs = self._obs, env.num_envs
        actions = self.explore(obs, envs)
        next_obs, rewards, dones, infos = env.step(actions)
        terminated = np.array([d and not info.get("TimeLimit.truncated", False) for d, info in zip(dones, infos,
                                                                                                   strict=True)])
        final = _final_observations(next_obs, dones, infos)
        self.num_timesteps += envs
        self._episode += np.stack([rewards, np.ones(envs)], axis=1)
        self.observe(obs, actions, np.asarray(rewards, dtype=np.float32), final, terminated)
        self._obs = next_obs
        if dones.any():
            self._end_episodes(dones, infos)
        callback.update_locals({"infos": infos, "dones": dones, "rewards": rewards, "new_obs": next_obs})
        return bool(callback.on_step())

    def _end_episodes(self, dones: np.ndarray, infos: list[dict]) -> None:
        for i in np.flatnonzero(dones):
            self.episode_returns.append(float(self._episode[i, 0]))
            self.episode_lengths.append(int(self._episode[i, 1]))
            if "is_success" in infos[i]:
                self.episode_successes.append(float(infos[i]["is_success"]))
        self._episode[dones] = 0
        self.on_episode_start(dones)
        self.logger.record("rollout/ep_rew_mean", float(np.mean(self.episode_returns)))
        self.logger.record("rollout/ep_len_mean", float(np.mean(self.episode_lengths)))
        if self.episode_successes:
            self.logger.record("rollout/success_rate", float(np.mean(self.episode_successes)))
        for key, value in self.episode_records().items():
            self.logger.record(f"rollout/{key}", value)
        self.logger.record("time/total_timesteps", self.num_timesteps)
        self.logger.dump(self.num_timesteps)

    # ----------------------------------------------------------------- resume
    def training_state(self, with_buffer: bool = True) -> dict[str, Any]:
        """The loop's counters, last observation and episode statistics, plus :meth:`learner_state`."""
        loop = {"num_timesteps": self.num_timesteps, "obs": to_tensors(self._obs),
                "episode": to_tensors(self._episode), "returns": list(self.episode_returns),
                "lengths": list(self.episode_lengths), "successes": list(self.episode_successes)}
        return {"loop": loop, "learner": self.learner_state(with_buffer)}

    def load_training_state(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`training_state`; ``learn(..., reset_num_timesteps=False)`` then continues."""
        loop = state["loop"]
        self.num_timesteps = int(loop["num_timesteps"])
        self._obs, self._episode = to_numpy(loop["obs"]), to_numpy(loop["episode"])
        self.episode_returns.extend(loop["returns"])
        self.episode_lengths.extend(loop["lengths"])
        self.episode_successes.extend(loop["successes"])
        self.load_learner_state(state["learner"])

    def restart_episodes(self) -> None:
        """Envs that cannot replay their episodes (batched worlds) start new ones on resume."""
        env = self.get_env()
        self._obs, self._episode = env.reset(), np.zeros((env.num_envs, 2))
        self.on_episode_start(None)


def _final_observations(next_obs: Any, dones: np.ndarray, infos: list[dict]) -> Any:
    """``next_obs`` with each finished env's row replaced by its true last observation.

    SB3's ``VecEnv`` resets a finished env at once and keeps the last observation in
    ``infos[i]["terminal_observation"]``; arrays and dicts of arrays alike.
    """
    if not dones.any():
        return next_obs
    if isinstance(next_obs, dict):
        final = {key: value.copy() for key, value in next_obs.items()}
        for i in np.flatnonzero(dones):
            for key in final:
                final[key][i] = infos[i]["terminal_observation"][key]
        return final
    final = np.array(next_obs, copy=True)
    for i in np.flatnonzero(dones):
        final[i] = infos[i]["terminal_observation"]
    return final
