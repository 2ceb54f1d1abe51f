"""A latent world model with a value: encoder, latent dynamics, reward, Q ensemble and policy prior.

The TD-MPC2 idea (Hansen et al. 2024), written small: observations are encoded to a latent ``z``
on a product of simplices (SimNorm), a deterministic MLP predicts the next latent from ``(z, a)``,
heads predict the reward and an ensemble of Q values, and a squashed-Gaussian policy prior
proposes actions. Nothing decodes back to pixels: the latent only has to predict what matters for
reward and value. Goals (``[B, G]``, possibly ``G = 0``) enter the reward, Q and policy heads, not
the latent, so hindsight relabelling needs no re-encoding. Actions are normalised to ``[-1, 1]``.
Reward and Q heads regress onto a two-hot code over bins in symlog space (:class:`TwoHot`), as
TD-MPC2 does: the cross-entropy loss has the same scale for Pendulum's -16 and a sparse -1, which
keeps their gradients strong enough to shape the latent against the consistency loss.

Shapes: ``z`` ``[B, L]``, actions ``[B, A]``, goals ``[B, G]``, values ``[B]``.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from perception.encoders import make_encoder
from world_models.latent_dynamics import LatentDynamicsEnsemble
from world_models.models import EnsembleLinear
from world_models.observation_coding import IMAGE_PREFIX, ObservationCoding
from world_models.simplex import SimNorm


@dataclass(frozen=True)
class LatentValueConfig:
    """Sizes of the latent value model."""

    latent_dim: int = 64
    """Width L of the latent state; a multiple of ``simnorm_dim``."""
    hidden_dim: int = 256
    """Width of every hidden layer."""
    num_q: int = 5
    """Q functions in the ensemble (targets use the min of two random members)."""
    num_dynamics: int = 1
    """Latent dynamics members: 1 is one MLP; K >= 2 an ensemble whose mean is the step and whose
    spread planning can pay for (:mod:`world_models.latent_dynamics`)."""
    simnorm_dim: int = 8
    """Size of each simplex of the latent (SimNorm groups)."""
    image_encoder: str = "nature"
    """Perception CNN for image entries: ``nature``, ``impala`` or ``keypoints``."""
    image_features: int = 256
    """Width of each image encoder's output."""
    dropout: float = 0.01
    """Dropout in the Q heads' first layer (TD-MPC2's regulariser against over-estimation)."""
    num_bins: int = 101
    """Bins of the two-hot reward and value code over symlog values in [-10, 10]."""
    log_std_min: float = -10.0
    log_std_max: float = 2.0
    goal_offset: bool = False
    """Goal dicts only: a head reads the achieved goal back from the latent, and the reward, Q and
    policy heads see ``goal - achieved(z)`` beside ``z`` and the goal. Most goal tasks pay on a
    threshold of that offset (PointNav: 0.3 m), which MLPs learn blurred from raw positions."""


def mlp(in_dim: int, hidden: list[int], out_dim: int, dropout: float = 0.0) -> nn.Sequential:
    """Linear -> LayerNorm -> SiLU for each hidden width, then a plain linear output.

    TD-MPC2 uses Mish; SiLU has the same smooth shape at a quarter of Mish's CPU cost (measured).
    """
    layers: list[nn.Module] = []
    for i, width in enumerate(hidden):
        layers += [nn.Linear(in_dim, width), *([nn.Dropout(dropout)] if dropout and i == 0 else []),
                   nn.LayerNorm(width), nn.SiLU()]
        in_dim = width
    layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


