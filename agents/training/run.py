"""Train an agent into a run folder, and resume one: the library behind ``scripts/train.py``.

``train(RunConfig(...))`` resolves hyperparameters (YAML + overrides), builds the env and the
model, learns with periodic evaluation and checkpoints, then evaluates the final policy and writes
``eval.json``, ``curve.png`` and ``video.mp4``. ``resume(run_dir)`` continues a run from its
newest readable checkpoint with the same config.
"""
from __future__ import annotations

import dataclasses
import logging
import pathlib
from collections.abc import Callable
from typing import Any

import torch
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from agents import checkpoints
from agents.agent import Agent, Predictor
from agents.evaluation import media
from agents.evaluation.episodes import EvalSummary, evaluate, model_policy, summarize
from agents.evaluation.media import optional_output, plot_curve
from agents.training import state as train_state
from agents.training.callbacks import ProgressCallback, RestoreActionNoise, RunCallback, planned_steps
from agents.training.checks import check_env_builds, check_hyperparams
from agents.training.env_setup import (
    VEC_ENVS,
    check_env_id,
    env_maker,
    make_vec_env,
    normalize,
    registered_id,
    registry_name,
    wrapper_factories,
)
from agents.training.factory import ALGOS, algo_class, make_agent
from agents.training.hyperparams import load_hyperparams
from agents.training.run_folder import RunFolder
from foresight_base.checks import check_choice
from foresight_base.devices import resolve_device

EVAL_SEED_OFFSET = 10_000  # evaluation episodes never share start states with training envs

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """One training run. ``None`` fields come from the hyperparameter file."""

    algo: str = "sac"
    """Algorithm: one of ``agents.training.factory.ALGOS``."""
    env_id: str = "Foresight/PandaReach-v0"
    """Any registered gymnasium id."""
    n_timesteps: int | None = None
    """Total env steps (all envs together); ``None``: the hyperparameter file's ``n_timesteps``."""
    seed: int = 0
    """Seeds the model, the training envs (seed, seed+1, ...) and evaluation."""
    n_envs: int | None = None
    """Parallel training envs; ``None``: the file's ``n_envs`` or 1."""
    vec_env: str | None = None
    """``dummy`` (one process), ``subproc`` (process per env) or ``batched`` (torch world); ``None``:
    the hyperparameter file's ``vec_env`` or ``dummy``."""
    device: str = "auto"
    """Torch device; ``auto`` picks CUDA when present."""
    eval_freq: int | None = None
    """Evaluate every this many env steps; 0 disables periodic evaluation; ``None``: every
    ``max(2000, n_timesteps // 20)`` steps."""
    eval_episodes: int = 20
    """Episodes per evaluation (periodic and final)."""
    save_freq: int | None = None
    """Checkpoint every this many env steps; 0 keeps only the final checkpoint; ``None``: every
    ``max(2000, n_timesteps // 10)`` steps (a checkpoint holds the replay buffer: not too often)."""
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Hyperparameter overrides on top of the file."""
    env_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Keyword arguments of ``gymnasium.make``, on top of the hyperparameter file's ``env_kwargs``."""
    log_folder: str = "runs"
    """Root of run folders."""
    hyperparams_folder: str | None = None
    """Folder with ``<algo>.yml`` files; ``None``: the shipped ``agents/training/hyperparams``."""
    video_episodes: int = 2
    """Episodes of the final policy in ``video.mp4``; 0 skips the video."""
    torch_threads: int = 1
    """Torch CPU threads; 1 is fastest for small networks on a shared CPU; 0 keeps torch's default."""
    progress: bool = True
    """Show a progress bar."""
    verbose: int = 0
    """0: quiet; 1: SB3's console logs too."""

    def __post_init__(self) -> None:
        validate(self)


def validate(config: RunConfig) -> None:
    """Fail before any work, naming the bad value and what would be valid."""
    check_choice("algo", config.algo, ALGOS)
    if config.vec_env is not None:
        check_choice("vec_env", config.vec_env, VEC_ENVS)
    for name in ("eval_freq", "save_freq", "video_episodes", "torch_threads"):
        if getattr(config, name) is not None and getattr(config, name) < 0:
            raise ValueError(f"{name} must be >= 0, got {getattr(config, name)}")
    for name in ("n_timesteps", "n_envs", "eval_episodes"):
        value = getattr(config, name)
        if value is not None and value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    resolve_device(config.device)  # the name stays as given (SB3 resolves it); refused now if unusable here


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """Where a run went and how its final policy did."""

    run: RunFolder
    summary: EvalSummary
    num_timesteps: int


