"""Forward models over flat states: a deterministic MLP and a probabilistic ensemble (PETS).

One class covers both: ``EnsembleDynamics`` with ``ensemble_size=1, probabilistic=False`` is the
deterministic MLP. Members predict the normalised state change and reward from the normalised
``(state, action)``; probabilistic members also predict a bounded log-variance (PETS' soft bounds).

Every planner reaches a model through :meth:`EnsembleDynamics.rollout`:
``rollout(start_states[B, S], actions[B, H, A]) -> Rollout(states[B, H, S], rewards[B, H],
disagreement[B, H])``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from foresight_base import tensor_file
from foresight_base.checks import check_choice
from world_models.state_coding import StateCoding

PROPAGATIONS = ("fixed", "mean")


@dataclass(frozen=True)
class ModelConfig:
    """Sizes and kind of an ensemble forward model."""

    ensemble_size: int = 5
    """Members M, each with its own weights and bootstrap sample (1 with probabilistic=False: plain MLP)."""
    hidden_size: int = 200
    num_layers: int = 3
    """Hidden layers per member."""
    probabilistic: bool = True
    """Gaussian heads trained with NLL (PETS) instead of a mean trained with MSE."""
    learn_reward: bool = True
    """Also fit the reward output (needed where the env has no batched ``compute_reward``); if False
    the reward output is left untrained and rollouts report zero rewards."""
    euler_dims: tuple[int, ...] = ()
    """Start index of each ``(roll, pitch, yaw)`` triple in the state: the model sees and predicts
    them as continuous rotation features (:mod:`world_models.state_coding`), not as wrapping angles."""
    std_floor: float = 1e-6
    """Smallest per-dimension std the normalisers divide by, in the state's own units. A dim that
    only jitters (micrometres of contact noise) would otherwise be blown up to unit variance and
    weigh like a real signal; 1e-3 (1 mm, 1 mrad, 1 mm/s for SI states) is a sensor's resolution."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "euler_dims", tuple(int(d) for d in self.euler_dims))  # JSON gives lists
        if not self.std_floor > 0:
            raise ValueError(f"std_floor must be > 0, got {self.std_floor}")


class Rollout(NamedTuple):
    """Predicted open-loop trajectory."""

    states: torch.Tensor
    """``[B, H, S]`` states after each action."""
    rewards: torch.Tensor
    """``[B, H]`` predicted rewards (zeros if the model learns none)."""
    disagreement: torch.Tensor
    """``[B, H]`` std across members of the predicted next state (normalised units, mean over dims);
    zeros unless ``propagation="mean"``."""


class Normalizer(nn.Module):
    """Per-dimension standardisation with statistics stored as buffers (saved with the model)."""

    def __init__(self, dim: int, std_floor: float = 1e-6) -> None:
        super().__init__()
        self.std_floor = std_floor
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def fit(self, data: torch.Tensor) -> None:
        self.mean.copy_(data.mean(dim=0))
        self.std.copy_(floored_std(data, self.std_floor) if data.shape[0] > 1 else torch.ones_like(self.std))

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.std + self.mean


def floored_std(data: torch.Tensor, floor: float) -> torch.Tensor:
    """Per-column std ``[D]`` of ``data[N, D]``, never below ``floor`` (see ``ModelConfig.std_floor``)."""
    return data.std(dim=0).clamp_min(floor)


