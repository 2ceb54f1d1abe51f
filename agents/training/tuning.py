"""Hyperparameter search with Optuna, rl-baselines3-zoo style, over our training path.

Each trial samples hyperparameters, trains a normal run (its own run folder under
``<log_folder>/tune/``), reports every periodic evaluation to Optuna so bad trials are pruned
early, and returns the final success rate (or mean return when the env reports no success). With a
shared ``storage`` URL (``sqlite:///study.db`` on a shared disk, or PostgreSQL/MySQL) many
machines run ``scripts/tune.py`` with the same ``study_name`` and join one study.
"""
from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Callable
from typing import Any

import yaml

from agents.evaluation.episodes import EvalSummary
from agents.training.run import RunConfig, execute, prepare_run
from foresight_base.checks import check_choice

SAMPLERS = ("tpe", "random")
PRUNERS = ("median", "none")


def _optuna():
    try:
        import optuna
    except ModuleNotFoundError:
        raise ImportError("tuning needs Optuna: pip install 'foresight[tune]'") from None
    return optuna


def sample_off_policy(trial) -> dict[str, Any]:
    """SAC/TD3/TQC/DDPG search space (the zoo's, trimmed to what matters on small budgets)."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 3e-3, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [64, 128, 256, 512]),
        "gamma": trial.suggest_categorical("gamma", [0.9, 0.95, 0.98, 0.99]),
        "tau": trial.suggest_categorical("tau", [0.005, 0.01, 0.02, 0.05]),
        "learning_starts": trial.suggest_categorical("learning_starts", [100, 500, 1000]),
        "policy_kwargs": {"net_arch": trial.suggest_categorical("net_arch", ["64-64", "256-256"]).split("-")},
    }


def sample_on_policy(trial) -> dict[str, Any]:
    """PPO/A2C search space."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-5, 3e-3, log=True),
        "n_steps": trial.suggest_categorical("n_steps", [64, 128, 256, 512, 1024]),
        "gamma": trial.suggest_categorical("gamma", [0.9, 0.95, 0.98, 0.99]),
        "ent_coef": trial.suggest_float("ent_coef", 1e-8, 0.05, log=True),
        "gae_lambda": trial.suggest_categorical("gae_lambda", [0.9, 0.95, 0.98]),
        "policy_kwargs": {"net_arch": trial.suggest_categorical("net_arch", ["64-64", "256-256"]).split("-")},
    }


def sample_planning(trial) -> dict[str, Any]:
    """Planning agent (``mpc``) search space: planner size against model size and refit rate."""
    return {
        "horizon": trial.suggest_categorical("horizon", [5, 10, 15]),
        "num_candidates": trial.suggest_categorical("num_candidates", [100, 200, 500]),
        "iterations": trial.suggest_categorical("iterations", [2, 3, 5]),
        "hidden_size": trial.suggest_categorical("hidden_size", [64, 128, 200]),
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 3e-3, log=True),
        "train_freq": trial.suggest_categorical("train_freq", [100, 200, 500]),
    }


def sample_params(trial, algo: str) -> dict[str, Any]:
    """Hyperparameters for one trial (``net_arch`` is stored as a string choice, given as ints)."""
    if algo == "mpc":
        return sample_planning(trial)
    params = sample_on_policy(trial) if algo in ("ppo", "a2c") else sample_off_policy(trial)
    params["policy_kwargs"]["net_arch"] = [int(x) for x in params["policy_kwargs"]["net_arch"]]
    if algo == "ppo":
        params["batch_size"] = min(64, params["n_steps"])
    return params


def objective_value(summary: EvalSummary) -> float:
    """What a trial maximises: success rate when reported, else mean return."""
    return summary.success_rate if summary.success_rate is not None else summary.return_mean


@dataclasses.dataclass(frozen=True)
class TuneConfig:
    """A study: the base run config each trial starts from, and how to search."""

    base: RunConfig
    n_trials: int = 10
    study_name: str = "foresight"
    storage: str | None = None
    sampler: str = "tpe"
    pruner: str = "median"
    n_evaluations: int = 4
    """Evaluations per trial (each reported to the pruner)."""

    def __post_init__(self) -> None:
        check_choice("sampler", self.sampler, SAMPLERS)
        check_choice("pruner", self.pruner, PRUNERS)
        if self.n_trials < 1 or self.n_evaluations < 1:
            raise ValueError(f"n_trials and n_evaluations must be >= 1, got {self.n_trials}, {self.n_evaluations}")


def make_study(config: TuneConfig):
    """Create the study, or join the existing one of that name in ``storage``."""
    optuna = _optuna()
    seed = config.base.seed
    samplers = optuna.samplers
    sampler = samplers.TPESampler(seed=seed) if config.sampler == "tpe" else samplers.RandomSampler(seed=seed)
    pruner = optuna.pruners.MedianPruner(n_warmup_steps=1) if config.pruner == "median" else optuna.pruners.NopPruner()
    return optuna.create_study(study_name=config.study_name, storage=config.storage, sampler=sampler, pruner=pruner,
                               direction="maximize", load_if_exists=True)


def objective(config: TuneConfig) -> Callable:
    """The Optuna objective: one training run per trial, pruned on its periodic evaluations."""
    optuna = _optuna()
    plan = prepare_run(config.base)
    total = plan.hyperparams["n_timesteps"]

    def run_trial(trial) -> float:
        params = {**config.base.params, **sample_params(trial, config.base.algo)}
        base = dataclasses.replace(config.base, params=params, eval_freq=max(1, total // config.n_evaluations),
                                   log_folder=str(pathlib.Path(config.base.log_folder) / "tune" / config.study_name),
                                   video_episodes=0, progress=False)

        def report(step: int, summary: EvalSummary) -> None:
            trial.report(objective_value(summary), step)
            if trial.should_prune():
                raise optuna.TrialPruned()

        result = execute(prepare_run(base), on_evaluation=report)
        trial.set_user_attr("run", str(result.run.path))
        return objective_value(result.summary)

    return run_trial


def tune(config: TuneConfig):
    """Run ``n_trials`` trials (joining others on the same storage); return the study."""
    study = make_study(config)
    study.optimize(objective(config), n_trials=config.n_trials, catch=())
    return study


def best_as_zoo_yaml(study, algo: str, env_id: str, n_timesteps: int) -> str:
    """The best trial as a ``<algo>.yml`` entry usable with ``train.py --hyperparams-folder``."""
    best = dict(study.best_params)
    if algo == "mpc":  # no policy network
        return yaml.safe_dump({env_id: {"n_timesteps": n_timesteps, **best}}, sort_keys=False)
    arch = [int(x) for x in str(best.pop("net_arch", "64-64")).split("-")]
    entry = {"n_timesteps": n_timesteps, **best, "policy_kwargs": f"dict(net_arch={arch})"}
    if algo == "ppo":
        entry["batch_size"] = min(64, entry.get("n_steps", 64))
    return yaml.safe_dump({env_id: entry}, sort_keys=False)
