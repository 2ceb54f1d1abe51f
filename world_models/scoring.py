"""Score functions: what turns a model, a torch world or an env into something a planner optimises.

Each builder returns a :data:`world_models.planners.ScoreFn`, ``actions[E, N, H, A] -> returns[E, N]``:

* :func:`model_score_fn` - a learned :class:`~world_models.models.EnsembleDynamics` (PETS particles);
* :func:`dynamics_score_fn` - a differentiable ``step(state, action) -> (state, reward)``, e.g. a
  batched torch world used as an exact model (gradient planning works through it);
* :func:`env_score_fn` - a gymnasium env with ``save_state``/``restore_state`` used as its own model.

Rewards for learned models come from a :data:`RewardFn` where the env has one (goal envs), else
from the model's reward head.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from world_models.models import EnsembleDynamics
from world_models.planners import ScoreFn
from world_models.spaces import StateLayout

RewardFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``(next_states[E, B, H, S], actions[E, B, H, A]) -> rewards[E, B, H]``."""
StepFn = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
"""``(states[B, ...], actions[B, A]) -> (next_states[B, ...], rewards[B])``."""


def discounted_sum(rewards: torch.Tensor, discount: float) -> torch.Tensor:
    """Sum over the last axis (time, H) with weights ``discount ** t``."""
    weights = discount ** torch.arange(rewards.shape[-1], device=rewards.device, dtype=rewards.dtype)
    return (rewards * weights).sum(-1)


