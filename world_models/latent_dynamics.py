"""An ensemble of latent dynamics for planning that pays for what the model does not know.

A planner that maximises an imagined score over hundreds of sequences finds those where one
deterministic dynamics model errs in its favour: on Push, the plans the search chose were imagined
1.6-3.8 reward units better than they turned out, the scripted expert's within 0.65
(``benchmark.py latent --what blame``, docs/benchmarks.md). Members trained on the same data agree
where the data was and drift apart where it was not (PETS, MOPO, MoDem-v2 use this); planning
steps along their mean and subtracts their spread. The spread is measured in multiples of its
running mean on replayed data (:meth:`LatentDynamicsEnsemble.observe`), so the penalty's weight
reads the same on any latent width: 1 costs one reward unit per step for a plan exactly as
uncertain as the data, and a constant shift never changes which plan wins.

Shapes: inputs ``[B, L + A]``, members' next latents ``[K, B, L]``, spreads ``[B]``.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from world_models.models import EnsembleLinear
from world_models.simplex import simplex_softmax


class LatentDynamicsEnsemble(nn.Module):
    """K next-latent MLPs as batched matmuls, each ending on the latent's product of simplices.

    Args:
        members: K (>= 2; one model is the plain MLP of :class:`~world_models.latent_value.LatentValueModel`).
        in_dim: L + A.
        hidden_dim: Width of both hidden layers.
        latent_dim: L.
        simnorm_dim: Size of each simplex of the latent.
    """

    def __init__(self, members: int, in_dim: int, hidden_dim: int, latent_dim: int, simnorm_dim: int) -> None:
        super().__init__()
        if members < 2:
            raise ValueError(f"a dynamics ensemble needs >= 2 members, got {members}")
        self.members, self.simnorm_dim = members, simnorm_dim
        self.layers = nn.ModuleList([EnsembleLinear(members, in_dim, hidden_dim),
                                     EnsembleLinear(members, hidden_dim, hidden_dim),
                                     EnsembleLinear(members, hidden_dim, latent_dim)])
        # running mean of the members' spread on replayed latents and actions (see observe)
        self.register_buffer("spread", torch.ones(()))
        self.register_buffer("started", torch.zeros((), dtype=torch.bool))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, L + A]`` -> every member's next latent ``[K, B, L]``."""
        h = x.unsqueeze(0).expand(self.members, -1, -1)
        for i, layer in enumerate(self.layers):
            h = layer(h)
            h = F.layer_norm(h.float() if i == len(self.layers) - 1 else h, h.shape[-1:])
            if i < len(self.layers) - 1:
                h = F.silu(h)
        return simplex_softmax(h, self.simnorm_dim)

    @staticmethod
    def disagreement(members: torch.Tensor, mean: torch.Tensor | None = None) -> torch.Tensor:
        """Members' next latents ``[K, B, L]`` (and their ``mean`` ``[B, L]`` where known) -> their spread
        ``[B]``: the variance across members, summed over L (written out: ``Tensor.var`` over the
        first dim costs 2x a member's forward pass on a CPU)."""
        mean = members.mean(0) if mean is None else mean
        return (members - mean).square().sum(-1).mean(0)

    @torch.no_grad()
    def observe(self, members: torch.Tensor, tau: float) -> None:
        """Fold the mean spread of predictions from replayed (encoded) latents into the running mean."""
        spread = self.disagreement(members.detach().float()).mean()
        self.spread.copy_(torch.where(self.started, torch.lerp(self.spread, spread, tau), spread))
        self.started.fill_(True)

    def relative_disagreement(self, members: torch.Tensor, mean: torch.Tensor | None = None) -> torch.Tensor:
        """``[K, B, L]`` -> the spread ``[B]`` in multiples of its running mean on replayed data."""
        return self.disagreement(members, mean) / self.spread.clamp_min(1e-8)
