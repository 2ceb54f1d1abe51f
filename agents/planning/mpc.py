"""Model-predictive control with a learned ensemble, behind Stable-Baselines3's face.

``PlanningAgent`` collects seed steps with random actions, then repeats: fit the ensemble on
everything collected, plan with CEM/MPPI/gradient over imagined rollouts, take the first action.
The online loop (collecting, callbacks, logging) is :class:`agents.planning.loop.OnlineAgent`; this
module is the policy that plans and what it learns. It offers ``learn / predict / save / load /
num_timesteps`` like an SB3 model, so
``scripts/train.py --algo mpc`` and ``evaluate_policy`` treat it like any other agent.

Example:
    >>> import gymnasium as gym
    >>> agent = PlanningAgent(gym.make("Pendulum-v1"), seed=0, learning_starts=50, train_freq=50,
    ...                       num_candidates=20, horizon=3, iterations=1, num_elites=5, hidden_size=16,
    ...                       max_epochs=1)
    >>> agent = agent.learn(60)
    >>> action, _ = agent.predict(agent.env.reset(seed=1)[0])
    >>> action.shape, agent.num_timesteps
    ((1,), 60)
"""
from __future__ import annotations

import json
import os
import pathlib
from dataclasses import asdict
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.vec_env import VecEnv

from agents.checkpoints import atomic_save
from agents.checkpoints import load as load_checkpoint
from agents.planning.config import PlanningAgentConfig
from agents.planning.loop import OnlineAgent
from foresight_base.devices import resolve_device
from world_models.fitting import FitConfig, fit
from world_models.models import EnsembleDynamics, ModelConfig, load_model
from world_models.planners import make_planner
from world_models.replay import ReplayBuffer
from world_models.scoring import RewardFn, env_goal_reward, goal_distance_reward, model_score_fn
from world_models.spaces import StateLayout, space_from_json, space_to_json

CHECKPOINT_FORMAT = "foresight.planning_agent/1"