def goal_distance_reward(layout: StateLayout, desired_goals: torch.Tensor) -> RewardFn:
    """Dense goal reward: minus the Euclidean distance (metres) of the achieved to the desired goal ``[E, G]``."""
    def reward(next_states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        achieved = layout.achieved_goal(next_states)
        return -(achieved - desired_goals[:, None, None]).norm(dim=-1)
    return reward


def env_goal_reward(compute_reward: Callable[..., Any], layout: StateLayout, desired_goals: torch.Tensor) -> RewardFn:
    """The env's own batched ``compute_reward(achieved_goal, desired_goal, info)`` (numpy, not differentiable)."""
    def reward(next_states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        achieved = layout.achieved_goal(next_states).detach().cpu().numpy()
        desired = np.broadcast_to(desired_goals[:, None, None].cpu().numpy(), achieved.shape)
        flat = compute_reward(achieved.reshape(-1, layout.goal_dim), desired.reshape(-1, layout.goal_dim), {})
        values = torch.as_tensor(np.asarray(flat, dtype=np.float32), device=next_states.device)
        return values.reshape(achieved.shape[:-1])
    return reward


def model_score_fn(model: EnsembleDynamics, start_states: torch.Tensor, reward_fn: RewardFn | None = None,
                   particles: int = 1, propagation: str = "fixed", discount: float = 1.0,
                   uncertainty_penalty: float = 0.0, generator: torch.Generator | None = None) -> ScoreFn:
    """Score sequences by imagined return under a learned model.

    Args:
        model: The forward model.
        start_states: Current state per environment ``[E, S]``.
        reward_fn: Reward of predicted states; ``None`` uses the model's reward head.
        particles: P rollouts per candidate, each on its own member with sampled noise (PETS'
            trajectory sampling); the score is their mean. 1 means one deterministic rollout.
        propagation: ``fixed`` (each rollout on one member) or ``mean`` (all members, averaged).
        discount: Per-step discount of imagined rewards.
        uncertainty_penalty: Subtracted times the members' disagreement (needs ``mean``).
        generator: Seeds the particles' noise.
    """
    if uncertainty_penalty and propagation != "mean":
        raise ValueError("uncertainty_penalty needs propagation='mean' (disagreement across members)")

    def score(actions: torch.Tensor) -> torch.Tensor:
        envs, count, horizon, _ = actions.shape
        flat = actions.unsqueeze(2).expand(-1, -1, particles, -1, -1).reshape(-1, horizon, actions.shape[-1])
        starts = start_states[:, None].expand(-1, count * particles, -1).reshape(flat.shape[0], -1)
        if propagation == "fixed" and flat.shape[0] % model.members:
            starts, flat = _pad_rows(starts, model.members), _pad_rows(flat, model.members)
        rollout = model.rollout(starts, flat, propagation, sample=particles > 1, generator=generator)
        rows = envs * count * particles
        states = rollout.states[:rows].reshape(envs, count * particles, horizon, -1)
        rewards = rollout.rewards[:rows].reshape(envs, count * particles, horizon)
        if reward_fn is not None:
            rewards = reward_fn(states, flat[:rows].reshape(envs, count * particles, horizon, -1))
        if uncertainty_penalty:
            rewards = rewards - uncertainty_penalty * rollout.disagreement[:rows].reshape(rewards.shape)
        return discounted_sum(rewards, discount).reshape(envs, count, particles).mean(-1)
    return score


def _pad_rows(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Repeat the first rows so the row count is a multiple of ``multiple`` (extra rows are dropped later)."""
    missing = -x.shape[0] % multiple
    return torch.cat([x, x[:missing]], dim=0) if missing else x


def dynamics_score_fn(step: StepFn, start_states: torch.Tensor, discount: float = 1.0,
                      terminated: Callable[[torch.Tensor], torch.Tensor] | None = None) -> ScoreFn:
    """Score sequences by their return under ``step``, e.g. a batched torch world's exact dynamics.

    Args:
        step: ``(states[B, ...], actions[B, A]) -> (next_states, rewards[B])``; differentiable if
            gradient-based planning is to use it.
        start_states: State per environment ``[E, ...]``.
        discount: Per-step discount.
        terminated: ``states[B, ...] -> bool[B]``; rewards after a termination are not counted.
    """
    def score(actions: torch.Tensor) -> torch.Tensor:
        envs, count, horizon, _ = actions.shape
        state = start_states.unsqueeze(1).expand(-1, count, *start_states.shape[1:])
        state = state.reshape(envs * count, *start_states.shape[1:])
        flat = actions.reshape(envs * count, horizon, -1)
        rewards, alive = [], torch.ones(envs * count, dtype=torch.bool, device=actions.device)
        for t in range(horizon):
            state, reward = step(state, flat[:, t])
            rewards.append(reward * alive)
            if terminated is not None:
                alive = alive & ~terminated(state)
        return discounted_sum(torch.stack(rewards, -1), discount).reshape(envs, count)
    return score


def env_score_fn(env: Any, discount: float = 1.0) -> ScoreFn:
    """Score sequences by replaying them in ``env`` itself from its saved state (one env, exact, slow).

    Imagined steps go to ``env.unwrapped`` so wrappers (time limits, monitors) do not count them;
    actions must therefore be in the unwrapped env's units. The env is restored afterwards.
    """
    base = env.unwrapped
    for name in ("save_state", "restore_state"):
        if not callable(getattr(base, name, None)):
            raise TypeError(f"{type(base).__name__} has no {name}(); env_score_fn needs save_state/restore_state")

    def score(actions: torch.Tensor) -> torch.Tensor:
        if actions.shape[0] != 1:
            raise ValueError(f"env_score_fn plans for one env, got E={actions.shape[0]}")
        saved = base.save_state()
        returns = [_replay(base, saved, sequence, discount) for sequence in actions[0].detach().cpu().numpy()]
        base.restore_state(saved)
        return torch.tensor(returns, dtype=actions.dtype, device=actions.device).unsqueeze(0)
    return score


def _replay(base: Any, saved: Any, sequence: np.ndarray, discount: float) -> float:
    """Return of one action sequence ``[H, A]`` from ``saved``, stopping at termination."""
    base.restore_state(saved)
    total = 0.0
    for t, action in enumerate(sequence):
        _, reward, terminated, _, _ = base.step(action)
        total += discount ** t * float(reward)
        if terminated:
            break
    return total


def env_planning_policy(env: Any, planner: Any) -> Callable[[Any], np.ndarray]:
    """``obs -> action`` that plans with ``env`` as its own model (``save_state``/``restore_state``)."""
    score = env_score_fn(env)

    def policy(obs: Any) -> np.ndarray:
        return planner.plan(score).actions[0, 0].cpu().numpy()
    return policy
