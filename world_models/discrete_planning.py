"""CEM for ``Discrete(K)`` actions: a categorical distribution per step, refit to the elites.

The same seam as the continuous planners (:mod:`world_models.planners`): the planner sees only
``score_fn(actions[E, N, H, 1]) -> [E, N]``, with action indices passed as floats.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from world_models.planners import Planner, PlanResult, ScoreFn, check_scores, keep_best, refuse_proposals


@dataclass(frozen=True)
class DiscreteCEMConfig:
    """CEM over discrete actions: a categorical distribution per time step, refit to the elites."""

    horizon: int = 15
    num_candidates: int = 300
    num_elites: int = 30
    iterations: int = 4
    momentum: float = 0.1
    min_probability: float = 0.02
    """Floor on every action's probability so search never collapses."""
    warm_start_weight: float = 0.5
    """Probability mass the shifted previous plan gets at the next call (the rest is uniform)."""


class DiscreteCEMPlanner(Planner):
    """CEM for ``Discrete(K)`` actions; sequences reach ``score_fn`` as float indices ``[E, N, H, 1]``.

    Args:
        num_actions: K.
        config: Sizes and smoothing.
    """

    def __init__(self, num_actions: int, config: DiscreteCEMConfig = DiscreteCEMConfig(),
                 device: str | torch.device = "cpu", seed: int = 0) -> None:
        if num_actions < 2:
            raise ValueError(f"num_actions must be >= 2, got {num_actions}")
        super().__init__(torch.zeros(1), torch.full((1,), float(num_actions - 1)), device, seed)
        self.num_actions, self.config, self.horizon = num_actions, config, config.horizon

    def _initial_probabilities(self, num_envs: int) -> torch.Tensor:
        """``[E, H, K]``: uniform, mixed with the shifted previous plan when there is one."""
        uniform = torch.full((num_envs, self.horizon, self.num_actions), 1.0 / self.num_actions, device=self.device)
        if self._plan is None or self._plan.shape[0] != num_envs:
            return uniform
        previous = torch.nn.functional.one_hot(self._plan[:, 1:, 0].long(), self.num_actions).float()
        shifted = torch.cat([previous, uniform[:, :1]], dim=1)
        weight = self.config.warm_start_weight
        return weight * shifted + (1 - weight) * uniform

    def _optimise(self, score_fn: ScoreFn, num_envs: int, proposals: torch.Tensor | None) -> PlanResult:
        refuse_proposals(self, proposals)
        cfg = self.config
        probabilities = self._initial_probabilities(num_envs)
        best_actions = best_score = None
        for _ in range(cfg.iterations):
            flat = probabilities.reshape(-1, self.num_actions)
            indices = torch.multinomial(flat, cfg.num_candidates, replacement=True, generator=self.generator)
            candidates = indices.reshape(num_envs, self.horizon, cfg.num_candidates).permute(0, 2, 1)
            candidates = candidates.unsqueeze(-1).float()  # [E, N, H, 1]
            scores = check_scores(score_fn(candidates), num_envs, cfg.num_candidates)
            top, index = scores.topk(cfg.num_elites, dim=1)
            elites = torch.gather(candidates, 1, index[..., None, None].expand(-1, -1, self.horizon, 1))
            counts = torch.nn.functional.one_hot(elites[..., 0].long(), self.num_actions).float().mean(dim=1)
            probabilities = cfg.momentum * probabilities + (1 - cfg.momentum) * counts
            probabilities = probabilities.clamp_min(cfg.min_probability)
            probabilities = probabilities / probabilities.sum(-1, keepdim=True)
            best_actions, best_score = keep_best(best_actions, best_score, elites[:, 0], top[:, 0])
        return PlanResult(best_actions, best_score, cfg.iterations * cfg.num_candidates)
