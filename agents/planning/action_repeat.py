"""Action repeat: each decision is held for k env steps and stored as one transition.

Why: where the control period is short next to the task (PointNav's base moves at most 4 cm in
its 40 ms step, over 200-step episodes), one step's action barely changes the return, so the value
can hardly rank actions and the planner's few steps of horizon see only centimetres. Holding each
decision for k steps (DMC agents hold 2; Dreamer 2 on DMC, 4 on Atari) makes each decision's effect
k times larger, shortens the episode the value must see across by k, and costs k times fewer plans
and updates per env step. Env steps still count every step.

A held step's transition runs from the observation at the decision to the one after its last env
step; its reward is the sum of its env steps' rewards and its ``repeats`` the number of env steps
(k, fewer where an episode ended first). All E envs decide at the same time: when any episode ends
mid-hold, every env's held step closes there, so the replay's rows stay aligned across envs.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from agents.checkpoints import to_numpy, to_tensors


class HeldStep(NamedTuple):
    """One decision of E envs, held for ``repeats`` env steps (arrays ``[E, ...]``)."""

    obs: dict[str, np.ndarray]
    """Coded observations at the decision."""
    actions: np.ndarray
    """Env-unit actions ``[E, A]`` applied at every env step of the hold."""
    rewards: np.ndarray
    """``[E]`` sum of the env steps' rewards."""
    next_obs: dict[str, np.ndarray]
    """Coded observations after the last env step (the true last one where an episode ended)."""
    terminated: np.ndarray
    """``[E]`` True where the MDP ended during the hold."""
    repeats: int
    """Env steps held, ``1..k``."""
    demo: bool
    """A demonstrator made the decision."""


class ActionRepeat:
    """Holds E envs' decisions for ``repeat`` env steps and closes them into :class:`HeldStep` s.

    ``repeat=1`` closes every env step into its own transition: no hold at all.
    """

    def __init__(self, repeat: int) -> None:
        self.repeat = repeat
        self._open: dict[str, Any] | None = None

    @property
    def due(self) -> bool:
        """Whether the next env step needs a new decision."""
        return self._open is None

    @property
    def open_steps(self) -> int:
        """Env steps of the held decision so far (not stored until the hold closes)."""
        return 0 if self._open is None else int(self._open["repeats"])

    @property
    def actions(self) -> np.ndarray:
        """The held env-unit actions ``[E, A]``."""
        if self._open is None:
            raise RuntimeError("no decision is held; call hold() first")
        return self._open["actions"]

    def hold(self, obs: dict[str, np.ndarray], actions: np.ndarray, demo: bool) -> None:
        """Start holding ``actions`` decided on the coded ``obs``."""
        self._open = {"obs": obs, "actions": actions, "rewards": np.zeros(len(actions), np.float32),
                      "next_obs": obs, "terminated": np.zeros(len(actions), bool), "repeats": 0, "demo": demo}

    def step(self, rewards: np.ndarray, next_obs: dict[str, np.ndarray], terminated: np.ndarray) -> HeldStep | None:
        """One env step of the hold; the closed step when the hold is over (k steps, or a termination)."""
        held = self._open
        if held is None:
            raise RuntimeError("an env step came with no decision held")
        held["rewards"] = held["rewards"] + np.asarray(rewards, np.float32)
        held["terminated"] = held["terminated"] | np.asarray(terminated, bool)
        held["next_obs"], held["repeats"] = next_obs, held["repeats"] + 1
        if held["repeats"] >= self.repeat or held["terminated"].any():
            return self.close()
        return None

    def close(self) -> HeldStep | None:
        """End the hold now (an episode ended by a time limit); ``None`` if no env step was held."""
        held, self._open = self._open, None
        if held is None or held["repeats"] == 0:
            return None
        return HeldStep(**held)

    def state_dict(self) -> dict[str, Any]:
        """The open hold as tensors and plain data (resume mid-hold exactly)."""
        return {"open": None if self._open is None else to_tensors(self._open)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        held = state.get("open")
        self._open = None if held is None else to_numpy(held)


def repeat_episode(obs: dict[str, np.ndarray], actions: np.ndarray, rewards: np.ndarray, terminations: np.ndarray,
                   repeat: int) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A recorded episode (``obs`` rows T+1, the rest T) as held steps of ``repeat`` env steps.

    A recording made without holds has no single action per k steps: each held step takes the mean
    of its k actions (what a hold would have applied to move about as far). Returns coded ``obs``
    rows ``S+1``, actions, summed rewards, terminations and repeats, each ``S = ceil(T / k)`` rows.
    """
    length = len(actions)
    starts = np.arange(0, length, repeat)
    ends = np.minimum(starts + repeat, length)
    mean_actions = np.stack([actions[s:e].mean(axis=0) for s, e in zip(starts, ends, strict=True)])
    summed = np.add.reduceat(np.asarray(rewards, np.float32), starts)
    ended = np.logical_or.reduceat(np.asarray(terminations, bool), starts)
    rows = np.append(starts, length)
    return ({k: v[rows] for k, v in obs.items()}, mean_actions.astype(np.float32), summed, ended,
            (ends - starts).astype(np.float32))
