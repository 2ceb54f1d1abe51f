"""SB3 callbacks of a run: evaluation and checkpoints at rollout boundaries, and its progress.

Evaluation and checkpoints happen in ``on_rollout_start``: for every SB3 algorithm that is the
moment after a training update and before new experience, so a checkpoint taken there continues
exactly on resume. :class:`ProgressCallback` shows the steps as a bar on a terminal and as lines
in a log file (:mod:`agents.progress`).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback

from agents import checkpoints
from agents.evaluation.episodes import EvalSummary, score
from agents.progress import Progress
from agents.training import state as train_state
from agents.training.run_folder import RunFolder

Evaluator = Callable[[Any], EvalSummary]


def next_multiple(step: int, every: int) -> int:
    """The first multiple of ``every`` strictly after ``step``."""
    return (step // every + 1) * every


class RunCallback(BaseCallback):
    """Periodic evaluation (history, TensorBoard, best weights) and full checkpoints.

    Args:
        run: the run folder to write into.
        evaluator: ``model -> EvalSummary`` (seeded, so every evaluation sees the same start states).
        eval_freq: evaluate every this many env steps (all envs together); 0 disables.
        save_freq: checkpoint every this many env steps; 0 disables.
        state: the ``extra["callback"]`` of a checkpoint, when resuming.
        on_evaluation: called with ``(step, summary)`` after each periodic evaluation; may raise
            to stop training (Optuna's ``TrialPruned``).
    """

    def __init__(
        self,
        run: RunFolder,
        evaluator: Evaluator,
        eval_freq: int,
        save_freq: int,
        state: dict[str, Any] | None = None,
        on_evaluation: Callable[[int, EvalSummary], None] | None = None,
    ) -> None:
        super().__init__()
        self.on_evaluation = on_evaluation
        self.run, self.evaluator = run, evaluator
        self.eval_freq, self.save_freq = eval_freq, save_freq
        state = state or {}
        self.history: list[dict[str, Any]] = list(state.get("history", []))
        self.best: list[float] | None = state.get("best")
        self.next_eval: int = state.get("next_eval", eval_freq)
        self.next_save: int = state.get("next_save", save_freq)

    def state(self) -> dict[str, Any]:
        """Plain data to store in a checkpoint so a resumed run continues the same curve."""
        return {"history": self.history, "best": self.best, "next_eval": self.next_eval, "next_save": self.next_save}

    def _on_training_start(self) -> None:
        self.run.write_json(self.run.evaluations, self.history)  # drop rows newer than the checkpoint

    def _on_rollout_start(self) -> None:
        step = self.model.num_timesteps
        if self.eval_freq > 0 and step >= self.next_eval:
            summary = self.evaluate()
            self.next_eval = next_multiple(step, self.eval_freq)
            if self.on_evaluation is not None:
                self.on_evaluation(step, summary)
        if self.save_freq > 0 and step >= self.next_save:
            self.next_save = next_multiple(step, self.save_freq)
            self.save()

    def _on_step(self) -> bool:
        return True

    def evaluate(self) -> EvalSummary:
        """Evaluate now: log, append to the history, keep the best weights."""
        summary = self.evaluator(self.model)
        step = self.model.num_timesteps
        self.history.append({"step": step, **summary.as_dict()})
        self.run.write_json(self.run.evaluations, self.history)
        self.logger.record("eval/mean_reward", summary.return_mean)
        if summary.success_rate is not None:
            self.logger.record("eval/success_rate", summary.success_rate)
        self.logger.dump(step)
        if self.best is None or list(score(summary)) > self.best:
            self.best = list(score(summary))
            checkpoints.atomic_save(train_state.gather(self.model, {"step": step}, with_buffer=False), self.run.best)
        return summary

    def save(self) -> None:
        """Full training state as ``checkpoints/step_<n>.pt``."""
        extra = {"callback": self.state()}
        checkpoints.save_step(train_state.gather(self.model, extra), self.run.checkpoints, self.model.num_timesteps)


class RestoreActionNoise(BaseCallback):
    """Put a checkpoint's action-noise state back after SB3's ``learn()`` has reset the noise.

    SB3 resets the action noise at the start of every ``learn()`` call; an uninterrupted run does
    not, so a resumed Ornstein-Uhlenbeck process would restart at zero without this.
    """

    def __init__(self, noise_state: list[dict[str, Any]] | None) -> None:
        super().__init__()
        self.noise_state = noise_state

    def _on_training_start(self) -> None:
        train_state.set_noise_state(self.model, self.noise_state)

    def _on_step(self) -> bool:
        return True


def steps_per_iteration(model: Any) -> int:
    """Env steps one collection of ``model`` adds: on-policy SB3 collects whole rollouts
    (``n_steps`` x envs), off-policy ``train_freq`` steps x envs, our own agents one step x envs."""
    envs = int(getattr(model, "n_envs", None) or getattr(model.get_env(), "num_envs", 1))
    if hasattr(model, "rollout_buffer") and hasattr(model, "n_steps"):
        return int(model.n_steps) * envs
    train_freq = getattr(model, "train_freq", None)
    if train_freq is not None and getattr(getattr(train_freq, "unit", None), "value", None) == "step":
        return int(train_freq.frequency) * envs
    return envs


def planned_steps(model: Any, target: int) -> int:
    """The step count ``model.learn`` will really end at when asked to reach ``target``."""
    start, chunk = int(model.num_timesteps), steps_per_iteration(model)
    return start + math.ceil(max(0, target - start) / chunk) * chunk


class ProgressCallback(BaseCallback):
    """Training steps as a bar on a terminal, a line every ``every_s`` seconds in a log.

    Args:
        target: The run's ``n_timesteps`` (the bar shows what training will really reach, which a
            whole last rollout can push past it).
        desc: Label of the bar, e.g. ``"sac Foresight/PandaReach-v0"``.
        every_s: Seconds between lines when the output is not a terminal.
    """

    def __init__(self, target: int, desc: str, every_s: float | None = None) -> None:
        super().__init__()
        self.target, self.desc, self.every_s = target, desc, every_s
        self.bar: Progress | None = None

    def _on_training_start(self) -> None:
        total = planned_steps(self.model, self.target)
        self.bar = Progress(total, self.desc, initial=self.model.num_timesteps, every_s=self.every_s)

    def _on_step(self) -> bool:
        if self.bar is not None:
            self.bar.set(self.model.num_timesteps)
        return True

    def _on_training_end(self) -> None:
        if self.bar is not None:
            self.bar.set(self.model.num_timesteps)
            self.bar.close()
