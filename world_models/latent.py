"""Latent dynamics for pixel observations (a small RSSM, as in PlaNet/Dreamer).

An encoder turns frames into embeddings; a recurrent state-space model keeps a deterministic state
``h`` (GRU) and a stochastic state ``z`` (diagonal Gaussian): the prior ``p(z | h)`` imagines, the
posterior ``q(z | h, embedding)`` filters real frames. A decoder reconstructs frames and a head
predicts rewards from ``(h, z)``. Trained on sequences with reconstruction + reward + KL (free nats).

The latent state ``s = concat(h, z)`` ``[B, Dh + Dz]`` is what planners roll forward, through the same
``rollout(start_states[B, S], actions[B, H, A])`` as the state models, so
:func:`world_models.scoring.model_score_fn` works unchanged.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from perception.augment import to_float
from world_models.models import Rollout

LATENT_FORMAT = "foresight.latent_dynamics/2"
"""Version 2: frames drawn over the last real one (``LatentConfig.composite``), the config saved."""


@dataclass(frozen=True)
class LatentConfig:
    """Sizes of the latent model."""

    deterministic_size: int = 200
    """Dh, GRU state."""
    stochastic_size: int = 30
    """Dz, Gaussian latent."""
    hidden_size: int = 200
    min_std: float = 0.1
    free_nats: float = 3.0
    """KL below this many nats is not penalised (keeps the posterior informative early on)."""
    kl_weight: float = 1.0
    decoder_depth: int = 32
    """Channels of the decoder's last transposed conv (x2, x4 before it)."""
    open_loop_weight: float = 1.0
    """Weight of the open-loop loss: from the filtered state a third into each training sequence,
    imagine the rest with the prior and score those frames, as the report and planners use the
    model (reconstruction alone trains the posterior; the prior catches up slowly)."""
    composite: bool = True
    """Draw each frame over the last real one: the decoder gives colours and a mask, and a pixel
    is ``mask * colour + (1 - mask) * anchor``. A static background is then copied, not
    re-learnt, and an untrained model starts at "copy the last frame" (Finn et al. 2016's
    compositing, as in SV2P). False: the decoder draws whole frames."""
    mask_bias: float = -5.0
    """Offset of the mask's logit: at -5 an untrained decoder covers under 1% of each pixel, so
    training starts at about "copy the last frame" (not a grey image) and opens the mask only where
    things move (-3 left a background haze that lost to copy-last at k = 1)."""


class LatentLoss(NamedTuple):
    total: torch.Tensor
    reconstruction: torch.Tensor
    reward: torch.Tensor
    kl: torch.Tensor
    open_loop: torch.Tensor


class ConvDecoder(nn.Module):
    """``features[B, F] -> frames[B, C, H, W]``: 4x4 seed, transposed convs doubling the size until it
    covers H x W, then a resize. Outputs are about [0, 1] but unbounded, so gradients never saturate."""

    def __init__(self, features: int, channels: int, height: int, width: int, depth: int = 32) -> None:
        super().__init__()
        self.size = (height, width)
        ups = max(1, math.ceil(math.log2(max(height, width) / 4)))
        widths = [depth * 2 ** i for i in reversed(range(ups))] + [channels]  # e.g. 128, 64, 32, C
        self.seed_shape = (widths[0], 4, 4)
        self.project = nn.Linear(features, widths[0] * 16)
        layers: list[nn.Module] = []
        for inputs, outputs in pairwise(widths):
            layers += [nn.ConvTranspose2d(inputs, outputs, 4, stride=2, padding=1), nn.ReLU()]
        self.net = nn.Sequential(*layers[:-1])  # no activation after the last layer

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = self.net(self.project(features).reshape(-1, *self.seed_shape))
        if tuple(x.shape[-2:]) != self.size:
            x = F.interpolate(x, size=self.size, mode="bilinear", align_corners=False)
        return x + 0.5


