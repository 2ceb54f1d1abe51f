"""Hyperparameters of the planning agent (one frozen dataclass, every field documented)."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from foresight_base.checks import check_choice, check_keys

OBJECTIVES = ("auto", "goal_distance", "env_reward", "learned_reward")


@dataclass(frozen=True)
class PlanningAgentConfig:
    """Model-predictive control with a learned ensemble (PETS-style), SB3-like hyperparameters."""

    planner: str = "cem"
    """``cem``, ``mppi`` or ``gradient``."""
    horizon: int = 15
    """Imagined steps per action sequence."""
    num_candidates: int = 500
    """Sequences scored per planner iteration (per env)."""
    iterations: int = 5
    """Planner iterations per action."""
    num_elites: int = 50
    """CEM/MPPI elites."""
    particles: int = 1
    """Rollouts per candidate (PETS trajectory sampling); >1 samples from the Gaussian heads."""
    propagation: str = "fixed"
    """``fixed``: each rollout on one member (cheap); ``mean``: all members averaged."""
    discount: float = 1.0
    uncertainty_penalty: float = 0.0
    """Imagined reward minus this times ensemble disagreement (needs propagation='mean')."""
    objective: str = "auto"
    """``goal_distance`` (dense, goal envs), ``env_reward`` (the env's ``compute_reward``),
    ``learned_reward`` (the model's reward head); ``auto``: goal_distance for goal envs, else learned."""
    ensemble_size: int = 5
    hidden_size: int = 200
    num_layers: int = 3
    probabilistic: bool = True
    euler_dims: tuple[int, ...] = ()
    """Start index of each (roll, pitch, yaw) triple in the model state, modelled as rotation
    features (``world_models.models.ModelConfig.euler_dims``); e.g. ``[10]`` on PandaPush's goal obs."""
    std_floor: float = 1e-6
    """Smallest std the model's normalisers divide by, in state units (``ModelConfig.std_floor``)."""
    learning_starts: int = 1000
    """Random-action steps before the first model fit (seed episodes)."""
    train_freq: int = 250
    """Env steps between model refits."""
    max_epochs: int = 25
    """Epochs per refit at most (early stopping on a holdout split)."""
    patience: int = 5
    batch_size: int = 256
    learning_rate: float = 1e-3
    buffer_size: int = 200_000
    """Transitions kept for fitting (saved with the agent)."""

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> PlanningAgentConfig:
        """Build from keyword hyperparameters, naming any unknown ones and the valid set."""
        check_keys("PlanningAgent hyperparameter", kwargs, {f.name for f in fields(cls)})
        config = cls(**kwargs)
        check_choice("objective", config.objective, OBJECTIVES)
        return config

    def planner_options(self) -> dict[str, Any]:
        """Planner config fields this agent sets (gradient planning takes no elites)."""
        options = {"horizon": self.horizon, "num_candidates": self.num_candidates, "iterations": self.iterations}
        if self.planner in ("cem", "mppi"):
            options["num_elites"] = min(self.num_elites, self.num_candidates)
        return options