def symlog(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.log1p(x.abs())


def symexp(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.expm1(x.abs())


class TwoHot(nn.Module):
    """Scalars as two-hot vectors over ``bins`` evenly spaced symlog values; logits back to scalars."""

    def __init__(self, num_bins: int, low: float = -10.0, high: float = 10.0) -> None:
        super().__init__()
        self.register_buffer("bins", torch.linspace(low, high, num_bins))

    def decode(self, logits: torch.Tensor) -> torch.Tensor:
        """``[..., K]`` logits -> ``[...]`` values (the expected bin, back through symexp)."""
        return symexp(torch.softmax(logits.float(), dim=-1) @ self.bins)

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Cross-entropy ``[...]`` of ``[..., K]`` logits against the two-hot code of ``target[...]``."""
        bins = self.bins
        x = symlog(target).clamp(bins[0], bins[-1])
        step = bins[1] - bins[0]
        below = ((x - bins[0]) / step).floor().clamp(0, len(bins) - 2)
        upper_weight = (x - (bins[0] + below * step)) / step
        log_probs = torch.log_softmax(logits.float(), dim=-1)  # float32 even under bfloat16 autocast
        lower = log_probs.gather(-1, below.long().unsqueeze(-1)).squeeze(-1)
        upper = log_probs.gather(-1, below.long().unsqueeze(-1) + 1).squeeze(-1)
        return -((1 - upper_weight) * lower + upper_weight * upper)


def latent_norm(config: LatentValueConfig) -> list[nn.Module]:
    """LayerNorm then SimNorm: unit-scale logits keep each simplex away from uniform (TD-MPC2's NormedLinear)."""
    return [nn.LayerNorm(config.latent_dim), SimNorm(config.simnorm_dim)]


class ObservationEncoder(nn.Module):
    """``{vector [B, V], image:<key> [B, C, H, W] uint8}`` -> ``z`` ``[B, L]`` (perception CNNs for images)."""

    def __init__(self, coding: ObservationCoding, config: LatentValueConfig) -> None:
        super().__init__()
        self.image_keys = list(coding.image_keys)
        self.cnns = nn.ModuleDict({
            str(i): make_encoder(config.image_encoder, shape[0], config.image_features, shape[1:])
            for i, shape in enumerate(coding.image_shapes[k] for k in self.image_keys)})
        features = coding.vector_dim + config.image_features * len(self.image_keys)
        self.head = nn.Sequential(mlp(features, [config.hidden_dim], config.latent_dim), *latent_norm(config))

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        parts = [self.cnns[str(i)](obs[IMAGE_PREFIX + key]) for i, key in enumerate(self.image_keys)]
        if "vector" in obs:
            parts.insert(0, obs["vector"])
        return self.head(torch.cat(parts, dim=-1))


def goal_inputs(achieved: nn.Module | None, z: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
    """``goal`` ``[B, G]``, or ``[goal, goal - achieved(z)]`` ``[B, 2G]`` where an achieved-goal head is given."""
    if achieved is None:
        return goal
    return torch.cat([goal, goal - achieved(z).to(goal.dtype)], dim=-1)


class QEnsemble(nn.Module):
    """M Q functions as batched matmuls: ``[B, in] -> [M, B, out]`` (or only the ``members`` asked for)."""

    def __init__(self, members: int, in_dim: int, hidden_dim: int, dropout: float, out_dim: int) -> None:
        super().__init__()
        self.members = members
        self.layers = nn.ModuleList([EnsembleLinear(members, in_dim, hidden_dim),
                                     EnsembleLinear(members, hidden_dim, hidden_dim),
                                     EnsembleLinear(members, hidden_dim, out_dim)])
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, members: torch.Tensor | None = None) -> torch.Tensor:
        count = self.members if members is None else len(members)
        h = x.unsqueeze(0).expand(count, -1, -1)
        for i, layer in enumerate(self.layers):
            weight, bias = layer.weight, layer.bias
            if members is not None:
                weight, bias = weight[members], bias[members]
            h = torch.baddbmm(bias, h, weight)
            if i < len(self.layers) - 1:
                h = self.dropout(h) if i == 0 else h
                h = F.silu(F.layer_norm(h, h.shape[-1:]))
        return h


class LatentValueModel(nn.Module):
    """Encoder, latent dynamics, reward, Q ensemble (with a slow target copy) and policy prior.

    Args:
        coding: How observations split into model inputs (see :mod:`world_models.observation_coding`).
        action_dim: A, the width of (normalised) actions.
        config: Sizes.
    """

    def __init__(self, coding: ObservationCoding, action_dim: int,
                 config: LatentValueConfig = LatentValueConfig()) -> None:
        super().__init__()
        if config.latent_dim % config.simnorm_dim:
            raise ValueError(f"latent_dim {config.latent_dim} must be a multiple of simnorm_dim {config.simnorm_dim}")
        if config.goal_offset and not coding.goal_dim:
            raise ValueError("goal_offset=True needs a goal-dict observation space (achieved_goal and "
                             f"desired_goal entries); got {coding.space}")
        self.config, self.action_dim, self.goal_dim = config, action_dim, coding.goal_dim
        L, A, H = config.latent_dim, action_dim, config.hidden_dim
        G = coding.goal_dim * (2 if config.goal_offset else 1)  # the goal, and its offset from achieved(z)
        self.encoder = ObservationEncoder(coding, config)
        if config.num_dynamics < 1:
            raise ValueError(f"num_dynamics must be >= 1 (1: one MLP, K >= 2: an ensemble), got {config.num_dynamics}")
        self.dynamics = (LatentDynamicsEnsemble(config.num_dynamics, L + A, H, L, config.simnorm_dim)
                         if config.num_dynamics > 1 else nn.Sequential(mlp(L + A, [H, H], L), *latent_norm(config)))
        # the achieved goal read back from the latent (goal_offset): the heads' offset to the goal
        self.achieved = mlp(L, [H], coding.goal_dim) if config.goal_offset else None
        self.reward = mlp(L + A + G, [H, H], config.num_bins)
        self.policy = mlp(L + G, [H, H], 2 * A)
        self.q = QEnsemble(config.num_q, L + A + G, H, config.dropout, config.num_bins)
        self.two_hot = TwoHot(config.num_bins)
        self.q_target = copy.deepcopy(self.q).requires_grad_(False)
        # privileged state (training only) read back from the latent: a dense signal that teaches a
        # pixel encoder where the small things are long before reward and value do
        self.privileged = mlp(L, [H], coding.privileged_dim) if coding.privileged_dim else None

    def encode(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Observation tensors -> ``z`` ``[B, L]``."""
        return self.encoder(obs)

    def next(self, z: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """The latent one step later ``[B, L]`` (an ensemble's mean: still on the simplices)."""
        return self.next_and_spread(z, action)[0]

    def next_and_spread(self, z: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """:meth:`next`'s latent ``[B, L]`` and the members' spread ``[B]`` in multiples of its mean on
        replayed data (what planning's ``disagreement`` pays for); ``None`` for one MLP."""
        if not isinstance(self.dynamics, LatentDynamicsEnsemble):
            return self.dynamics(torch.cat([z, action], dim=-1)), None
        members = self.next_members(z, action)
        mean = members.mean(0)
        return mean, self.dynamics.relative_disagreement(members, mean)

    def next_members(self, z: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Every dynamics member's next latent ``[K, B, L]`` (``K`` = 1 for one MLP)."""
        x = torch.cat([z, action], dim=-1)
        return self.dynamics(x) if isinstance(self.dynamics, LatentDynamicsEnsemble) else self.dynamics(x).unsqueeze(0)

    def goal_inputs(self, z: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        """What the heads read of the goal: ``goal`` ``[B, G]``, with ``goal_offset`` also
        ``goal - achieved(z)`` (``[B, 2G]``)."""
        return goal_inputs(self.achieved, z, goal)

    def reward_logits(self, z: torch.Tensor, action: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        """Two-hot logits ``[B, K]`` of the reward of taking ``action`` in ``z`` towards ``goal``."""
        return self.reward(torch.cat([z, action, self.goal_inputs(z, goal)], dim=-1))

    def rewards(self, z: torch.Tensor, action: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        """Predicted reward ``[B]``."""
        return self.two_hot.decode(self.reward_logits(z, action, goal))

    def q_logits(self, z: torch.Tensor, action: torch.Tensor, goal: torch.Tensor, target: bool = False,
                 members: torch.Tensor | None = None) -> torch.Tensor:
        """Two-hot logits ``[M, B, K]`` of every member, or of ``members`` only (``target``: the slow copy)."""
        return (self.q_target if target else self.q)(torch.cat([z, action, self.goal_inputs(z, goal)], dim=-1),
                                                     members)

    def qs(self, z: torch.Tensor, action: torch.Tensor, goal: torch.Tensor, target: bool = False,
           members: torch.Tensor | None = None) -> torch.Tensor:
        """Q values ``[M, B]`` of every member, or of ``members`` only."""
        return self.two_hot.decode(self.q_logits(z, action, goal, target, members))

    def q_pair(self, z: torch.Tensor, action: torch.Tensor, goal: torch.Tensor, generator: torch.Generator,
               target: bool = False) -> torch.Tensor:
        """Two random members' Q values ``[2, B]`` (min for TD targets, mean for the policy and planning)."""
        members = torch.randperm(self.config.num_q, generator=generator, device=generator.device)[:2].to(z.device)
        return self.qs(z, action, goal, target, members)

    def pi(self, z: torch.Tensor, goal: torch.Tensor, generator: torch.Generator | None = None,
           deterministic: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """A squashed-Gaussian action ``[B, A]`` in [-1, 1] and its log-probability ``[B]``."""
        mean, log_std = self._policy_head(z, goal)
        if deterministic:
            return torch.tanh(mean), torch.zeros(mean.shape[0], device=mean.device)
        return self._squashed_sample(mean, log_std, generator)

    def pi_and_mode(self, z: torch.Tensor, goal: torch.Tensor, generator: torch.Generator | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:meth:`pi`'s sample and log-probability plus its deterministic action ``[B, A]``, from one pass."""
        mean, log_std = self._policy_head(z, goal)
        return (*self._squashed_sample(mean, log_std, generator), torch.tanh(mean))

    def _policy_head(self, z: torch.Tensor, goal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pre-squash mean and unbounded log-std, ``[B, A]`` each."""
        mean, log_std = self.policy(torch.cat([z, self.goal_inputs(z, goal)], dim=-1)).float().chunk(2, dim=-1)
        return mean, log_std

    def _squashed_sample(self, mean: torch.Tensor, log_std: torch.Tensor,
                         generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.config
        log_std = c.log_std_min + 0.5 * (c.log_std_max - c.log_std_min) * (torch.tanh(log_std) + 1)
        noise = torch.randn(mean.shape, generator=generator, device=mean.device)
        raw = mean + noise * log_std.exp()
        log_prob = (-0.5 * noise.pow(2) - log_std - 0.5 * torch.log(torch.tensor(2 * torch.pi))).sum(-1)
        action = torch.tanh(raw)
        log_prob = log_prob - torch.log((1 - action.pow(2)).clamp_min(1e-6)).sum(-1)
        return action, log_prob

    @torch.no_grad()
    def update_target(self, tau: float) -> None:
        """Polyak-average the Q ensemble into its target copy (``tau``: weight of the new values)."""
        for target, online in zip(self.q_target.parameters(), self.q.parameters(), strict=True):
            target.lerp_(online, tau)


class PriorPolicy(nn.Module):
    """Observation (a tensor, or a dict of tensors with the env's keys) -> the prior's action ``[B, A]``.

    The deterministic policy prior with the encoder in front and the action bounds behind: what a
    robot runs when it cannot afford planning (ONNX export, ``act="prior"``).
    """

    def __init__(self, coding: ObservationCoding, model: LatentValueModel, low: torch.Tensor,
                 high: torch.Tensor) -> None:
        super().__init__()
        self.coding = coding
        self.encoder, self.policy = copy.deepcopy(model.encoder), copy.deepcopy(model.policy)
        self.achieved = copy.deepcopy(model.achieved)
        self.register_buffer("low", torch.as_tensor(low, dtype=torch.float32).reshape(-1))
        self.register_buffer("high", torch.as_tensor(high, dtype=torch.float32).reshape(-1))

    def forward(self, obs: torch.Tensor | dict[str, torch.Tensor]) -> torch.Tensor:
        inputs = self.coding.from_tensors(obs)
        z = self.encoder(inputs)
        goal = inputs.get("goal", z.new_zeros(z.shape[0], 0))
        mean = self.policy(torch.cat([z, goal_inputs(self.achieved, z, goal)], dim=-1)).chunk(2, dim=-1)[0]
        return self.low + (torch.tanh(mean) + 1) * (self.high - self.low) / 2
