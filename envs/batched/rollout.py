"""Differentiable open-loop rollouts of a batched world, for planners that use it as a model."""
from __future__ import annotations

import torch

from envs.batched.world import BatchedWorld


def rollout(
    world: BatchedWorld, state: torch.Tensor, actions: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run ``H`` steps of ``world.dynamics`` from ``state`` under an action sequence.

    Gradients flow from the states and rewards back to ``actions`` and ``state``. A world that
    terminates stays in the rollout, but its later rewards are masked out, as an episode would
    have ended there.

    Args:
        world: The world (its pure ``dynamics``).
        state: Start states ``[B, S]``.
        actions: Float actions ``[B, H, A]`` (for ``Discrete`` worlds the action index, or a relaxed
            value in ``[0, 1]``).

    Returns:
        ``states [B, H + 1, S]``, ``rewards [B, H]`` (zero after termination) and ``alive``
        ``bool [B, H]`` (True where the world had not terminated before that step).

    Example:
        >>> from envs.batched import Pendulum
        >>> actions = torch.zeros(4, 10, 1, requires_grad=True)
        >>> states, rewards, _ = rollout(Pendulum(), torch.zeros(4, 2) + 0.5, actions)
        >>> rewards.sum().backward(); tuple(actions.grad.shape)
        (4, 10, 1)
    """
    if actions.dim() != 3 or actions.shape[0] != state.shape[0]:
        raise ValueError(f"actions must be [B, H, A] with B = {state.shape[0]}, got {tuple(actions.shape)}")
    states, rewards, alive = [state], [], []
    running = torch.ones(state.shape[0], dtype=torch.bool, device=state.device)
    for step in range(actions.shape[1]):
        state, reward = world.dynamics(state, actions[:, step])
        alive.append(running)
        rewards.append(torch.where(running, reward, torch.zeros_like(reward)))
        running = running & ~world.terminated(state.detach())
        states.append(state)
    return torch.stack(states, dim=1), torch.stack(rewards, dim=1), torch.stack(alive, dim=1)
