"""Fitting forward models: holdout split, bootstrap per member, NLL or MSE, early stopping."""
from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch

from world_models.models import EnsembleDynamics
from world_models.replay import Transitions


@dataclass(frozen=True)
class FitConfig:
    """How to fit a forward model."""

    max_epochs: int = 50
    """Passes over the training split at most."""
    batch_size: int = 256
    learning_rate: float = 1e-3
    weight_decay: float = 1e-5
    holdout_fraction: float = 0.1
    """Share of transitions kept out of training to decide when to stop."""
    max_holdout: int = 5000
    patience: int = 5
    """Epochs without a better holdout error before stopping."""
    bootstrap: bool = True
    """Each member trains on its own resample of the training split (ensemble diversity)."""
    logvar_bound_weight: float = 0.01
    """Pulls PETS' log-variance bounds together so they do not drift apart."""


class FitReport(NamedTuple):
    """What happened while fitting."""

    train_loss: list[float]
    """Per epoch, the training loss (NLL or MSE in normalised units)."""
    holdout_mse: list[float]
    """Per epoch, the holdout MSE of the mean prediction (normalised units)."""
    best_epoch: int
    """Epoch whose weights were kept (0-based)."""


def split_holdout(count: int, config: FitConfig, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random train and holdout row indices (the holdout is empty below 10 transitions)."""
    order = torch.randperm(count, generator=generator)
    holdout = min(int(count * config.holdout_fraction), config.max_holdout) if count >= 10 else 0
    return order[holdout:], order[:holdout]


def _loss(model: EnsembleDynamics, batch: Transitions, weight: float) -> torch.Tensor:
    """Mean NLL (probabilistic) or MSE of normalised targets, members stacked as ``[M, b, ...]``."""
    mean, logvar = model(batch.states, batch.actions)
    target = model.target_norm.normalize(model.targets(batch.states, batch.next_states, batch.rewards))
    if not model.config.learn_reward:  # drop the reward column from the loss
        mean, target = mean[..., :-1], target[..., :-1]
        logvar = None if logvar is None else logvar[..., :-1]
    if logvar is None:
        return ((mean - target) ** 2).mean()
    nll = ((mean - target) ** 2 * torch.exp(-logvar) + logvar).mean()
    return nll + weight * (model.max_logvar.sum() - model.min_logvar.sum())


@torch.no_grad()
def holdout_mse(model: EnsembleDynamics, data: Transitions) -> float:
    """MSE of the members' mean prediction on ``data`` (normalised target units, averaged over members)."""
    members = model.members
    mean, _ = model(data.states.expand(members, -1, -1), data.actions.expand(members, -1, -1))
    target = model.target_norm.normalize(model.targets(data.states, data.next_states, data.rewards))
    return float(((mean - target) ** 2).mean())


def fit(model: EnsembleDynamics, data: Transitions, config: FitConfig = FitConfig(), seed: int = 0,
        optimiser: torch.optim.Optimizer | None = None, on_epoch: Callable[[int], None] | None = None) -> FitReport:
    """Fit ``model`` in place to ``data`` (on the model's device) and keep the best-holdout weights.

    Args:
        model: The ensemble; its normalisers are refit to the training split.
        data: Transitions (any device; moved to the model's).
        config: Epochs, batch size, holdout and early stopping.
        seed: Seeds the split, the bootstrap and the batch order.
        optimiser: Reuse an optimiser across calls (online learning); a fresh Adam otherwise.
        on_epoch: Called with the number of epochs done after each (a progress bar).
    """
    if len(data) < 2:
        raise ValueError(f"need at least 2 transitions to fit a model, got {len(data)}")
    device = next(model.parameters()).device
    data = Transitions(*(x.to(device) for x in data))
    generator = torch.Generator().manual_seed(seed)
    train_rows, holdout_rows = split_holdout(len(data), config, generator)
    train, holdout = data.index(train_rows.to(device)), data.index(holdout_rows.to(device))
    model.fit_normalization(train.states, train.actions, train.next_states, train.rewards)
    optimiser = optimiser or torch.optim.Adam(model.parameters(), lr=config.learning_rate,
                                              weight_decay=config.weight_decay)
    members, count = model.members, len(train)
    rows = (torch.randint(count, (members, count), generator=generator) if config.bootstrap and members > 1
            else torch.arange(count).expand(members, -1)).to(device)
    losses, scores, best, best_state, stale = [], [], float("inf"), None, 0
    for epoch in range(config.max_epochs):
        losses.append(_train_epoch(model, train, rows, optimiser, config, generator))
        scores.append(holdout_mse(model, holdout) if len(holdout) else losses[-1])
        if on_epoch is not None:
            on_epoch(epoch + 1)
        if scores[-1] < best - 1e-6:
            best, best_state, stale = scores[-1], copy.deepcopy(model.state_dict()), 0
        else:
            stale += 1
            if stale >= config.patience:
                break
    model.load_state_dict(best_state)
    return FitReport(losses, scores, scores.index(best))


def _train_epoch(model: EnsembleDynamics, train: Transitions, rows: torch.Tensor, optimiser: torch.optim.Optimizer,
                 config: FitConfig, generator: torch.Generator) -> float:
    """One pass; each member sees its own bootstrap rows ``rows[M, N]`` in its own order."""
    order = torch.argsort(torch.rand(rows.shape, generator=generator), dim=1).to(rows.device)
    shuffled = torch.gather(rows, 1, order)
    total, batches = 0.0, 0
    for start in range(0, shuffled.shape[1], config.batch_size):
        batch = train.index(shuffled[:, start:start + config.batch_size])  # fields [M, b, ...]
        loss = _loss(model, batch, config.logvar_bound_weight)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        # Summed on the device (float64, as Python floats were): no host-device sync per minibatch.
        total, batches = total + loss.detach().double(), batches + 1
    return float(total) / max(batches, 1)