class LatentDynamics(nn.Module):
    """RSSM over pixels with a pluggable encoder.

    Args:
        encoder: ``frames[B, C, H, W] (float in [0, 1]) -> embedding[B, E]``, e.g. a CNN from ``perception``.
        embedding_size: E.
        frame_shape: ``(C, H, W)`` of the frames.
        action_dim: A.
        config: Latent sizes and loss weights.
    """

    members = 1  # planners treat it like a one-member ensemble

    def __init__(self, encoder: nn.Module, embedding_size: int, frame_shape: tuple[int, int, int], action_dim: int,
                 config: LatentConfig = LatentConfig()) -> None:
        super().__init__()
        self.config, self.action_dim, self.frame_shape = config, action_dim, tuple(frame_shape)
        dh, dz, hidden = config.deterministic_size, config.stochastic_size, config.hidden_size
        self.state_dim = dh + dz
        self.encoder = encoder
        self.cell = nn.GRUCell(hidden, dh)
        self.pre_cell = nn.Sequential(nn.Linear(dz + action_dim, hidden), nn.ELU())
        self.prior_net = nn.Sequential(nn.Linear(dh, hidden), nn.ELU(), nn.Linear(hidden, 2 * dz))
        self.posterior_net = nn.Sequential(nn.Linear(dh + embedding_size, hidden), nn.ELU(), nn.Linear(hidden, 2 * dz))
        channels, height, width = frame_shape
        self.decoder = ConvDecoder(self.state_dim, channels + int(config.composite), height, width,
                                   config.decoder_depth)
        self.reward_head = nn.Sequential(nn.Linear(self.state_dim, hidden), nn.ELU(), nn.Linear(hidden, 1))

    def _gaussian(self, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, std = params.chunk(2, dim=-1)
        return mean, F.softplus(std) + self.config.min_std

    def initial(self, batch: int, device: torch.device) -> torch.Tensor:
        return torch.zeros(batch, self.state_dim, device=device)

    def _advance(self, state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Deterministic part of a step: ``h' = GRU(h, [z, a])``."""
        h, z = state.split([self.config.deterministic_size, self.config.stochastic_size], dim=-1)
        return self.cell(self.pre_cell(torch.cat([z, action], dim=-1)), h)

    def imagine_step(self, state: torch.Tensor, action: torch.Tensor, sample: bool = False,
                     generator: torch.Generator | None = None) -> torch.Tensor:
        """Prior step ``[B, S], [B, A] -> [B, S]`` (the prior mean unless ``sample``)."""
        h = self._advance(state, action)
        mean, std = self._gaussian(self.prior_net(h))
        z = mean + std * torch.randn(mean.shape, generator=generator, device=mean.device) if sample else mean
        return torch.cat([h, z], dim=-1)

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        """``uint8 or float [B, T, C, H, W] -> [B, T, E]``."""
        batch, steps = frames.shape[:2]
        return self.encoder(to_float(frames.flatten(0, 1)).float()).reshape(batch, steps, -1)

    def observe(self, frames: torch.Tensor, actions: torch.Tensor
                ) -> tuple[torch.Tensor, list[tuple[torch.Tensor, ...]]]:
        """Filter real frames ``[B, T, C, H, W]`` after actions ``[B, T, A]`` (``actions[:, t]`` led to frame t;
        ``actions[:, 0]`` is ignored). Returns posterior states ``[B, T, S]`` and per-step
        (prior mean, prior std, posterior mean, posterior std) for the KL."""
        embeddings = self.embed(frames)
        state, states, stats = self.initial(frames.shape[0], frames.device), [], []
        dh = self.config.deterministic_size
        for t in range(frames.shape[1]):
            h = self._advance(state, actions[:, t]) if t else state[:, :dh]
            prior = self._gaussian(self.prior_net(h))
            posterior = self._gaussian(self.posterior_net(torch.cat([h, embeddings[:, t]], dim=-1)))
            z = posterior[0] + posterior[1] * torch.randn_like(posterior[0])
            state = torch.cat([h, z], dim=-1)
            states.append(state)
            stats.append((*prior, *posterior))
        return torch.stack(states, 1), stats

    def decode(self, states: torch.Tensor, anchor: torch.Tensor) -> torch.Tensor:
        """Frames ``[N, C, H, W]`` in [0, 1] (about) of latent states ``[N, S]``, drawn over ``anchor[N, C, H, W]``
        (the last real frame; used when ``config.composite``)."""
        drawn = self.decoder(states)
        if not self.config.composite:
            return drawn
        mask = torch.sigmoid(drawn[:, -1:] - 0.5 + self.config.mask_bias)
        return mask * drawn[:, :-1] + (1 - mask) * anchor

    def loss(self, frames: torch.Tensor, actions: torch.Tensor, rewards: torch.Tensor) -> LatentLoss:
        """Sequence loss on ``frames[B, T, C, H, W]``, ``actions[B, T, A]``, ``rewards[B, T]`` (reward t
        follows action t).

        Frames are drawn over the sequence's first frame, as predictions are drawn over the last
        frame seen before imagining."""
        states, stats = self.observe(frames, actions)
        target = to_float(frames)
        anchor = target[:, :1].expand_as(target).flatten(0, 1)
        reconstruction = self.decode(states.flatten(0, 1), anchor).reshape(target.shape)
        recon_loss = ((reconstruction - target) ** 2).sum(dim=(-1, -2, -3)).mean()
        reward_loss = ((self.reward_head(states[:, 1:]).squeeze(-1) - rewards[:, 1:]) ** 2).mean()
        kl = torch.stack([_kl(pm, ps, qm, qs) for pm, ps, qm, qs in stats[1:]], 1)  # [B, T-1]
        kl_loss = kl.mean().clamp_min(self.config.free_nats)
        open_loop = self._open_loop_loss(states, actions, target) if self.config.open_loop_weight else recon_loss * 0
        total = recon_loss + reward_loss + self.config.kl_weight * kl_loss + self.config.open_loop_weight * open_loop
        return LatentLoss(total, recon_loss, reward_loss, kl.mean(), open_loop)

    def _open_loop_loss(self, states: torch.Tensor, actions: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Squared error (summed per frame) of frames imagined from a third into the sequence, drawn
        over the last filtered frame, as :meth:`predict_frames` makes them."""
        steps = target.shape[1]
        context = max(1, steps // 3)
        if context >= steps:
            return target.new_zeros(())
        imagined = self.rollout(states[:, context - 1], actions[:, context:]).states  # [B, T - c, S]
        anchor = target[:, context - 1:context].expand(-1, steps - context, -1, -1, -1)
        predicted = self.decode(imagined.flatten(0, 1), anchor.flatten(0, 1)).reshape(anchor.shape)
        return ((predicted - target[:, context:]) ** 2).sum(dim=(-1, -2, -3)).mean()

    def rollout(self, start_states: torch.Tensor, actions: torch.Tensor, propagation: str = "fixed",
                sample: bool = False, generator: torch.Generator | None = None) -> Rollout:
        """Imagine ``H`` steps from latent states ``[B, S]`` under ``actions[B, H, A]`` (``propagation`` is ignored)."""
        states, state = [], start_states
        for t in range(actions.shape[1]):
            state = self.imagine_step(state, actions[:, t], sample, generator)
            states.append(state)
        trajectory = torch.stack(states, 1)
        rewards = self.reward_head(trajectory).squeeze(-1)
        return Rollout(trajectory, rewards, torch.zeros_like(rewards))

    @torch.no_grad()
    def predict_frames(self, frames: torch.Tensor, actions: torch.Tensor, context: int) -> torch.Tensor:
        """Filter the first ``context`` frames, then imagine the rest open loop: predicted frames
        ``[B, T - context, C, H, W]``."""
        states, _ = self.observe(frames[:, :context], actions[:, :context])
        imagined = self.rollout(states[:, -1], actions[:, context:]).states
        anchor = to_float(frames[:, context - 1:context]).expand(-1, imagined.shape[1], -1, -1, -1)
        return self.decode(imagined.flatten(0, 1), anchor.flatten(0, 1)).reshape(frames.shape[0], -1, *self.frame_shape)


def _kl(prior_mean: torch.Tensor, prior_std: torch.Tensor, post_mean: torch.Tensor,
        post_std: torch.Tensor) -> torch.Tensor:
    """KL(q || p) of diagonal Gaussians, summed over latent dims: ``[B]``."""
    var_ratio = (post_std / prior_std) ** 2
    return 0.5 * (var_ratio + ((post_mean - prior_mean) / prior_std) ** 2 - 1 - var_ratio.log()).sum(-1)


def frame_strip(real: torch.Tensor, predicted: torch.Tensor) -> torch.Tensor:
    """One image ``[2H, T W, C]`` uint8: real frames on top, predictions below (``[T, C, H, W]`` each, [0, 1] or
    uint8)."""
    rows = []
    for frames in (real, predicted):
        frames = to_float(frames)
        rows.append(torch.cat(list(frames.clamp(0, 1)), dim=-1))  # [C, H, T W]
    return (torch.cat(rows, dim=-2).permute(1, 2, 0) * 255).round().to(torch.uint8)


class Sequences(NamedTuple):
    """Training sequences: ``frames[N, T, C, H, W]`` uint8, ``actions[N, T, A]``, ``rewards[N, T]``.

    Step t holds the frame after ``actions[:, t]`` and the reward it earned; step 0's action and
    reward are padding (the reset frame)."""

    frames: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor


def sequences_from_episodes(frames: list[torch.Tensor], actions: list[torch.Tensor], rewards: list[torch.Tensor],
                            length: int, stride: int | None = None) -> Sequences:
    """Cut every episode (``frames[T+1, C, H, W]``, ``actions[T, A]``, ``rewards[T]``) into windows of
    ``length`` frames starting every ``stride`` frames (default ``length``: non-overlapping)."""
    stride = stride or length
    if stride < 1:
        raise ValueError(f"stride must be >= 1 frame, got {stride}")
    out: list[list[torch.Tensor]] = [[], [], []]
    for f, a, r in zip(frames, actions, rewards, strict=True):
        a = torch.cat([torch.zeros_like(a[:1]), a.float()])  # align: step t = frame after action t
        r = torch.cat([torch.zeros(1), r.float()])
        for start in range(0, f.shape[0] - length + 1, stride):
            for bucket, x in zip(out, (f, a, r), strict=False):
                bucket.append(x[start:start + length])
    if not out[0]:
        raise ValueError(f"no episode has {length} frames; collect longer episodes or shorten the sequences")
    return Sequences(*(torch.stack(bucket) for bucket in out))


def train_latent(model: LatentDynamics, data: Sequences, steps: int, batch_size: int = 16,
                 learning_rate: float = 1e-3, seed: int = 0) -> list[float]:
    """Adam on random minibatches of sequences for ``steps`` updates; returns the loss per update."""
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
    return [latent_update(model, optimiser, data, batch_size, generator) for _ in range(steps)]


def latent_update(model: LatentDynamics, optimiser: torch.optim.Optimizer, data: Sequences, batch_size: int,
                  generator: torch.Generator) -> float:
    """One Adam step on ``batch_size`` random sequences of ``data`` (gradients clipped at norm 100); the loss."""
    rows = torch.randint(data.frames.shape[0], (batch_size,), generator=generator)
    device = next(model.parameters()).device
    loss = model.loss(*(x[rows].to(device) for x in data)).total
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 100.0)
    optimiser.step()
    return float(loss.detach())
