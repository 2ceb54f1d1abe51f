"""Hyperparameters of the latent planning agent (one frozen dataclass, every field documented).

Defaults follow TD-MPC2's where they fit a 2-core CPU (a 64-wide latent and 128-wide MLPs instead
of 512; 128 + 16 planner samples x 4 iterations instead of 512 + 24 x 6); presets per env id live in
``agents/training/hyperparams/lmpc.yml``.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from agents.planning.latent_update import UpdateConfig
from foresight_base.checks import check_choice, check_keys
from world_models.latent_value import LatentValueConfig
from world_models.planners import MPPI_SELECT

ACTING = ("plan", "prior")
EXPLORATION = ("fixed", "planner")


@dataclass(frozen=True)
class LatentAgentConfig:
    """Latent value-guided planning (TD-MPC2 class) with hindsight goals and optional demonstrations."""

    # --- model
    latent_dim: int = 64
    """Width of the latent state (a multiple of ``simnorm_dim``)."""
    hidden_dim: int = 128
    """Width of every hidden MLP layer (TD-MPC2: 512; 128 keeps planning near 10 ms on 2 CPU cores)."""
    num_q: int = 5
    num_dynamics: int = 1
    """Latent dynamics members: 1 (TD-MPC2's one MLP) or K >= 2, an ensemble stepped by its mean
    whose spread ``disagreement`` makes planning pay for."""
    q_dropout: float = 0.0
    """Dropout in the Q heads' first layer (TD-MPC2: 0.01; its random mask costs ~10% of a CPU update)."""
    simnorm_dim: int = 8
    image_encoder: str = "nature"
    """Perception CNN for image entries: ``nature``, ``impala`` or ``keypoints``."""
    image_features: int = 256
    image_shift: int = 4
    """DrQ random shift in pixels applied to training images (0: none)."""
    privileged_keys: tuple[str, ...] = ()
    """Dict observation entries used only as training targets, never as inputs (e.g. ``("state",)``
    with ``obs_mode="rgb+state"``: a head reads the simulator's state back from the pixel latent, so
    the encoder learns where things are; acting, evaluation and export read the image alone)."""
    privileged_coef: float = 0.02
    """Weight of the privileged-state loss. Its gradient is ~100x the reward's at weight 1 (pixel Reach:
    norms of 70-390 against the clip at 20, so every update was clipped); 0.02 keeps it unclipped
    and still reads the state back as well (Adam rescales the head's own steps)."""
    goal_offset: bool = False
    """Goal dicts: a head reads the achieved goal back from the latent and the reward, Q and policy
    heads also see the goal's offset from it, so a success radius is a threshold on one input
    rather than a circle the MLPs must learn from two positions."""
    achieved_coef: float = 1.0
    """Weight of the achieved-goal read-back loss (``goal_offset`` only; errors in units of the batch's spread)."""
    # --- learning
    horizon: int = 3
    """Steps of latent rollout in training and planning."""
    batch_size: int = 256
    learning_rate: float = 3e-4
    updates_per_step: float = 1.0
    """Gradient updates per decision (per env step without ``action_repeat``; all envs together)."""
    action_repeat: int = 1
    """Env steps each decision is held for (DMC agents hold 2). Where one control period barely moves
    the world (PointNav: 4 cm), holding k steps makes each decision's effect on the return k times
    larger and the episode the value spans k times shorter; plans and updates per env step fall by
    k. The auto discount reads the episode in decisions; env steps count every step."""
    learning_starts: int = 1000
    """Env steps (random or demonstration actions) before the first update."""
    pretrain_updates: int | None = None
    """Updates run once when learning starts (TD-MPC2 runs one per seed step); ``None``: ``learning_starts``."""
    buffer_size: int = 1_000_000
    """Transitions kept (saved with the agent)."""
    discount: float | None = None
    """``None``: from the episode length T as TD-MPC2 does, ``clip((T/5 - 1) / (T/5), 0.95, 0.995)``."""
    consistency_coef: float = 20.0
    reward_scale: float = 1.0
    """Multiplies rewards before learning. The two-hot code's bins are 0.2 apart in symlog units, so
    rewards of a few centimetres (dense Reach pays -0.05 to -0.3 m) fall between two bins and the
    reward head learns little from telling them apart; x10 spreads them over eight."""
    reward_coef: float = 0.1
    value_coef: float = 0.1
    entropy_coef: float = 1e-4
    rho: float = 0.5
    tau: float = 0.01
    grad_clip: float = 20.0
    encoder_lr_scale: float = 0.3
    precision: str = "float32"
    """``bfloat16`` runs the update's forward matrix products under autocast (faster on CPUs with
    AVX512-BF16 or AMX and on GPUs); planning and the prior stay float32."""
    # --- goals and demonstrations
    her_ratio: float = 0.8
    """Fraction of sampled sub-sequences whose goal is relabelled to one achieved later (goal envs)."""
    demo_episodes: int = 0
    """Episodes of the env's scripted expert (``scripted_action``) at the start; they count as env steps."""
    demo_noise: float = 0.1
    """Gaussian noise (fraction of the action range) on the expert's actions."""
    demos: str | None = None
    """A Minari-format dataset folder (``scripts/collect.py``) loaded into the replay; its steps count."""
    demo_ratio: float = 0.0
    """Fraction of every batch drawn from demonstration steps (MoDem oversamples them: 0.25-0.5)."""
    bc_coef: float = 0.0
    """Weight of behaviour cloning of demonstrated actions in the prior's loss (its Q term is ~1 in scale)."""
    bc_relabelled: bool = False
    """Clone demonstrated actions under hindsight goals too (GCSL), not only under the goal the
    demonstrator pursued: with ``her_ratio`` 0.8 and ``demo_ratio`` 0.25 only 5% of a batch is cloned
    otherwise. The action still leads towards where the demonstration went next."""
    # --- planning and acting
    planner: str = "mppi"
    """``mppi`` or ``cem`` (sampling planners: they take the prior's proposals)."""
    num_candidates: int = 128
    """Sequences sampled per planner iteration (TD-MPC2: 512)."""
    num_elites: int = 32
    num_prior: int = 16
    """Policy-prior sequences mixed into the candidates of every iteration (TD-MPC2: 24)."""
    iterations: int = 4
    """Planner iterations per action (TD-MPC2: 6)."""
    temperature: float = 0.5
    select: str = "best"
    """MPPI's returned sequence: ``best`` scored, or ``sample`` an elite by its weight (TD-MPC2)."""
    min_std: float = 0.05
    init_std: float = 1.0
    """Initial sampling std as a fraction of the action range (TD-MPC2's max_std 2 on [-1, 1])."""
    exploration: str = "fixed"
    """Training's action noise: ``fixed`` (``explore_std``) or ``planner`` (MPPI's final spread per
    action dimension, as TD-MPC2 does: wide where the search is unsure, ``min_std`` where it agrees)."""
    explore_std: float = 0.1
    """Gaussian noise (fraction of the action range) on planned actions while training (``fixed``)."""
    pessimism: float = 0.0
    """Planning values a sequence's end at the Q ensemble's mean minus this many standard deviations
    (0: the mean of two random members, as TD-MPC2). A search over many sequences picks those the
    model is wrong about in its favour; where the members disagree, k > 0 trusts them less."""
    disagreement: float = 0.0
    """Planning subtracts, per imagined step, this many reward units times the dynamics ensemble's
    spread in multiples of its mean on replayed data (needs ``num_dynamics`` >= 2; 0: none)."""
    act: str = "plan"
    """``plan`` (MPPI with the value) or ``prior`` (the policy prior alone: deployment speed)."""

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> LatentAgentConfig:
        """Build from keyword hyperparameters, naming any unknown or invalid ones and the valid set."""
        check_keys("LatentPlanningAgent hyperparameter", kwargs, {f.name for f in fields(cls)})
        privileged = kwargs.get("privileged_keys", ())
        if isinstance(privileged, str):  # one key from a command line or YAML
            privileged = (privileged,)
        if not isinstance(privileged, list | tuple) or not all(isinstance(k, str) for k in privileged):
            raise ValueError(f"privileged_keys must be a list of observation keys, got {privileged!r}")
        config = cls(**{**kwargs, "privileged_keys": tuple(privileged)})
        check_choice("act", config.act, ACTING)
        check_choice("planner", config.planner, ("mppi", "cem"), context=" for the latent agent")
        check_choice("exploration", config.exploration, EXPLORATION)
        check_choice("select", config.select, MPPI_SELECT)
        if config.exploration == "planner" and config.planner != "mppi":
            raise ValueError(f"exploration='planner' uses MPPI's final spread; planner {config.planner!r} keeps none "
                             "(use planner='mppi' or exploration='fixed')")
        if not 0.0 <= config.demo_ratio <= 1.0 or config.bc_coef < 0:
            raise ValueError(f"demo_ratio must lie in [0, 1] and bc_coef be >= 0, got {config.demo_ratio}, "
                             f"{config.bc_coef}")
        repeat = config.action_repeat
        if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
            raise ValueError(f"action_repeat must be an integer >= 1 (env steps per decision), got "
                             f"{config.action_repeat!r}")
        if not config.pessimism >= 0 or (config.pessimism and config.num_q < 2):
            raise ValueError(f"pessimism must be >= 0 (standard deviations of the Q ensemble) and needs num_q >= 2, "
                             f"got pessimism={config.pessimism!r} with num_q={config.num_q}")
        members = config.num_dynamics
        if isinstance(members, bool) or not isinstance(members, int) or members < 1:
            raise ValueError(f"num_dynamics must be an integer >= 1 (1: one MLP, K >= 2: an ensemble), got {members!r}")
        if not config.disagreement >= 0 or (config.disagreement and members < 2):
            raise ValueError(f"disagreement must be >= 0 and needs num_dynamics >= 2 (an ensemble to disagree), "
                             f"got disagreement={config.disagreement!r} with num_dynamics={members}")
        if config.horizon < 1 or config.batch_size < 1 or config.updates_per_step < 0:
            raise ValueError(f"horizon and batch_size must be >= 1 and updates_per_step >= 0, got "
                             f"{config.horizon}, {config.batch_size}, {config.updates_per_step}")
        return config

    def model_config(self) -> LatentValueConfig:
        return LatentValueConfig(latent_dim=self.latent_dim, hidden_dim=self.hidden_dim, num_q=self.num_q,
                                 num_dynamics=self.num_dynamics, dropout=self.q_dropout, simnorm_dim=self.simnorm_dim,
                                 image_encoder=self.image_encoder,
                                 image_features=self.image_features, goal_offset=self.goal_offset)

    def update_config(self, discount: float) -> UpdateConfig:
        return UpdateConfig(learning_rate=self.learning_rate, encoder_lr_scale=self.encoder_lr_scale,
                            consistency_coef=self.consistency_coef, reward_scale=self.reward_scale,
                            reward_coef=self.reward_coef,
                            value_coef=self.value_coef, entropy_coef=self.entropy_coef, rho=self.rho, tau=self.tau,
                            grad_clip=self.grad_clip, discount=discount,
                            bc_coef=self.bc_coef, privileged_coef=self.privileged_coef,
                            achieved_coef=self.achieved_coef, precision=self.precision)

    def planner_options(self) -> dict[str, Any]:
        options = {"horizon": self.horizon, "num_candidates": self.num_candidates, "iterations": self.iterations,
                   "num_elites": min(self.num_elites, self.num_candidates), "min_std": self.min_std,
                   "init_std": self.init_std}
        if self.planner == "mppi":
            options["temperature"] = self.temperature
            options["select"] = self.select
        return options


def auto_discount(episode_length: int | None) -> float:
    """TD-MPC2's heuristic: longer episodes look further ahead (0.99 when the length is unknown)."""
    if not episode_length:
        return 0.99
    frac = episode_length / 5
    return float(min(max((frac - 1) / frac, 0.95), 0.995))