class EnsembleLinear(nn.Module):
    """M independent linear layers applied as one batched matmul: ``[M, B, in] -> [M, B, out]``."""

    def __init__(self, members: int, in_features: int, out_features: int) -> None:
        super().__init__()
        bound = 1 / in_features ** 0.5
        self.weight = nn.Parameter(torch.empty(members, in_features, out_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.zeros(members, 1, out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class EnsembleDynamics(nn.Module):
    """Ensemble of MLPs predicting ``(next_state - state, reward)`` with optional Gaussian heads.

    Args:
        state_dim: S.
        action_dim: A.
        config: Sizes and kind.
    """

    def __init__(self, state_dim: int, action_dim: int, config: ModelConfig = ModelConfig()) -> None:
        super().__init__()
        if config.ensemble_size < 1 or config.num_layers < 1 or config.hidden_size < 1:
            raise ValueError(f"ensemble_size, num_layers and hidden_size must be >= 1, got {config}")
        self.state_dim, self.action_dim, self.config = state_dim, action_dim, config
        self.members = config.ensemble_size
        self.coding = StateCoding(state_dim, config.euler_dims)
        self.out_dim = self.coding.feature_dim + 1
        sizes = [self.coding.feature_dim + action_dim] + [config.hidden_size] * config.num_layers
        self.hidden = nn.ModuleList(EnsembleLinear(self.members, i, o) for i, o in pairwise(sizes))
        heads = 2 if config.probabilistic else 1
        self.head = EnsembleLinear(self.members, config.hidden_size, heads * self.out_dim)
        self.max_logvar = nn.Parameter(torch.full((self.out_dim,), 0.5))
        self.min_logvar = nn.Parameter(torch.full((self.out_dim,), -10.0))
        self.input_norm = Normalizer(self.coding.feature_dim + action_dim, config.std_floor)
        self.target_norm = Normalizer(self.out_dim, config.std_floor)

    def extra_config(self) -> dict:
        """Everything needed to rebuild this model (JSON-ready)."""
        return {"state_dim": self.state_dim, "action_dim": self.action_dim, "config": asdict(self.config)}

    def fit_normalization(self, states: torch.Tensor, actions: torch.Tensor, next_states: torch.Tensor,
                          rewards: torch.Tensor) -> None:
        """Set input and target statistics from training data ``[N, ...]``."""
        self.input_norm.fit(torch.cat([self.coding.features(states), actions], dim=-1))
        self.target_norm.fit(self.targets(states, next_states, rewards))

    def targets(self, states: torch.Tensor, next_states: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
        """Raw training targets ``[N, F + 1]``: the change of the state's features and the reward."""
        return torch.cat([self.coding.delta(states, next_states), rewards.unsqueeze(-1)], dim=-1)

    def forward(self, states: torch.Tensor, actions: torch.Tensor, with_variance: bool = True
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Normalised target mean and log-variance ``[M, B, F + 1]`` from raw ``[M, B, S]``, ``[M, B, A]``.

        ``with_variance=False`` skips the variance head's bounds (planning without sampling)."""
        x = self.input_norm.normalize(torch.cat([self.coding.features(states), actions], dim=-1))
        for layer in self.hidden:
            x = F.silu(layer(x))
        out = self.head(x)
        if not self.config.probabilistic:
            return out, None
        mean, logvar = out.chunk(2, dim=-1)
        if not with_variance:
            return mean, None
        logvar = self.max_logvar - F.softplus(self.max_logvar - logvar)  # PETS' soft bounds
        logvar = self.min_logvar + F.softplus(logvar - self.min_logvar)
        return mean, logvar

    def _spread(self, x: torch.Tensor, propagation: str) -> torch.Tensor:
        """``[B, D] -> [M, B', D]``: row b to member b % M ("fixed") or every row to every member ("mean")."""
        if propagation == "mean":
            return x.unsqueeze(0).expand(self.members, -1, -1)
        return x.reshape(-1, self.members, x.shape[-1]).transpose(0, 1)

    def _gather(self, y: torch.Tensor, propagation: str) -> torch.Tensor:
        """Inverse of :meth:`_spread` for outputs; "mean" averages the members."""
        if propagation == "mean":
            return y.mean(dim=0)
        return y.transpose(0, 1).reshape(-1, y.shape[-1])

    def step(self, states: torch.Tensor, actions: torch.Tensor, propagation: str = "fixed",
             sample: bool = False, generator: torch.Generator | None = None
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One predicted step from ``[B, S]``, ``[B, A]``: next states ``[B, S]``, rewards ``[B]``, disagreement
        ``[B]``.

        ``fixed`` sends row b to member b % M (PETS' TS-inf when rows are particles; B must be a
        multiple of M); ``mean`` runs every member on every row and averages (M times the cost).
        ``sample`` draws from the Gaussian heads instead of taking their means.
        """
        check_choice("propagation", propagation, PROPAGATIONS)
        if propagation == "fixed" and states.shape[0] % self.members:
            raise ValueError(f"propagation='fixed' needs a batch that is a multiple of the ensemble size "
                             f"{self.members}, got {states.shape[0]}")
        mean, logvar = self(self._spread(states, propagation), self._spread(actions, propagation), with_variance=sample)
        if sample and logvar is not None:
            noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
            mean = mean + noise * (0.5 * logvar).exp()
        disagreement = mean[..., :-1].std(dim=0).mean(-1) if propagation == "mean" and self.members > 1 \
            else torch.zeros(states.shape[0], device=states.device)
        delta = self.target_norm.denormalize(self._gather(mean, propagation))
        rewards = delta[:, -1] if self.config.learn_reward else torch.zeros_like(delta[:, -1])
        return self.coding.apply(states, delta[:, :-1]), rewards, disagreement

    def rollout(self, start_states: torch.Tensor, actions: torch.Tensor, propagation: str = "fixed",
                sample: bool = False, generator: torch.Generator | None = None) -> Rollout:
        """Open-loop prediction of ``H`` steps from ``start_states[B, S]`` under ``actions[B, H, A]``."""
        if propagation == "fixed" and not sample and start_states.shape[0] % self.members == 0:
            return self._fixed_mean_rollout(start_states, actions)
        states, rewards, disagreement = [], [], []
        state = start_states
        for t in range(actions.shape[1]):
            state, reward, spread = self.step(state, actions[:, t], propagation, sample, generator)
            states.append(state)
            rewards.append(reward)
            disagreement.append(spread)
        return Rollout(torch.stack(states, 1), torch.stack(rewards, 1), torch.stack(disagreement, 1))

    def _fixed_mean_rollout(self, start_states: torch.Tensor, actions: torch.Tensor) -> Rollout:
        """The planner's hot path (``fixed``, no sampling): what :meth:`step` computes H times, with less work.

        Rows stay member-major ``[M, B / M, ...]`` for all H steps (no spread and gather per step);
        the input normalisation is folded into the first layer and the target de-normalisation into
        the mean head; the actions' share of the first layer is one matmul for all H steps."""
        members, rows, horizon = self.members, start_states.shape[0], actions.shape[1]
        features = self.coding.feature_dim
        first, *rest = self.hidden
        # x_norm @ W + b with x_norm = (x - mean) / std  ==  x @ (W / std) + (b - (mean / std) @ W)
        scale = 1 / self.input_norm.std
        weight = first.weight * scale[:, None]
        bias = first.bias - ((self.input_norm.mean * scale) @ first.weight).unsqueeze(1)
        # mean head followed by y * std + mean  ==  h @ (W * std) + (b * std + mean)
        head_weight = self.head.weight[..., :self.out_dim] * self.target_norm.std
        head_bias = self.head.bias[..., :self.out_dim] * self.target_norm.std + self.target_norm.mean
        state = self._spread(start_states, "fixed").contiguous()  # [M, B/M, S]
        acts = self._spread(actions.reshape(rows, -1), "fixed").reshape(members, -1, actions.shape[-1])
        action_part = torch.baddbmm(bias, acts, weight[:, features:]).reshape(members, rows // members, horizon, -1)
        states, rewards = [], []
        for t in range(horizon):
            state_features = self.coding.features(state)
            x = F.silu(torch.baddbmm(action_part[:, :, t], state_features, weight[:, :features]))
            for layer in rest:
                x = F.silu(layer(x))
            delta = torch.baddbmm(head_bias, x, head_weight)
            state = self.coding.apply(state, delta[..., :-1], state_features)
            states.append(state)
            rewards.append(delta[..., -1])
        states = self._gather(torch.stack(states, 2).flatten(2), "fixed").reshape(rows, horizon, -1)
        rewards = self._gather(torch.stack(rewards, 2), "fixed")
        if not self.config.learn_reward:
            rewards = torch.zeros_like(rewards)
        return Rollout(states, rewards, torch.zeros_like(rewards))


def build_model(state_dim: int, action_dim: int, config: dict) -> EnsembleDynamics:
    """Rebuild a model from :meth:`EnsembleDynamics.extra_config`-style fields (checkpoint loading)."""
    return EnsembleDynamics(state_dim, action_dim, ModelConfig(**config))


MODEL_FORMAT = "foresight.ensemble_dynamics/1"


def save_model(path: str, model: EnsembleDynamics, extra: dict[str, str] | None = None) -> None:
    """Weights plus rebuild data in one digest-checked file (:mod:`foresight_base.tensor_file`, written
    atomically); ``extra`` holds strings."""
    tensor_file.save({"format": MODEL_FORMAT, "model": model.state_dict(), "state_dim": model.state_dim,
                      "action_dim": model.action_dim, "config": asdict(model.config), **(extra or {})}, path)


def load_model(path: str, device: str | torch.device = "cpu") -> tuple[EnsembleDynamics, dict]:
    """The model saved by :func:`save_model` and the whole checkpoint dict (for ``extra`` entries).

    Raises:
        foresight_base.tensor_file.TensorFileError: the file is missing, damaged or would run code.
    """
    checkpoint = tensor_file.load(path)
    found = checkpoint.get("format") if isinstance(checkpoint, dict) else type(checkpoint).__name__
    if found != MODEL_FORMAT:
        raise ValueError(f"{path} is not a world-model checkpoint (format {found!r}, expected {MODEL_FORMAT!r})")
    model = build_model(checkpoint["state_dim"], checkpoint["action_dim"], checkpoint["config"])
    model.load_state_dict(checkpoint["model"])
    return model.to(device), checkpoint
