"""Learning runs of the benchmark that survive being stopped: a checkpoint at every curve point.

Why: a 100k-step Push run takes hours on this box, longer than a working session, and a machine
may be taken back mid-run. Each seed's run keeps the full training state (weights, optimisers,
replay, RNGs, the envs' episodes: :mod:`agents.training.state`) and the curve so far in
``<algo>_s<seed>.ckpt/step_<n>.pt``, written atomically after each evaluation. Started again with
the same command, the run goes on from the newest readable checkpoint and gives the curve it
would have given unstopped; started with a larger ``--steps``, a finished run goes on to it.

A checkpoint also records the run's settings (algorithm, env and its kwargs, hyperparameters,
seed, evaluation cadence): a run is never continued under other settings.
"""
from __future__ import annotations

import json
import pathlib
import shutil
from typing import Any

from agents import checkpoints
from agents.evaluation.curves import CurvePoint
from agents.training import state as train_state


class CurveCheckpoints:
    """The checkpoints of one seed's learning run in ``folder``.

    Args:
        folder: ``<results folder>/<algo>_s<seed>.ckpt``.
        settings: Plain data naming the run (JSON-able); a checkpoint of other settings is refused.
    """

    def __init__(self, folder: pathlib.Path, settings: dict[str, Any]) -> None:
        self.folder = pathlib.Path(folder)
        self.settings = json.loads(json.dumps(settings))  # as it will read back

    def exists(self) -> bool:
        return bool(checkpoints.step_files(self.folder))

    def clear(self) -> None:
        """Forget every checkpoint (``--force``: the run starts over)."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def save(self, agent: Any, points: list[CurvePoint]) -> None:
        """The agent's full training state and the curve so far, at the agent's env step."""
        extra = {"settings": json.dumps(self.settings), "curve": json.dumps([p._asdict() for p in points])}
        checkpoints.save_step(train_state.gather(agent, extra), self.folder, agent.num_timesteps)

    def restore(self, agent: Any) -> list[CurvePoint]:
        """Load the newest readable checkpoint into the freshly built ``agent``; its curve so far.

        Raises:
            ValueError: the checkpoint was written by a run of other settings (names the keys).
            agents.checkpoints.CheckpointError: no checkpoint is readable.
        """
        state, path, warnings = checkpoints.load_latest(self.folder, train_state.REQUIRED)
        for warning in warnings:
            print(f"  warning: {warning}", flush=True)
        saved = json.loads(state["extra"]["settings"])
        differ = sorted(k for k in {*saved, *self.settings} if saved.get(k) != self.settings.get(k))
        if differ:
            there, now = ({k: settings.get(k) for k in differ} for settings in (saved, self.settings))
            raise ValueError(f"{path} was written by a run with other settings ({', '.join(differ)}: {there} there, "
                             f"{now} now); rerun with those settings to continue it, or pass --force to start over")
        if not train_state.restore(agent, state):
            print("  warning: the envs' episodes could not be replayed exactly; training goes on from the "
                  "restored state", flush=True)
        points = [CurvePoint(**p) for p in json.loads(state["extra"]["curve"])]
        print(f"  resumed from {path} ({len(points)} curve points, step {train_state.step_of(state)})", flush=True)
        return points