class PlanningAgent(OnlineAgent):
    """MPC agent: an ensemble forward model, a planner over it, and a replay of real transitions.

    Args:
        env: A gymnasium env or an SB3 ``VecEnv`` (E envs collect and are planned for at once) with a
            ``Box`` action space and a ``Box`` or goal-dict observation space (``None`` only when
            loading for inference).
        seed: Seeds the env reset, random exploration, model init, fitting and the planner.
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``.
        verbose: 1 prints progress to stdout.
        tensorboard_log: Folder for TensorBoard events (``MPC_<n>`` runs inside), or ``None``.
        **hyperparams: Fields of :class:`agents.planning.config.PlanningAgentConfig`.
    """

    def __init__(self, env: gym.Env | VecEnv | None, seed: int = 0, device: str | torch.device = "auto",
                 verbose: int = 0,
                 tensorboard_log: str | None = None, *, observation_space: gym.Space | None = None,
                 action_space: gym.Space | None = None, **hyperparams: Any) -> None:
        policy_kwargs = hyperparams.pop("policy_kwargs", None)
        if policy_kwargs:
            raise ValueError(f"PlanningAgent has no policy network; policy_kwargs {policy_kwargs} cannot apply")
        super().__init__(env, seed, verbose, tensorboard_log, log_name="MPC")
        self.config = PlanningAgentConfig.from_kwargs(**hyperparams)
        self.device = resolve_device(device)
        self.observation_space = observation_space or env.observation_space
        self.action_space = action_space or env.action_space
        if not isinstance(self.action_space, gym.spaces.Box):
            raise TypeError(f"PlanningAgent needs a continuous Box action space, got {self.action_space}")
        self.layout = StateLayout(self.observation_space)
        self.objective = self._resolve_objective()
        torch.manual_seed(seed)
        self.action_dim = int(np.prod(self.action_space.shape))
        self.model = EnsembleDynamics(self.layout.state_dim, self.action_dim, self._model_config()).to(self.device)
        self.optimiser = torch.optim.Adam(self.model.parameters(), lr=self.config.learning_rate, weight_decay=1e-5)
        low, high = (torch.as_tensor(b, dtype=torch.float32).reshape(-1) for b in
                     (self.action_space.low, self.action_space.high))
        self.planner = make_planner(self.config.planner, low, high, self.device, seed, **self.config.planner_options())
        self.generator = torch.Generator(device=self.device).manual_seed(seed + 1)
        # training's acting plans with streams of its own, so evaluating (predict) between training
        # steps never changes what training does: a run depends on its seed alone.
        self.train_planner = make_planner(self.config.planner, low, high, self.device, seed + 2,
                                          **self.config.planner_options())
        self.train_generator = torch.Generator(device=self.device).manual_seed(seed + 3)
        self.replay = ReplayBuffer(self.layout.state_dim, self.action_dim, self.config.buffer_size)
        self.action_space.seed(seed)
        self.fits, self._steps_since_fit = 0, 0
        self.last_uncertainty: np.ndarray | None = None

    # ----------------------------------------------------------------- set-up helpers
    def _model_config(self) -> ModelConfig:
        c = self.config
        return ModelConfig(c.ensemble_size, c.hidden_size, c.num_layers, c.probabilistic, learn_reward=True,
                           euler_dims=tuple(c.euler_dims), std_floor=c.std_floor)

    def _resolve_objective(self) -> str:
        objective = self.config.objective
        if objective == "auto":
            return "goal_distance" if self.layout.is_goal else "learned_reward"
        if objective in ("goal_distance", "env_reward") and not self.layout.is_goal:
            raise ValueError(f"objective {objective!r} needs a goal-dict observation space; valid here: "
                             "'learned_reward' or 'auto'")
        return objective

    # ----------------------------------------------------------------- acting
    def _reward_fn(self, obs: Any, envs: int) -> RewardFn | None:
        if self.objective == "learned_reward":
            return None
        goals = torch.as_tensor(self.layout.desired_goal(obs).reshape(envs, -1), device=self.device)
        if self.objective == "goal_distance":
            return goal_distance_reward(self.layout, goals)
        compute_reward = self.env_attr("compute_reward")
        if compute_reward is None:
            raise RuntimeError("objective 'env_reward' needs an env with compute_reward; pass env= to load()")
        return env_goal_reward(compute_reward, self.layout, goals)

    @torch.no_grad()
    def plan(self, obs: Any, training: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """First planned action ``[E, A]`` and its ensemble disagreement ``[E]`` for observations of E envs.

        ``training`` plans with the training loop's streams; otherwise with predict's (:meth:`reseed`).
        """
        planner, generator = (self.train_planner, self.train_generator) if training else (self.planner, self.generator)
        states_np = self.layout.state(obs)
        envs = int(np.prod(states_np.shape[:-1]))
        states = torch.as_tensor(states_np.reshape(envs, -1), device=self.device)
        c = self.config
        score = model_score_fn(self.model, states, self._reward_fn(obs, envs), c.particles, c.propagation,
                               c.discount, c.uncertainty_penalty, generator)
        result = planner.plan(score, envs)
        spread = self.model.rollout(states, result.actions, propagation="mean").disagreement[:, 0]
        return result.actions[:, 0].cpu().numpy(), spread.cpu().numpy()

    def reseed(self, seed: int) -> None:
        """Restart the planner's and the trajectory sampling's random streams from ``seed``."""
        self.planner.generator.manual_seed(seed)
        self.generator.manual_seed(seed + 1)

    def predict(self, observation: Any, state: Any = None, episode_start: np.ndarray | None = None,
                deterministic: bool = True) -> tuple[np.ndarray, None]:
        """SB3's ``predict``: one observation -> ``[A]``, a batch of E -> ``[E, A]``; no recurrent state.

        ``episode_start[E]`` clears the warm-start plan of the envs that just reset. Planning is
        seeded, so ``deterministic`` changes nothing. The disagreement of each returned action is
        left in :attr:`last_uncertainty` ``[E]``.
        """
        single = self.layout.batch_shape(observation) == ()
        if episode_start is not None:
            self.planner.reset(torch.as_tensor(np.asarray(episode_start, dtype=bool).reshape(-1)))
        actions = self._planned_actions(observation, training=False)
        return (actions[0] if single else actions), None

    def _planned_actions(self, observation: Any, training: bool) -> np.ndarray:
        """``[E, *action_shape]`` in the action bounds; their disagreement in :attr:`last_uncertainty`."""
        actions, self.last_uncertainty = self.plan(observation, training)
        actions = np.clip(actions, self.action_space.low.reshape(-1), self.action_space.high.reshape(-1))
        return actions.reshape(-1, *self.action_space.shape).astype(self.action_space.dtype)

    # ----------------------------------------------------------------- learning (the loop's hooks)
    def fit_model(self) -> None:
        """Refit the ensemble on the whole replay (early stopping on a holdout split)."""
        c = self.config
        fit_config = FitConfig(max_epochs=c.max_epochs, batch_size=c.batch_size, patience=c.patience,
                               learning_rate=c.learning_rate)
        report = fit(self.model, self.replay.all(), fit_config, seed=self.seed + self.fits, optimiser=self.optimiser)
        self.fits, self._steps_since_fit = self.fits + 1, 0
        self.logger.record("train/holdout_mse", report.holdout_mse[report.best_epoch])
        self.logger.record("train/epochs", len(report.train_loss))

    def explore(self, obs: Any, envs: int) -> np.ndarray:
        """Random actions ``[E, A]`` until the first fit (seed episodes), then planned ones."""
        if self.fits == 0:
            return np.stack([self.action_space.sample() for _ in range(envs)])
        return self._planned_actions(obs, training=True).reshape(envs, *self.action_space.shape)

    def observe(self, obs: Any, actions: np.ndarray, rewards: np.ndarray, next_obs: Any,
                terminated: np.ndarray) -> None:
        """Store the real transitions of E envs; refit when ``train_freq`` new steps have arrived."""
        envs = len(rewards)
        self.replay.add(self.layout.state(obs).reshape(envs, -1), actions.reshape(envs, -1), rewards,
                        self.layout.state(next_obs).reshape(envs, -1), terminated)
        self._steps_since_fit += envs
        if len(self.replay) >= self.config.learning_starts and (
                self.fits == 0 or self._steps_since_fit >= self.config.train_freq):
            self.fit_model()

    def on_episode_start(self, starts: np.ndarray | None) -> None:
        """Drop the warm-start plan of envs that just reset."""
        self.train_planner.reset(None if starts is None else torch.as_tensor(starts))

    def episode_records(self) -> dict[str, float]:
        if self.last_uncertainty is None:
            return {}
        return {"plan_disagreement": float(np.mean(self.last_uncertainty))}

    def learner_state(self, with_buffer: bool) -> dict[str, Any]:
        """Model, optimiser, fit counters, random streams and (``with_buffer``) the replay."""
        state = {"model": self.model.state_dict(), "optimiser": self.optimiser.state_dict(), "fits": self.fits,
                 "steps_since_fit": self._steps_since_fit, "generator": self.generator.get_state(),
                 "planner": self.planner.state_dict(), "train_planner": self.train_planner.state_dict(),
                 "train_generator": self.train_generator.get_state()}
        if with_buffer:
            state["replay"] = self.replay.state_dict()
        return state

    def load_learner_state(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimiser.load_state_dict(state["optimiser"])
        self.fits, self._steps_since_fit = int(state["fits"]), int(state["steps_since_fit"])
        self.generator.set_state(state["generator"])
        self.planner.load_state_dict(state["planner"])
        # checkpoints written before training had streams of its own hold one planner, used by both
        self.train_planner.load_state_dict(state.get("train_planner", state["planner"]))
        self.train_generator.set_state(state.get("train_generator", state["generator"]))
        if "replay" in state:
            self.replay = ReplayBuffer.from_state_dict(state["replay"])

    # ----------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike) -> None:
        """One file of tensors and JSON strings (``torch.load(weights_only=True)``), written atomically."""
        checkpoint = {
            "format": CHECKPOINT_FORMAT, "config": json.dumps(asdict(self.config)), "seed": self.seed,
            "observation_space": space_to_json(self.observation_space),
            "action_space": space_to_json(self.action_space),
            "model": self.model.state_dict(), "optimiser": self.optimiser.state_dict(),
            "replay": self.replay.state_dict(), "num_timesteps": self.num_timesteps, "fits": self.fits,
        }
        atomic_save(checkpoint, pathlib.Path(path))

    @classmethod
    def load(cls, path: str | os.PathLike, env: gym.Env | None = None, device: str | torch.device = "auto",
             **kwargs: Any) -> PlanningAgent:
        """Rebuild an agent saved by :meth:`save`; ``env`` is needed only to keep learning."""
        checkpoint = load_checkpoint(pathlib.Path(path))  # digest checked, no code run
        if checkpoint.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{path} is not a PlanningAgent checkpoint (format {checkpoint.get('format')!r}, "
                             f"expected {CHECKPOINT_FORMAT!r})")
        hyperparams = {**json.loads(checkpoint["config"]), **kwargs}
        agent = cls(env, seed=checkpoint["seed"], device=device,
                    observation_space=space_from_json(checkpoint["observation_space"]),
                    action_space=space_from_json(checkpoint["action_space"]), **hyperparams)
        agent.model.load_state_dict(checkpoint["model"])
        agent.optimiser.load_state_dict(checkpoint["optimiser"])
        agent.replay = ReplayBuffer.from_state_dict(checkpoint["replay"])
        agent.num_timesteps, agent.fits = int(checkpoint["num_timesteps"]), int(checkpoint["fits"])
        return agent


def from_world_model(env: gym.Env, model_path: str | os.PathLike, seed: int = 0, device: str | torch.device = "auto",
                     **hyperparams: Any) -> PlanningAgent:
    """A planning agent over a model saved by ``scripts/fit_world_model.py`` (sizes read from the file)."""
    model, checkpoint = load_model(str(model_path))
    sizes = {k: checkpoint["config"][k] for k in ("ensemble_size", "hidden_size", "num_layers", "probabilistic")}
    agent = PlanningAgent(env, seed=seed, device=device, **{**hyperparams, **sizes})
    if (model.state_dim, model.action_dim) != (agent.layout.state_dim, agent.action_dim):
        raise ValueError(f"model {model_path} predicts state {model.state_dim} / action {model.action_dim}, "
                         f"env needs {agent.layout.state_dim} / {agent.action_dim}")
    agent.model.load_state_dict(model.state_dict())
    agent.fits = 1
    return agent
