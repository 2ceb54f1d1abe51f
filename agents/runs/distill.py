"""Distil a run folder's agent into a small policy network: the library behind ``scripts/distill.py``.

The teacher is any run ``scripts/train.py`` wrote (an ``mpc`` run is the motivating case: tens of
milliseconds per action, where the student acts in microseconds). :func:`distill_run` trains a
:class:`~agents.planning.distill.DistilledPolicy` with DAgger relabelling on the teacher's env,
evaluates teacher and student on the same seeded episodes, reports the gap with intervals, and
writes the student as a run folder of its own (``<log folder>/<env>/distilled/<stamp>_s<seed>/``)
that ``scripts/evaluate.py`` and ``scripts/deploy.py export --run`` read like any other.
"""
from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from agents.evaluation.episodes import Episode, EvalSummary, evaluate, model_policy, summarize
from agents.evaluation.statistics import bootstrap_ci
from agents.planning.distill import DistillConfig, DistillReport, distill
from agents.runs.evaluate import EVAL_SEED
from agents.runs.loading import DISTILLED, LoadedRun, load_run
from agents.training.env_setup import registry_name
from agents.training.run_folder import RunFolder


@dataclasses.dataclass(frozen=True)
class DistillRequest:
    """What to distil and how to judge it."""

    teacher: str
    """The teacher's run folder."""
    config: DistillConfig = DistillConfig()
    """Student size and DAgger budget."""
    eval_episodes: int = 50
    """Seeded episodes each of teacher and student is evaluated on (the same start states)."""
    eval_seed: int = EVAL_SEED
    """Episode i of the evaluation starts from ``reset(seed=eval_seed + i)``."""
    which: str = "best"
    """Teacher checkpoint: ``best`` or ``latest``."""
    log_folder: str | None = None
    """Root of the student's run folder; ``None``: the teacher's root (``runs``)."""

    def __post_init__(self) -> None:
        if self.eval_episodes < 1:
            raise ValueError(f"eval_episodes must be >= 1, got {self.eval_episodes}")
        for name in ("rounds", "episodes_per_round", "epochs", "batch_size"):
            if getattr(self.config, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self.config, name)}")
        if not 0 <= self.config.teacher_mix <= 1:
            raise ValueError(f"teacher_mix must be a probability in [0, 1], got {self.config.teacher_mix}")


@dataclasses.dataclass(frozen=True)
class DistillResult:
    """The student's run folder, both evaluations and their gap."""

    run: RunFolder
    teacher: EvalSummary
    student: EvalSummary
    gap: dict[str, Any]
    training: DistillReport


def check_distillable(space: gym.Space, action_space: gym.Space) -> None:
    """The student is an MLP over state (or goal-dict) vectors with a continuous action."""
    if not isinstance(action_space, gym.spaces.Box):
        raise ValueError(f"distillation needs a continuous (Box) action space; this run's env has {action_space}")
    subspaces = space.spaces.values() if isinstance(space, gym.spaces.Dict) else [space]
    for sub in subspaces:
        if not isinstance(sub, gym.spaces.Box) or len(sub.shape) > 1:
            raise ValueError(f"distillation takes state or goal-dict observations (flat Boxes); this run's env "
                             f"observes {space}: distil a state-based run instead")


def teacher_root(teacher: pathlib.Path) -> pathlib.Path:
    """``runs`` for a teacher at ``runs/<env>/<algo>/<stamp>``."""
    return teacher.resolve().parents[2]


def paired_gap(teacher: list[Episode], student: list[Episode]) -> dict[str, Any]:
    """Teacher minus student on the same seeds: return difference with a bootstrap CI, success rates."""
    difference = np.array([t.episode_return - s.episode_return for t, s in zip(teacher, student, strict=False)])
    gap: dict[str, Any] = {"return_difference": float(difference.mean()),
                           "return_difference_ci": bootstrap_ci(difference)}
    rates = [summarize(teacher).success_rate, summarize(student).success_rate]
    if None not in rates:
        gap["success_difference"] = rates[0] - rates[1]
    return gap


def matches(teacher: EvalSummary, student: EvalSummary, teacher_episodes: list[Episode]) -> bool:
    """Whether the student is within the teacher's 95% CI: its success rate in the teacher's Wilson
    interval when the env reports success, else its mean return in the teacher's bootstrap interval."""
    if teacher.success_rate is not None and student.success_rate is not None:
        low, high = teacher.success_ci
        return low <= student.success_rate <= high
    low, high = bootstrap_ci(np.array([e.episode_return for e in teacher_episodes]))
    return low <= student.return_mean <= high


def _evaluate(env: gym.Env, policy: Callable, request: DistillRequest, tick: Callable[[], None]) -> list[Episode]:
    episodes = []
    for i in range(request.eval_episodes):  # one at a time: the same seeds as one call, with progress
        episodes += evaluate(env, policy, 1, request.eval_seed + i)[0]
        tick()
    return episodes


def distill_run(request: DistillRequest, tick: Callable[[], None] = lambda: None) -> DistillResult:
    """Distil ``request.teacher``; ``tick()`` follows every episode (a progress bar).

    Episodes: ``rounds * episodes_per_round`` of distillation, then ``eval_episodes`` each for the
    teacher and the student.
    """
    loaded = load_run(request.teacher, request.which, device="cpu")
    env = loaded.make_env()
    try:
        check_distillable(env.observation_space, env.action_space)
        teacher = model_policy(loaded.model, True, loaded.obs_transform)

        def on_reset() -> None:
            teacher.reset()
            tick()

        student, training = distill(env, teacher, request.config, on_reset=on_reset)
        teacher_episodes = _evaluate(env, teacher, request, tick)
        student_episodes = _evaluate(env, lambda obs: student.predict(obs)[0], request, tick)
    finally:
        env.close()
    teacher_summary, student_summary = summarize(teacher_episodes), summarize(student_episodes)
    gap = {**paired_gap(teacher_episodes, student_episodes),
           "within_teacher_ci": matches(teacher_summary, student_summary, teacher_episodes)}
    run = _write_run(loaded, request, student, teacher_summary, student_summary, gap, training)
    return DistillResult(run, teacher_summary, student_summary, gap, training)


def _write_run(loaded: LoadedRun, request: DistillRequest, student, teacher: EvalSummary, student_summary: EvalSummary,
               gap: dict[str, Any], training: DistillReport) -> RunFolder:
    """The student's run folder: ``config.yaml`` (enough to load it), ``checkpoints/best.pt``, ``eval.json``."""
    env_id, seed = loaded.config["env_id"], request.config.seed
    root = request.log_folder or teacher_root(loaded.run.path)
    run = RunFolder.create(root, registry_name(env_id), DISTILLED, seed)
    config = {"algo": DISTILLED, "env_id": env_id, "seed": seed, "teacher": str(loaded.run.path),
              "teacher_algo": loaded.config["algo"], "teacher_checkpoint": str(loaded.checkpoint),
              **{k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(request.config).items()}}
    hyperparams = {k: loaded.hyperparams[k] for k in ("env_kwargs", "env_wrapper") if k in loaded.hyperparams}
    run.write_yaml({"config": config, "hyperparams": hyperparams})
    run.checkpoints.mkdir()
    student.save(run.best)
    run.write_json(run.eval_json, {"deterministic": True, **student_summary.as_dict(), "teacher": teacher.as_dict(),
                                   "gap": gap, "eval_episodes": request.eval_episodes, "eval_seed": request.eval_seed,
                                   "labels": training.dataset_sizes[-1], "final_loss": training.losses[-1]})
    return run