def resolve_hyperparams(config: RunConfig) -> dict[str, Any]:
    """The file's entry for the env (or ``default``), overridden by ``config.params``, plus run sizes."""
    folder = pathlib.Path(config.hyperparams_folder) if config.hyperparams_folder else None
    hyperparams = {**load_hyperparams(config.algo, registry_name(config.env_id), folder), **config.params}
    if config.n_timesteps is not None:
        hyperparams["n_timesteps"] = config.n_timesteps
    if config.n_envs is not None:
        hyperparams["n_envs"] = config.n_envs
    hyperparams["env_kwargs"] = {**(hyperparams.get("env_kwargs") or {}), **config.env_kwargs}
    hyperparams["n_timesteps"] = int(float(hyperparams.get("n_timesteps", 100_000)))
    hyperparams["n_envs"] = int(hyperparams.get("n_envs", 1))
    hyperparams["vec_env"] = config.vec_env or hyperparams.get("vec_env", "dummy")
    check_choice("vec_env", hyperparams["vec_env"], VEC_ENVS, context=" in the hyperparameter file")
    return hyperparams


def build(config: RunConfig, hyperparams: dict[str, Any]):
    """The training env and a fresh model (its logger is set once the run folder exists)."""
    if config.torch_threads:
        torch.set_num_threads(config.torch_threads)
    venv = make_vec_env(
        config.env_id,
        n_envs=hyperparams["n_envs"],
        vec_env=hyperparams["vec_env"],
        seed=config.seed,
        env_kwargs=hyperparams.get("env_kwargs"),
        wrappers=hyperparams.get("env_wrapper"),
        device=config.device,
    )
    venv = normalize(venv, hyperparams.get("normalize"), hyperparams.get("gamma"))
    try:
        model = make_agent(config.algo, venv, hyperparams, seed=config.seed, device=config.device,
                           verbose=config.verbose)
    except BaseException:
        venv.close()
        raise
    return venv, model


class Evaluator:
    """``model -> EvalSummary`` over ``eval_episodes`` seeded episodes on one separate env (closed by ``close``)."""

    def __init__(self, config: RunConfig, hyperparams: dict[str, Any], venv: VecEnv) -> None:
        self.env = env_maker(config.env_id, hyperparams.get("env_kwargs"), hyperparams.get("env_wrapper"))()
        self.transform = venv.normalize_obs if isinstance(venv, VecNormalize) else None
        self.episodes, self.seed = config.eval_episodes, config.seed + EVAL_SEED_OFFSET

    def __call__(self, model: Predictor) -> EvalSummary:
        policy = model_policy(model, deterministic=True, obs_transform=self.transform)
        episodes, _ = evaluate(self.env, policy, self.episodes, seed=self.seed)
        return summarize(episodes)

    def close(self) -> None:
        self.env.close()


def config_record(config: RunConfig, hyperparams: dict[str, Any]) -> dict[str, Any]:
    """What ``config.yaml`` holds: the run config and the resolved hyperparameters."""
    return {"config": dataclasses.asdict(config), "hyperparams": hyperparams}


@dataclasses.dataclass(frozen=True)
class PreparedRun:
    """A validated run, ready to execute: nothing has been written yet."""

    config: RunConfig
    hyperparams: dict[str, Any]
    run: RunFolder | None = None
    state: dict[str, Any] | None = None


