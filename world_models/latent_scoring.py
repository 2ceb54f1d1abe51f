"""Planning in the latent of a :class:`~world_models.latent_value.LatentValueModel`.

:func:`latent_value_score_fn` is the planners' seam for a latent value model: the score of an
action sequence is the imagined reward over the horizon plus the discounted terminal value
``Q(z_H, pi(z_H))``, so a 3-step plan still sees a sparse goal 50 steps away.
:func:`prior_proposals` rolls the policy prior through the latent dynamics, giving sequences the
planner mixes into its own samples (TD-MPC2's ``num_pi_trajs``).

Example:
    >>> import torch
    >>> from gymnasium import spaces
    >>> from world_models.latent_value import LatentValueConfig, LatentValueModel
    >>> from world_models.observation_coding import ObservationCoding
    >>> coding = ObservationCoding(spaces.Box(-1, 1, (4,)))
    >>> model = LatentValueModel(coding, 2, LatentValueConfig(latent_dim=16, hidden_dim=32))
    >>> z, goal = model.encode({"vector": torch.zeros(3, 4)}), torch.zeros(3, 0)
    >>> generator = torch.Generator().manual_seed(0)
    >>> score = latent_value_score_fn(model, z, goal, discount=0.99, generator=generator)
    >>> score(torch.zeros(3, 10, 5, 2)).shape
    torch.Size([3, 10])
    >>> prior_proposals(model, z, goal, count=4, horizon=5, generator=generator).shape
    torch.Size([3, 4, 5, 2])
"""
from __future__ import annotations

import torch

from world_models.latent_dynamics import LatentDynamicsEnsemble
from world_models.latent_value import LatentValueModel
from world_models.planners import ScoreFn


def _tile(x: torch.Tensor, count: int) -> torch.Tensor:
    """``[E, D]`` -> ``[E * count, D]``, each row repeated ``count`` times in place."""
    return x.repeat_interleave(count, dim=0)


def latent_value_score_fn(model: LatentValueModel, z: torch.Tensor, goal: torch.Tensor, discount: float,
                          generator: torch.Generator, pessimism: float = 0.0, disagreement: float = 0.0) -> ScoreFn:
    """``actions[E, N, H, A]`` -> imagined return ``[E, N]`` from latents ``z[E, L]`` towards ``goal[E, G]``.

    ``pessimism`` k > 0 values the end of a sequence at the mean minus k standard deviations of
    every Q member (MoDem-v2's uncertainty-aware planning): a search that maximises over many
    sequences finds those where the model is wrong in its favour, and there the members disagree.
    0 keeps TD-MPC2's mean of two random members.

    ``disagreement`` c > 0 (a dynamics ensemble only) subtracts, at every imagined step, c times the
    dynamics members' spread in multiples of its mean on replayed data, discounted as the rewards:
    the same remedy one step earlier, where the imagined latent itself goes wrong.
    """
    if disagreement and not isinstance(model.dynamics, LatentDynamicsEnsemble):
        raise ValueError(f"disagreement={disagreement} needs a dynamics ensemble (num_dynamics >= 2)")

    def score(actions: torch.Tensor) -> torch.Tensor:
        envs, count, horizon, _ = actions.shape
        latent, goals = _tile(z, count), _tile(goal, count)
        flat = actions.reshape(envs * count, horizon, -1)
        total = torch.zeros(envs * count, device=z.device)
        weight = 1.0
        for t in range(horizon):
            total = total + weight * model.rewards(latent, flat[:, t], goals)
            latent, spread = model.next_and_spread(latent, flat[:, t])
            if disagreement:
                total = total - weight * disagreement * spread
            weight *= discount
        final_action, _ = model.pi(latent, goals, generator)
        if pessimism:
            values = model.qs(latent, final_action, goals)  # [M, E * N]
            value = values.mean(0) - pessimism * values.std(0)
        else:
            value = model.q_pair(latent, final_action, goals, generator).mean(0)
        total = total + weight * value
        return total.reshape(envs, count)
    return score


def prior_proposals(model: LatentValueModel, z: torch.Tensor, goal: torch.Tensor, count: int, horizon: int,
                    generator: torch.Generator) -> torch.Tensor:
    """``count`` sampled policy-prior sequences ``[E, count, H, A]`` rolled out in the latent."""
    envs = z.shape[0]
    latent, goals = _tile(z, count), _tile(goal, count)
    steps = []
    for _ in range(horizon):
        action, _ = model.pi(latent, goals, generator)
        steps.append(action)
        latent = model.next(latent, action)
    return torch.stack(steps, dim=1).reshape(envs, count, horizon, -1)
