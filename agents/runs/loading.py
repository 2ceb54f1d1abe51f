"""Load a trained policy from a run folder without executing code from any file.

The model is rebuilt from ``config.yaml`` (safe YAML) through the same factory that trained it, then
its weights come from a checkpoint read with ``torch.load(weights_only=True)``. A distilled run
(``scripts/distill.py``) holds a :class:`~agents.planning.distill.DistilledPolicy` file instead.
"""
from __future__ import annotations

import dataclasses
import logging
import pathlib
from collections.abc import Callable
from typing import Any

from stable_baselines3.common.vec_env import VecNormalize

from agents import checkpoints
from agents.agent import Agent
from agents.planning.distill import DistilledPolicy
from agents.training import state as train_state
from agents.training.env_setup import check_env_id, env_maker, make_vec_env, normalize, wrapper_factories
from agents.training.factory import make_agent
from agents.training.run_folder import RunFolder
from foresight_base.checks import check_choice
from foresight_base.devices import resolve_device

WHICH = ("best", "latest")
DISTILLED = "distilled"
"""The ``algo`` of a run folder written by ``scripts/distill.py``: a :class:`DistilledPolicy`, not a factory model."""

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class LoadedRun:
    """A run's policy ready to act: ``model.predict`` on ``obs_transform(obs)``."""

    run: RunFolder
    model: Agent
    config: dict[str, Any]
    hyperparams: dict[str, Any]
    obs_transform: Callable | None
    checkpoint: pathlib.Path

    def make_env(self, render_mode: str | None = None, env_kwargs: dict[str, Any] | None = None):
        """A fresh env like the training one (``env_kwargs`` override, e.g. domain randomisation)."""
        kwargs = {**(self.hyperparams.get("env_kwargs") or {}), **(env_kwargs or {})}
        return env_maker(self.config["env_id"], kwargs, self.hyperparams.get("env_wrapper"), render_mode)()


def checkpoint_path(run: RunFolder, which: str) -> tuple[dict[str, Any], pathlib.Path]:
    """The ``best`` weights or the ``latest`` step file; a missing or damaged best falls back to the
    newest readable step file (with a warning), a damaged step file to the one before it."""
    check_choice("checkpoint", which, WHICH)
    if which == "best" and run.best.is_file():
        try:
            return checkpoints.load(run.best, train_state.REQUIRED), run.best
        except checkpoints.CheckpointError as err:
            log.warning("%s; using the newest readable step checkpoint instead", err)
    state, path, skipped = checkpoints.load_latest(run.checkpoints, train_state.REQUIRED)
    for warning in skipped:
        log.warning(warning)
    return state, path


def load_run(path: str | pathlib.Path, which: str = "best", device: str = "auto") -> LoadedRun:
    """Rebuild the model of the run at ``path`` and load its ``which`` checkpoint's weights."""
    run = RunFolder.open(path)
    config, hyperparams = run.read_record()
    check_env_id(config["env_id"])
    wrapper_factories(hyperparams.get("env_wrapper"))  # a run folder never chooses the code we import
    if config["algo"] == DISTILLED:
        if which not in WHICH:
            raise ValueError(f"unknown checkpoint {which!r}; valid: {', '.join(WHICH)}")
        return LoadedRun(run, DistilledPolicy.load(run.best, resolve_device(device)), config, hyperparams, None,
                         run.best)
    state, ckpt = checkpoint_path(run, which)
    venv = make_vec_env(config["env_id"], n_envs=1, seed=config["seed"], env_kwargs=hyperparams.get("env_kwargs"),
                        wrappers=hyperparams.get("env_wrapper"))
    venv = normalize(venv, hyperparams.get("normalize"), hyperparams.get("gamma"), training=False)
    small = {**hyperparams, "buffer_size": 1, "learning_starts": 0} if "buffer_size" in hyperparams else hyperparams
    model = make_agent(config["algo"], venv, small, seed=config["seed"], device=device)
    train_state.load_weights(model, state)
    train_state.set_normalize_state(venv, state.get("normalize"))
    transform = venv.normalize_obs if isinstance(venv, VecNormalize) else None
    return LoadedRun(run, model, config, hyperparams, transform, ckpt)