def prepare_run(config: RunConfig) -> PreparedRun:
    """Check everything a new run needs (env id, algorithm back-end, hyperparameter names, that the
    env builds with its kwargs); write nothing."""
    registered_id(config.env_id)  # the user's own --env: gymnasium's module:Id imports its module here
    check_env_id(config.env_id)
    algo_class(config.algo)
    hyperparams = resolve_hyperparams(config)
    wrapper_factories(hyperparams.get("env_wrapper"))  # refuse unknown, untrusted wrappers before any work
    check_hyperparams(config.algo, hyperparams)
    check_env_builds(config.env_id, hyperparams["env_kwargs"], hyperparams.get("env_wrapper"),
                     hyperparams["vec_env"], config.device)
    total = hyperparams["n_timesteps"]
    config = dataclasses.replace(
        config,
        eval_freq=config.eval_freq if config.eval_freq is not None else max(2000, total // 20),
        save_freq=config.save_freq if config.save_freq is not None else max(2000, total // 10),
    )
    return PreparedRun(config, hyperparams)


def prepare_resume(run_dir: str | pathlib.Path, **overrides: Any) -> PreparedRun:
    """Read a run's config and its newest readable checkpoint (bad ones are skipped, with a warning).

    ``overrides`` may change run-time settings (``progress``, ``verbose``, ``n_timesteps`` to train
    longer), never the model.
    """
    run = RunFolder.open(run_dir)
    saved, hyperparams = run.read_record()
    unknown = set(saved) - {f.name for f in dataclasses.fields(RunConfig)}
    if unknown:
        raise ValueError(f"{run.config}: unknown config fields {sorted(unknown)}; valid: "
                         f"{', '.join(f.name for f in dataclasses.fields(RunConfig))}")
    config = RunConfig(**{**saved, **overrides})
    hyperparams = dict(hyperparams)
    if config.n_timesteps is not None:
        hyperparams["n_timesteps"] = config.n_timesteps
    check_env_id(config.env_id)
    wrapper_factories(hyperparams.get("env_wrapper"))  # a run folder never chooses the code we import
    state, path, warnings = checkpoints.load_latest(run.checkpoints, train_state.REQUIRED)
    for warning in warnings:
        log.warning(warning)
    log.info("resuming %s from %s (step %d)", run.path, path.name, train_state.step_of(state))
    return PreparedRun(config, hyperparams, run, state)


@dataclasses.dataclass(frozen=True)
class StartedRun:
    """A run whose env and model are built (and, for a new run, whose folder now exists)."""

    prepared: PreparedRun
    run: RunFolder
    venv: VecEnv
    model: Any


def start(prepared: PreparedRun) -> StartedRun:
    """Build the env and the model, then (a new run) create the folder and ``config.yaml``.

    Building comes first, so hyperparameters the model refuses leave no folder behind.
    """
    config, hyperparams = prepared.config, prepared.hyperparams
    venv, model = build(config, hyperparams)
    run = prepared.run
    if run is None:
        run = RunFolder.create(config.log_folder, registry_name(config.env_id), config.algo, config.seed)
        run.write_yaml(config_record(config, hyperparams))
    formats = ["tensorboard", *(["stdout"] if config.verbose else [])]
    model.set_logger(configure(str(run.tensorboard), formats))
    return StartedRun(prepared, run, venv, model)


def execute(prepared: PreparedRun, on_evaluation: Callable[[int, EvalSummary], None] | None = None) -> TrainResult:
    """Train (a new run gets its folder and ``config.yaml`` once its model is built) and finish with
    the final evaluation.

    ``on_evaluation(step, summary)`` is called after each periodic evaluation (Optuna pruning).
    """
    return learn(start(prepared), on_evaluation)


def train(config: RunConfig) -> TrainResult:
    """Train a new run; returns its folder and final evaluation."""
    return execute(prepare_run(config))


def resume(run_dir: str | pathlib.Path, **overrides: Any) -> TrainResult:
    """Continue ``run_dir`` from its newest readable checkpoint; see :func:`prepare_resume`."""
    return execute(prepare_resume(run_dir, **overrides))


def learn(started: StartedRun, on_evaluation: Callable[[int, EvalSummary], None] | None = None) -> TrainResult:
    """Learn to the run's ``n_timesteps`` with periodic evaluation and checkpoints, then finish."""
    config, hyperparams, state = started.prepared.config, started.prepared.hyperparams, started.prepared.state
    run, venv, model = started.run, started.venv, started.model
    if state is not None and not train_state.restore(model, state):
        log.warning("env episodes could not be replayed exactly; training continues from the restored state")
    callback_state = state["extra"].get("callback") if state else None
    evaluate_model = Evaluator(config, hyperparams, venv)
    try:
        total = hyperparams["n_timesteps"]
        callback = RunCallback(run, evaluate_model, config.eval_freq, config.save_freq, callback_state, on_evaluation)
        noise = RestoreActionNoise(state.get("action_noise") if state else None)
        remaining = max(0, total - model.num_timesteps)
        if planned_steps(model, total) > total:
            log.info("n_timesteps %d rounds up to %d: %s collects whole rollouts", total,
                     planned_steps(model, total), config.algo)
        callbacks = [noise, callback]
        if config.progress:
            callbacks.append(ProgressCallback(total, f"train {config.algo} {config.env_id}"))
        model.learn(remaining, callback=CallbackList(callbacks), reset_num_timesteps=state is None)
        callback.save()
        return _finish(config, hyperparams, run, model, venv, callback)
    finally:
        evaluate_model.close()


def _finish(config: RunConfig, hyperparams: dict[str, Any], run: RunFolder, model: Agent, venv: VecEnv,
            callback: RunCallback) -> TrainResult:
    """Final evaluation, ``eval.json``, ``episodes.csv``, ``curve.png`` and ``video.mp4``."""
    evaluated_now = callback.history and callback.history[-1]["step"] == model.num_timesteps
    summary = None if evaluated_now else callback.evaluate()
    summary = summary or EvalSummary(**{k: v for k, v in callback.history[-1].items() if k != "step"})
    run.write_json(run.eval_json, {"step": model.num_timesteps, "deterministic": True, **summary.as_dict()})
    with optional_output("curve.png"):
        plot_curve(callback.history, run.curve, title=f"{config.algo} on {config.env_id} (seed {config.seed})")
    if config.video_episodes:
        redo = f"python scripts/evaluate.py {run.path} --video-episodes {config.video_episodes}"
        with optional_output("video.mp4", redo):
            record_video(config, hyperparams, model, venv, run.video)
    venv.close()
    return TrainResult(run, summary, model.num_timesteps)


def record_video(config: RunConfig, hyperparams: dict[str, Any], model: Predictor, venv: VecEnv,
                 path: pathlib.Path) -> None:
    """MP4 of the final policy's first evaluation episodes."""
    transform = venv.normalize_obs if isinstance(venv, VecNormalize) else None
    make_env = lambda mode: env_maker(config.env_id, hyperparams.get("env_kwargs"),  # noqa: E731
                                      hyperparams.get("env_wrapper"), render_mode=mode)()
    media.record_video(make_env, model_policy(model, True, transform), config.video_episodes,
                       config.seed + EVAL_SEED_OFFSET, path)
