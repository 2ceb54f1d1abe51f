"""The latent planning agent: plan in a learned latent with imagined reward plus a terminal value.

``LatentPlanningAgent`` (``--algo lmpc``) is of TD-MPC2's class, built from Foresight's parts: the
observation is encoded (perception's CNNs for images, with DrQ shift) into a latent
(:mod:`world_models.latent_value`), MPPI searches action sequences through the planners' score
seam (:mod:`world_models.latent_scoring`: reward over the horizon + ``Q`` at its end, policy-prior
samples among the candidates), and every env step brings one update on H-step sub-sequences
(:mod:`agents.planning.latent_update`) drawn with hindsight goals (:mod:`agents.planning.sequence_replay`).
The loop, callbacks and logging are :class:`agents.planning.loop.OnlineAgent`'s.

Sparse goals: relabelling reuses the env's batched ``compute_reward``; where success needs contacts
random actions rarely make, ``demo_episodes`` seeds with the env's scripted expert and ``demos``
with any Minari-format dataset; both count as env steps. Acting: ``act="plan"`` (default) or
``act="prior"`` (the policy prior alone, thousands of actions per second, what ONNX export ships).

Example:
    >>> import gymnasium as gym
    >>> agent = LatentPlanningAgent(gym.make("Pendulum-v1"), seed=0, learning_starts=20, batch_size=8,
    ...                             hidden_dim=16, latent_dim=16, num_candidates=16, num_elites=4, num_prior=2,
    ...                             iterations=1, pretrain_updates=2)
    >>> agent = agent.learn(24)
    >>> action, _ = agent.predict(agent.env.reset(seed=1)[0])
    >>> action.shape, agent.num_timesteps
    ((1,), 24)
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
from agents.planning.action_repeat import ActionRepeat, HeldStep, repeat_episode
from agents.planning.latent_config import LatentAgentConfig, auto_discount
from agents.planning.latent_update import LatentValueLearner
from agents.planning.loop import OnlineAgent
from agents.planning.sequence_replay import SequenceReplay
from foresight_base.devices import resolve_device
from perception.augment import RandomShift
from world_models.data import read_episodes, read_metadata
from world_models.latent_scoring import latent_value_score_fn, prior_proposals
from world_models.latent_value import LatentValueModel, PriorPolicy
from world_models.observation_coding import ObservationCoding
from world_models.planners import PlanResult, make_planner
from world_models.spaces import space_from_json, space_to_json

CHECKPOINT_FORMAT = "foresight.latent_planning_agent/1"


class LatentPlanningAgent(OnlineAgent):
    """Latent value-guided MPC with a policy prior, behind SB3's ``learn / predict / save / load``.

    Args:
        env: A gymnasium env or an SB3 ``VecEnv`` with a bounded ``Box`` action space and ``Box``,
            flat ``Dict`` (goal dicts included) or image observations (``None`` only when loading).
        seed: Seeds env resets, exploration, initialisation, updates and planning.
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``.
        verbose: 1 prints training records to stdout.
        tensorboard_log: Folder for TensorBoard events (``LMPC_<n>`` runs inside), or ``None``.
        **hyperparams: Fields of :class:`agents.planning.latent_config.LatentAgentConfig`.
    """

    def __init__(self, env: gym.Env | VecEnv | None, seed: int = 0, device: str | torch.device = "auto",
                 verbose: int = 0, tensorboard_log: str | None = None, *, observation_space: gym.Space | None = None,
                 action_space: gym.Space | None = None, **hyperparams: Any) -> None:
        policy_kwargs = hyperparams.pop("policy_kwargs", None)
        if policy_kwargs:
            raise ValueError(f"LatentPlanningAgent sizes its networks with hyperparameters (latent_dim, hidden_dim, "
                             f"image_encoder...); policy_kwargs {policy_kwargs} cannot apply")
        super().__init__(env, seed, verbose, tensorboard_log, log_name="LMPC")
        self.config = c = LatentAgentConfig.from_kwargs(**hyperparams)
        self.device = resolve_device(device)
        self.observation_space = observation_space or env.observation_space
        self.action_space = _check_action_space(action_space or env.action_space)
        self.coding = ObservationCoding(self.observation_space, privileged=c.privileged_keys)
        self.action_dim = int(np.prod(self.action_space.shape))
        self._low, self._high = (b.reshape(-1).astype(np.float64) for b in (self.action_space.low,
                                                                            self.action_space.high))
        self.discount = c.discount if c.discount is not None else auto_discount(self._episode_length())
        torch.manual_seed(seed)
        self.model = LatentValueModel(self.coding, self.action_dim, c.model_config()).to(self.device)
        self.generator = torch.Generator(device=self.device).manual_seed(seed + 1)
        self.augment_generator = torch.Generator(device=self.device).manual_seed(seed + 2)
        shift = self.coding.image_keys and c.image_shift
        augment = RandomShift(c.image_shift, self.augment_generator) if shift else None
        self.learner = LatentValueLearner(self.model, c.update_config(self.discount), self.generator, augment)
        ones = torch.ones(self.action_dim)
        # predict (evaluation, deployment: planner, eval_generator) and training's acting (train_planner,
        # generator) plan with streams of their own, so evaluating between training steps never changes
        # what training does: a run depends on its seed alone.
        self.planner = make_planner(c.planner, -ones, ones, self.device, seed + 4, **c.planner_options())
        self.eval_generator = torch.Generator(device=self.device).manual_seed(seed + 5)
        self.train_planner = make_planner(c.planner, -ones, ones, self.device, seed, **c.planner_options())
        self.rng = np.random.default_rng(seed + 3)
        self.action_space.seed(seed)
        self.replay: SequenceReplay | None = None
        self.repeat = ActionRepeat(c.action_repeat)  # training's held decision
        self.owed_updates, self.demo_episodes_done, self.demo_steps = 0.0, 0, 0
        self.last_losses: dict[str, torch.Tensor] = {}

    # ----------------------------------------------------------------- set-up
    def _episode_length(self) -> int | None:
        """Decisions per episode (env steps over ``action_repeat``), from the env's time limit."""
        spec = self.env_attr("spec") if self.env is not None else None
        steps = getattr(spec, "max_episode_steps", None)
        return -(-steps // self.config.action_repeat) if steps else None

    def _make_replay(self, num_envs: int) -> SequenceReplay:
        compute_reward = self.env_attr("compute_reward") if self.coding.is_goal else None
        if self.coding.is_goal and compute_reward is None:
            raise ValueError("a goal-dict env needs a batched compute_reward(achieved, desired, info) for hindsight "
                             "relabelling; this env has none (set her_ratio=0 with a non-goal observation)")
        return SequenceReplay(self.config.buffer_size, num_envs, self.config.horizon, compute_reward,
                              self.config.her_ratio, self.seed, self.config.demo_ratio, self.config.bc_relabelled)

    # ----------------------------------------------------------------- actions
    def to_env_action(self, normalised: np.ndarray) -> np.ndarray:
        """``[E, A]`` in [-1, 1] -> the env's bounds."""
        return self._low + (np.clip(normalised, -1, 1) + 1) * (self._high - self._low) / 2

    def to_normalised(self, actions: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`to_env_action`, ``[E, A]`` float32."""
        actions = np.asarray(actions, dtype=np.float64).reshape(-1, self.action_dim)
        return (2 * (actions - self._low) / (self._high - self._low) - 1).clip(-1, 1).astype(np.float32)

    @torch.no_grad()
    def act(self, obs: Any, explore: bool = False, mode: str | None = None) -> np.ndarray:
        """Normalised actions ``[E, A]``: MPPI over the latent, or the prior alone (``mode`` or ``act="prior"``).

        ``explore`` (training) plans with the training streams and adds noise; otherwise the
        evaluation streams (:meth:`reseed`) are used and training's are left untouched.
        """
        c = self.config
        generator = self.generator if explore else self.eval_generator
        if (mode or c.act) == "prior" and not explore:
            self.model.eval()
            actions = self.model.pi(*self.encode_observation(obs), deterministic=True)[0]
            self.model.train()
            return actions.cpu().numpy()
        result = self._plan(obs, explore)
        actions = result.actions[:, 0]
        if explore and (c.exploration == "planner" or c.explore_std):
            scale = result.std[:, 0] if c.exploration == "planner" else 2 * c.explore_std
            noise = torch.randn(actions.shape, generator=generator, device=self.device)
            actions = (actions + scale * noise).clamp(-1, 1)
        return actions.cpu().numpy()

    @torch.no_grad()
    def planned_sequences(self, obs: Any) -> torch.Tensor:
        """The whole planned sequences ``[E, H, A]`` (normalised) that :meth:`act` takes the first step of;
        planning advances the warm start and the evaluation streams just as acting does."""
        return self._plan(obs, explore=False).actions

    def _plan(self, obs: Any, explore: bool) -> PlanResult:
        """One MPPI search over the latent from ``obs`` (training's or evaluation's planner and streams)."""
        c = self.config
        planner, generator = (self.train_planner, self.generator) if explore else (self.planner, self.eval_generator)
        self.model.eval()
        z, goal = self.encode_observation(obs)
        proposals = prior_proposals(self.model, z, goal, c.num_prior, c.horizon, generator) if c.num_prior else None
        score = latent_value_score_fn(self.model, z, goal, self.discount, generator, c.pessimism, c.disagreement)
        result = planner.plan(score, z.shape[0], proposals)
        self.model.train()
        return result

    def encode_observation(self, obs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Observations -> latents ``[E, L]`` and goals ``[E, G]`` (``G`` = 0 without a goal), as acting sees them."""
        tensors = self.coding.tensors(obs, self.device)
        z = self.model.encode(tensors)
        return z, tensors.get("goal", torch.zeros(z.shape[0], 0, device=self.device))

    def predict(self, observation: Any, state: Any = None, episode_start: np.ndarray | None = None,
                deterministic: bool = True) -> tuple[np.ndarray, Any]:
        """SB3's ``predict``: one observation -> ``[A]``, a batch of E -> ``[E, A]``.

        ``episode_start[E]`` clears the warm-start plan of envs that just reset. Planning is seeded,
        so ``deterministic`` changes nothing (exploration noise is for training only). With
        ``action_repeat`` k, the returned state holds each decision for k calls as training did;
        pass it back as SB3's ``evaluate_policy`` does (``state=None`` decides afresh). Without, it is ``None``.
        """
        single = self.coding.batch_shape(observation) == ()
        starts = None if episode_start is None else np.asarray(episode_start, dtype=bool).reshape(-1)
        if starts is not None:
            self.planner.reset(torch.as_tensor(starts))
        if self.config.action_repeat == 1:
            actions, state = self.env_actions(self.act(observation)), None
        else:
            actions, state = self._held_actions(observation, state, starts)
        return (actions[0] if single else actions), state

    def env_actions(self, normalised: np.ndarray) -> np.ndarray:
        """Normalised actions ``[E, A]`` -> the env's units, action shape and dtype ``[E, *shape]``."""
        actions = self.to_env_action(normalised).reshape(-1, *self.action_space.shape)
        return actions.astype(self.action_space.dtype)

    def _held_actions(self, observation: Any, state: Any, starts: np.ndarray | None
                      ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Actions ``[E, A]`` and the state ``(held actions [E, A], calls left [E])``: plan where a hold ran out."""
        if state is None:
            actions = self.env_actions(self.act(observation))
            return actions, (actions.copy(), np.full(len(actions), self.config.action_repeat - 1))
        held, left = (np.array(x) for x in state)
        if starts is not None:
            left[starts] = 0
        due = left <= 0
        if due.any():
            fresh = self.env_actions(self.act(observation))
            held[due], left[due] = fresh[due], self.config.action_repeat
        return held.copy(), (held, left - 1)

    def predict_prior(self, observation: Any) -> np.ndarray:
        """The deterministic policy prior's actions in env units (``[A]`` or ``[E, A]``), no planning."""
        single = self.coding.batch_shape(observation) == ()
        actions = self.to_env_action(self.act(observation, mode="prior")).reshape(-1, *self.action_space.shape)
        return actions[0] if single else actions

    def acting_space(self) -> gym.Space:
        """The observation layout acting reads: the env's less its privileged entries (what a robot sends)."""
        if not self.coding.privileged_keys:
            return self.observation_space
        return gym.spaces.Dict({k: v for k, v in self.observation_space.spaces.items()
                                if k not in self.coding.privileged_keys})

    def prior_policy(self) -> PriorPolicy:
        """The policy prior as a CPU module, observation tensors -> env actions: what ONNX export ships."""
        return PriorPolicy(self.coding, self.model, torch.as_tensor(self._low),
                           torch.as_tensor(self._high)).cpu().eval()

    def reseed(self, seed: int) -> None:
        """Restart predict's random streams from ``seed`` (evaluation: an episode's outcome depends on its seed)."""
        self.planner.generator.manual_seed(seed)
        self.eval_generator.manual_seed(seed + 1)

    # ----------------------------------------------------------------- the loop's hooks
    def before_learning(self, env: VecEnv) -> None:
        """Build the replay for these envs and load a demonstration dataset once."""
        if self.replay is None or self.replay.num_envs != env.num_envs:
            self.replay = self._make_replay(env.num_envs)
            self.replay.end_episodes()
        if self.config.demos and not self.demo_steps:
            self.demo_steps = self._load_demos(self.config.demos)
            self.num_timesteps += self.demo_steps

    def _load_demos(self, path: str) -> int:
        """Episodes of a Minari-format dataset into the replay; their step count (they count as env steps)."""
        metadata = read_metadata(path)
        for key, mine in (("observation_space", self.observation_space), ("action_space", self.action_space)):
            if metadata[key] != mine:
                raise ValueError(f"dataset {path} has {key} {metadata[key]}, the env has {mine}; record "
                                 "demonstrations with the same env id and env_kwargs")
        steps = 0
        for episode in read_episodes(path):
            rewards, terminations = (np.asarray(x, np.float32) for x in (episode.rewards, episode.terminations))
            obs, actions, rewards, terminations, repeats = repeat_episode(
                self.coding.numpy(episode.observations, privileged=True), self.to_normalised(episode.actions),
                rewards, terminations, self.config.action_repeat)
            self.replay.add_episode(obs, actions, rewards, terminations, repeats=repeats)
            steps += len(episode)
        return steps

    @property
    def expert_acting(self) -> bool:
        """Whether the scripted expert chooses this step's actions (the loop counts episodes only between steps)."""
        return self.demo_episodes_done < self.config.demo_episodes

    def explore(self, obs: Any, envs: int) -> np.ndarray:
        """Training actions in env units, each decision held for ``action_repeat`` env steps."""
        if self.repeat.due:
            held = {k: np.array(v, copy=True) for k, v in self.coding.numpy(obs, privileged=True).items()}
            self.repeat.hold(held, self._decide(obs, envs), demo=self.expert_acting)
        return self.repeat.actions

    def _decide(self, obs: Any, envs: int) -> np.ndarray:
        """Expert (demo episodes), then random until ``learning_starts``, then planned + noise; env units."""
        c = self.config
        if self.expert_acting:
            expert = np.stack(self.get_env().env_method("scripted_action")).reshape(envs, -1)
            noisy = self.to_normalised(expert) + 2 * c.demo_noise * self.rng.standard_normal((envs, self.action_dim))
            return self.to_env_action(noisy).reshape(envs, *self.action_space.shape).astype(self.action_space.dtype)
        if self.num_timesteps < c.learning_starts:
            return np.stack([self.action_space.sample() for _ in range(envs)])
        return self.env_actions(self.act(obs, explore=True))

    def observe(self, obs: Any, actions: np.ndarray, rewards: np.ndarray, next_obs: Any,
                terminated: np.ndarray) -> None:
        """One env step of the held decision; store it once the hold is over."""
        held = self.repeat.step(rewards, self.coding.numpy(next_obs, privileged=True), terminated)
        if held is not None:
            self._store(held)

    def _store(self, held: HeldStep) -> None:
        """Store E held steps, then run the updates owed (``updates_per_step`` per decision)."""
        envs = len(held.rewards)
        self.replay.add(held.obs, self.to_normalised(held.actions), held.rewards, held.next_obs, held.terminated,
                        demo=held.demo, repeats=held.repeats)
        if self.num_timesteps < self.config.learning_starts:
            return
        if self.learner.updates == 0:
            pretrain = self.config.pretrain_updates
            seeded = -(-self.config.learning_starts // self.config.action_repeat)  # decisions stored so far
            self.owed_updates += seeded if pretrain is None else pretrain
        else:
            self.owed_updates += self.config.updates_per_step * envs
        for _ in range(int(self.owed_updates)):
            self.last_losses = self.learner.update(self.replay.sample(self.config.batch_size, self.device))
        self.owed_updates -= int(self.owed_updates)

    def on_episode_start(self, starts: np.ndarray | None) -> None:
        held = self.repeat.close()  # an episode ended mid-hold (time limit): every env's hold closes here
        if held is not None and self.replay is not None:
            self._store(held)
        self.train_planner.reset(None if starts is None else torch.as_tensor(starts))
        if self.replay is not None:
            self.replay.end_episodes(starts)
        if starts is not None and self.expert_acting:
            self.demo_episodes_done += int(np.sum(starts))

    def episode_records(self) -> dict[str, float]:
        """Latest losses (read here, at episode ends: the only host syncs of training besides acting)."""
        records = {f"loss_{k}": float(v) for k, v in self.last_losses.items()}
        records["updates"] = float(self.learner.updates)
        return records

    # ----------------------------------------------------------------- persistence
    def learner_state(self, with_buffer: bool) -> dict[str, Any]:
        state = {"model": self.model.state_dict(), "learner": self.learner.state_dict(),
                 "generator": self.generator.get_state(), "augment_generator": self.augment_generator.get_state(),
                 "train_planner": self.train_planner.state_dict(), "rng": json.dumps(self.rng.bit_generator.state),
                 "planner": self.planner.state_dict(), "eval_generator": self.eval_generator.get_state(),
                 "owed_updates": self.owed_updates, "demo_episodes_done": self.demo_episodes_done,
                 "demo_steps": self.demo_steps, "repeat": self.repeat.state_dict()}
        if with_buffer and self.replay is not None:
            state["replay"] = {"num_envs": self.replay.num_envs, "state": self.replay.state_dict()}
        return state

    def load_learner_state(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.learner.load_state_dict(state["learner"])
        self.generator.set_state(state["generator"])
        self.augment_generator.set_state(state["augment_generator"])
        # checkpoints written before predict had streams of its own hold one planner, used by both
        self.train_planner.load_state_dict(state.get("train_planner", state["planner"]))
        self.planner.load_state_dict(state["planner"])
        if "eval_generator" in state:
            self.eval_generator.set_state(state["eval_generator"])
        self.rng.bit_generator.state = json.loads(state["rng"])
        self.owed_updates = float(state["owed_updates"])
        self.demo_episodes_done, self.demo_steps = int(state["demo_episodes_done"]), int(state["demo_steps"])
        self.repeat.load_state_dict(state.get("repeat", {}))
        if "replay" in state:
            self.replay = self._make_replay(int(state["replay"]["num_envs"]))
            self.replay.load_state_dict(state["replay"]["state"])

    def save(self, path: str | os.PathLike) -> None:
        """One file of tensors and JSON strings (``torch.load(weights_only=True)``), written atomically.

        It holds the model, optimisers and counters, not the replay (the run folder's checkpoints do).
        """
        checkpoint = {"format": CHECKPOINT_FORMAT, "config": json.dumps(asdict(self.config)), "seed": self.seed,
                      "observation_space": space_to_json(self.observation_space),
                      "action_space": space_to_json(self.action_space), "discount": self.discount,
                      "num_timesteps": self.num_timesteps, "learner_state": self.learner_state(with_buffer=False)}
        atomic_save(checkpoint, pathlib.Path(path))

    @classmethod
    def load(cls, path: str | os.PathLike, env: gym.Env | VecEnv | None = None, device: str | torch.device = "auto",
             **kwargs: Any) -> LatentPlanningAgent:
        """Rebuild an agent saved by :meth:`save`; ``env`` is needed only to keep learning."""
        checkpoint = load_checkpoint(pathlib.Path(path))  # digest checked, no code run
        if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
            found = checkpoint.get("format") if isinstance(checkpoint, dict) else type(checkpoint).__name__
            raise ValueError(f"{path} is not a LatentPlanningAgent checkpoint (format {found!r}, "
                             f"expected {CHECKPOINT_FORMAT!r})")
        hyperparams = {**json.loads(checkpoint["config"]), "discount": checkpoint["discount"], **kwargs}
        agent = cls(env, seed=checkpoint["seed"], device=device,
                    observation_space=space_from_json(checkpoint["observation_space"]),
                    action_space=space_from_json(checkpoint["action_space"]), **hyperparams)
        agent.load_learner_state(checkpoint["learner_state"])
        agent.num_timesteps = int(checkpoint["num_timesteps"])
        return agent


def _check_action_space(space: gym.Space) -> gym.spaces.Box:
    if not isinstance(space, gym.spaces.Box):
        raise TypeError(f"LatentPlanningAgent needs a continuous Box action space, got {space}; for Discrete "
                        "actions use a DQN/PPO agent")
    if not (np.isfinite(space.low).all() and np.isfinite(space.high).all()):
        raise ValueError(f"LatentPlanningAgent needs finite action bounds (it plans in [-1, 1]), got {space}")
    return space
