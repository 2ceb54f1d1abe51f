"""Planners that optimise action sequences against a scoring function.

A planner never sees a model or an environment: it sees ``score_fn(actions[E, N, H, A]) -> [E, N]``,
the (discounted) return of N candidate action sequences of horizon H for each of E environments.
The same planner therefore runs on a quadratic (tests), a learned model, a batched torch world and
a PyBullet env used as its own model (see :mod:`world_models.scoring`).

All planners keep a per-environment plan ``[E, H, A]`` between calls and warm start from it shifted
by one step (model-predictive control); :meth:`Planner.reset` forgets it, e.g. at episode start.

Example:
    >>> import torch
    >>> target = torch.tensor([0.3, -0.2])
    >>> score = lambda a: -((a - target) ** 2).sum(dim=(-1, -2))
    >>> planner = CEMPlanner(-torch.ones(2), torch.ones(2), CEMConfig(horizon=3), seed=0)
    >>> plan = planner.plan(score)
    >>> bool(torch.allclose(plan.actions[0, 0], target, atol=0.05))
    True
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch

from foresight_base.checks import check_choice, check_keys
from foresight_base.devices import resolve_device

ScoreFn = Callable[[torch.Tensor], torch.Tensor]
"""Maps candidate action sequences ``[E, N, H, A]`` to their returns ``[E, N]`` (higher is better)."""


class PlanResult(NamedTuple):
    """Outcome of one planning call."""

    actions: torch.Tensor
    """Best action sequence per environment, ``[E, H, A]``, within the action bounds."""
    score: torch.Tensor
    """Score of that sequence, ``[E]``."""
    evaluations: int
    """Action sequences scored in this call (per environment)."""
    std: torch.Tensor | None = None
    """Spread of the final sampling distribution ``[E, H, A]`` where the planner keeps one (MPPI):
    how unsure the search still is, which TD-MPC2 uses as exploration noise."""
    warm_start: torch.Tensor | None = None
    """What the next call starts from, ``[E, H, A]`` (``None``: ``actions``)."""


@dataclass(frozen=True)
class CEMConfig:
    """Cross-entropy method (PETS/iCEM flavour: elites refit a diagonal Gaussian)."""

    horizon: int = 15
    """Steps per action sequence."""
    num_candidates: int = 500
    """Sequences sampled per iteration."""
    num_elites: int = 50
    """Best sequences that refit the sampling distribution."""
    iterations: int = 5
    """Refits per planning call."""
    init_std: float = 0.5
    """Initial standard deviation as a fraction of the action range."""
    min_std: float = 0.05
    """Floor on the standard deviation (fraction of the action range) so search never collapses."""
    momentum: float = 0.1
    """Weight of the old distribution when refitting (0: elites only)."""
    keep_elites: bool = True
    """Carry the previous iteration's elites into the next population (iCEM), so scores never regress."""
    population_decay: float = 1.0
    """iCEM's population decay: iteration i samples ``max(num_candidates / decay**i, 2 * num_elites)``
    sequences (1.0: every iteration samples ``num_candidates``; iCEM uses 1.25). A smaller search."""

    def population(self, iteration: int) -> int:
        """Sequences sampled (and scored) at ``iteration`` (0-based)."""
        if iteration == 0 or self.population_decay == 1.0:
            return self.num_candidates
        decayed = int(self.num_candidates / self.population_decay ** iteration)
        return min(self.num_candidates, max(decayed, 2 * self.num_elites))


@dataclass(frozen=True)
class MPPIConfig:
    """Model-predictive path integral control (TD-MPC2 style, with iterations)."""

    horizon: int = 15
    num_candidates: int = 500
    iterations: int = 5
    temperature: float = 0.5
    """Softmax temperature on returns normalised to [0, 1] per iteration; lower is greedier."""
    init_std: float = 0.5
    min_std: float = 0.05
    num_elites: int = 64
    """Only the best sequences are weighted (TD-MPC2's trick against a long tail of bad samples)."""
    select: str = "best"
    """What a call returns: ``best`` (the top-scored sequence of any iteration), ``sample`` (one
    of the last iteration's elites drawn by its weights, warm-starting from their mean, as TD-MPC2
    does: under a learnt value the top score is the most overestimated sequence, not the best) or
    ``mean`` (the elites' weighted mean, MPPI's own answer: where scores barely differ, as at a goal
    that every action keeps, it averages the samples' noise away instead of acting on it)."""


@dataclass(frozen=True)
class GradientConfig:
    """Gradient-based planning: Adam on the action sequences through a differentiable score."""

    horizon: int = 15
    num_candidates: int = 16
    """Sequences optimised in parallel from different starts; the best one wins."""
    iterations: int = 30
    """Adam steps per planning call."""
    learning_rate: float = 0.1
    """Adam step size in the unbounded (pre-tanh) action parameterisation."""
    init_std: float = 0.3


class Planner:
    """Shared machinery: action bounds, warm-started plan memory, seeded sampling.

    Args:
        action_low: Lower action bounds ``[A]``.
        action_high: Upper action bounds ``[A]``.
        device: Torch device for all planner tensors.
        seed: Seed of the planner's own ``torch.Generator``.
    """

    horizon: int

    def __init__(self, action_low: torch.Tensor, action_high: torch.Tensor,
                 device: str | torch.device = "cpu", seed: int = 0) -> None:
        self.device = resolve_device(device)
        self.low = torch.as_tensor(action_low, dtype=torch.float32, device=self.device).reshape(-1)
        self.high = torch.as_tensor(action_high, dtype=torch.float32, device=self.device).reshape(-1)
        if self.low.shape != self.high.shape or not bool((self.high > self.low).all()):
            raise ValueError(f"action bounds must be finite with high > low, got low={self.low}, high={self.high}")
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self._plan: torch.Tensor | None = None  # [E, H, A] from the previous call

    @property
    def action_dim(self) -> int:
        return int(self.low.numel())

    def reset(self, env_mask: torch.Tensor | None = None) -> None:
        """Forget the stored plan for all environments, or those where ``env_mask[E]`` is true."""
        mask = None if env_mask is None else torch.as_tensor(env_mask, dtype=torch.bool, device=self.device)
        if mask is None or self._plan is None or mask.shape[0] != self._plan.shape[0]:
            self._plan = None  # a different number of envs also starts afresh
            return
        self._plan[mask] = self._middle()

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Random stream and warm-start plan, as tensors: restoring both continues planning exactly."""
        plan = self._plan if self._plan is not None else torch.empty(0)
        return {"generator": self.generator.get_state(), "plan": plan.cpu()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore the stream and the warm start; a stored plan of another horizon (a planner loaded to act
        with a shorter or longer one) is dropped, as :meth:`reset` drops one of another number of envs."""
        self.generator.set_state(state["generator"])
        plan = state["plan"]
        self._plan = plan.to(self.device) if plan.numel() and plan.shape[1] == self.horizon else None

    def _middle(self) -> torch.Tensor:
        return (self.low + self.high) / 2

    def initial_mean(self, num_envs: int) -> torch.Tensor:
        """Warm start ``[E, H, A]``: the previous plan shifted one step, padded with the action midpoint."""
        middle = self._middle().expand(num_envs, self.horizon, -1)
        if self._plan is None or self._plan.shape[0] != num_envs:
            return middle.clone()
        return torch.cat([self._plan[:, 1:], middle[:, :1]], dim=1)

    def noise(self, num_envs: int, count: int) -> torch.Tensor:
        """Standard normal noise ``[E, count, H, A]`` from the planner's generator."""
        shape = (num_envs, count, self.horizon, self.action_dim)
        return torch.randn(shape, generator=self.generator, device=self.device)

    def clip(self, actions: torch.Tensor) -> torch.Tensor:
        return torch.maximum(torch.minimum(actions, self.high), self.low)

    def plan(self, score_fn: ScoreFn, num_envs: int = 1, proposals: torch.Tensor | None = None) -> PlanResult:
        """Optimise ``[E, H, A]`` action sequences for ``num_envs`` environments and remember them.

        ``proposals`` ``[E, P, H, A]`` are sequences from elsewhere (a policy prior, a demonstration)
        that compete with the planner's own samples in every iteration; sampling planners only.
        """
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        if proposals is not None:
            proposals = self._check_proposals(proposals, num_envs)
        result = self._optimise(score_fn, num_envs, proposals)
        self._plan = (result.actions if result.warm_start is None else result.warm_start).detach()
        return result

    def _check_proposals(self, proposals: torch.Tensor, num_envs: int) -> torch.Tensor:
        expected = (num_envs, self.horizon, self.action_dim)
        shape = tuple(proposals.shape)
        if len(shape) != 4 or (shape[0], shape[2], shape[3]) != expected:
            raise ValueError(f"proposals must be [E, P, H, A] with (E, H, A) = {expected}, got {shape}")
        return self.clip(proposals.to(self.device))

    def _optimise(self, score_fn: ScoreFn, num_envs: int, proposals: torch.Tensor | None) -> PlanResult:
        raise NotImplementedError


def _best(candidates: torch.Tensor, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Best sequence ``[E, H, A]`` and its score ``[E]`` from ``[E, N, H, A]`` and ``[E, N]``."""
    score, index = scores.max(dim=1)
    return candidates[torch.arange(candidates.shape[0], device=candidates.device), index], score


def refuse_proposals(planner: Planner, proposals: torch.Tensor | None) -> None:
    if proposals is not None:
        raise ValueError(f"{type(planner).__name__} takes no proposals; valid: CEMPlanner or MPPIPlanner")


def _with_proposals(candidates: torch.Tensor, proposals: torch.Tensor | None) -> torch.Tensor:
    """``[E, N, H, A]`` samples followed by the ``[E, P, H, A]`` proposals (if any)."""
    return candidates if proposals is None else torch.cat([candidates, proposals], dim=1)


def check_scores(scores: torch.Tensor, num_envs: int, count: int) -> torch.Tensor:
    if scores.shape != (num_envs, count):
        raise ValueError(f"score_fn must return [E, N] = {(num_envs, count)}, got {tuple(scores.shape)}")
    return torch.nan_to_num(scores, nan=-torch.inf)


class CEMPlanner(Planner):
    """Cross-entropy method with warm start and elite carry-over, batched over environments."""

    def __init__(self, action_low: torch.Tensor, action_high: torch.Tensor, config: CEMConfig = CEMConfig(),
                 device: str | torch.device = "cpu", seed: int = 0) -> None:
        super().__init__(action_low, action_high, device, seed)
        if not 0 < config.num_elites <= config.num_candidates:
            raise ValueError(f"num_elites must be in [1, num_candidates={config.num_candidates}], "
                             f"got {config.num_elites}")
        if config.population_decay < 1.0:
            raise ValueError(f"population_decay must be >= 1 (1: no decay; iCEM uses 1.25), "
                             f"got {config.population_decay}")
        self.config = config
        self.horizon = config.horizon

    @torch.no_grad()  # sampling search: nothing to differentiate, no autograd graph to build
    def _optimise(self, score_fn: ScoreFn, num_envs: int, proposals: torch.Tensor | None) -> PlanResult:
        cfg, span = self.config, self.high - self.low
        mean = self.initial_mean(num_envs)
        std = torch.full_like(mean, cfg.init_std) * span
        elites = elite_scores = None
        evaluations = 0
        for iteration in range(cfg.iterations):
            # 1. sample around the current distribution, clipped to the bounds
            count = cfg.population(iteration)
            candidates = _with_proposals(self.clip(mean.unsqueeze(1) + std.unsqueeze(1) * self.noise(num_envs, count)),
                                         proposals)
            scores = check_scores(score_fn(candidates), num_envs, candidates.shape[1])
            evaluations += candidates.shape[1]
            if elites is not None and cfg.keep_elites:  # 2. iCEM: old elites compete again
                candidates = torch.cat([candidates, elites], dim=1)
                scores = torch.cat([scores, elite_scores], dim=1)
            # 3. refit a diagonal Gaussian to the elites, smoothed by momentum
            elite_scores, index = scores.topk(cfg.num_elites, dim=1)
            elites = torch.gather(candidates, 1, index[..., None, None].expand(-1, -1, *candidates.shape[2:]))
            mean = cfg.momentum * mean + (1 - cfg.momentum) * elites.mean(dim=1)
            new_std = elites.std(dim=1) if cfg.num_elites > 1 else std
            std = torch.maximum(cfg.momentum * std + (1 - cfg.momentum) * new_std, cfg.min_std * span)
        actions, score = _best(elites, elite_scores)
        return PlanResult(actions, score, evaluations)


MPPI_SELECT = ("best", "sample", "mean")


class MPPIPlanner(Planner):
    """MPPI: returns-weighted average of sampled sequences, iterated, batched over environments."""

    def __init__(self, action_low: torch.Tensor, action_high: torch.Tensor, config: MPPIConfig = MPPIConfig(),
                 device: str | torch.device = "cpu", seed: int = 0) -> None:
        super().__init__(action_low, action_high, device, seed)
        if config.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {config.temperature}")
        check_choice("MPPI select", config.select, MPPI_SELECT)
        self.config = config
        self.horizon = config.horizon

    @torch.no_grad()  # sampling search: nothing to differentiate, no autograd graph to build
    def _optimise(self, score_fn: ScoreFn, num_envs: int, proposals: torch.Tensor | None) -> PlanResult:
        cfg, span = self.config, self.high - self.low
        mean = self.initial_mean(num_envs)
        std = torch.full_like(mean, cfg.init_std) * span
        num_elites = min(cfg.num_elites, cfg.num_candidates)
        evaluations = 0
        best_actions, best_score = mean, torch.full((num_envs,), -torch.inf, device=self.device)
        for _ in range(cfg.iterations):
            candidates = self.clip(mean.unsqueeze(1) + std.unsqueeze(1) * self.noise(num_envs, cfg.num_candidates))
            candidates[:, 0] = mean  # the current mean is always a candidate
            candidates = _with_proposals(candidates, proposals)
            scores = check_scores(score_fn(candidates), num_envs, candidates.shape[1])
            evaluations += candidates.shape[1]
            top, index = scores.topk(num_elites, dim=1)
            elites = torch.gather(candidates, 1, index[..., None, None].expand(-1, -1, *candidates.shape[2:]))
            # weights from returns rescaled to [0, 1] per env, so temperature is scale-free
            spread = (top[:, :1] - top[:, -1:]).clamp_min(1e-8)
            weights = torch.softmax((top - top[:, :1]) / spread / cfg.temperature, dim=1)[..., None, None]
            mean = (weights * elites).sum(dim=1)
            spread_actions = (weights * (elites - mean.unsqueeze(1)) ** 2).sum(dim=1).sqrt()
            std = torch.maximum(spread_actions, cfg.min_std * span)
            improved = top[:, 0] > best_score
            best_actions = torch.where(improved[:, None, None], elites[:, 0], best_actions)
            best_score = torch.maximum(best_score, top[:, 0])
        if cfg.select == "sample":
            pick = torch.multinomial(weights[..., 0, 0], 1, generator=self.generator)  # [E, 1]
            chosen = torch.gather(elites, 1, pick[..., None, None].expand(-1, -1, *elites.shape[2:]))[:, 0]
            return PlanResult(chosen, torch.gather(top, 1, pick)[:, 0], evaluations, std, warm_start=mean)
        if cfg.select == "mean":  # its score: the weighted elites' expected return
            return PlanResult(mean, (weights[..., 0, 0] * top).sum(dim=1), evaluations, std)
        return PlanResult(best_actions, best_score, evaluations, std)


class GradientPlanner(Planner):
    """Gradient-based planning: Adam on ``[E, K, H, A]`` sequences through a differentiable ``score_fn``.

    Actions are parameterised as ``low + (high - low) * sigmoid(u)``, so bounds hold without clipping
    and gradients never vanish at the boundary the way a hard clamp's do.
    """

    def __init__(self, action_low: torch.Tensor, action_high: torch.Tensor,
                 config: GradientConfig = GradientConfig(), device: str | torch.device = "cpu",
                 seed: int = 0) -> None:
        super().__init__(action_low, action_high, device, seed)
        self.config = config
        self.horizon = config.horizon

    def _to_actions(self, raw: torch.Tensor) -> torch.Tensor:
        return self.low + (self.high - self.low) * torch.sigmoid(raw)

    def _to_raw(self, actions: torch.Tensor) -> torch.Tensor:
        unit = ((actions - self.low) / (self.high - self.low)).clamp(1e-3, 1 - 1e-3)
        return torch.logit(unit)

    def _optimise(self, score_fn: ScoreFn, num_envs: int, proposals: torch.Tensor | None) -> PlanResult:
        refuse_proposals(self, proposals)
        cfg = self.config
        start = self._to_raw(self.initial_mean(num_envs)).unsqueeze(1)
        raw = start + cfg.init_std * 4 * self.noise(num_envs, cfg.num_candidates)  # sigmoid slope 1/4 at 0
        raw[:, 0] = start[:, 0]  # the warm start itself is one of the starts
        raw.requires_grad_(True)
        optimiser = torch.optim.Adam([raw], lr=cfg.learning_rate)
        best_actions = best_score = None
        for _ in range(cfg.iterations):
            with torch.enable_grad():
                actions = self._to_actions(raw)
                scores = check_scores(score_fn(actions), num_envs, cfg.num_candidates)
                optimiser.zero_grad(set_to_none=True)
                (-scores.sum()).backward()
            best_actions, best_score = keep_best(best_actions, best_score, *_best(actions.detach(), scores.detach()))
            optimiser.step()
        with torch.no_grad():  # the last step's result has not been scored yet
            actions = self._to_actions(raw)
            scores = check_scores(score_fn(actions), num_envs, cfg.num_candidates)
            best_actions, best_score = keep_best(best_actions, best_score, *_best(actions, scores))
        return PlanResult(best_actions, best_score, (cfg.iterations + 1) * cfg.num_candidates)


def keep_best(actions: torch.Tensor | None, score: torch.Tensor | None, new_actions: torch.Tensor,
               new_score: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per env, the better of the best so far and a new best (gradient steps can make things worse)."""
    if actions is None:
        return new_actions, new_score
    better = new_score > score
    return torch.where(better[:, None, None], new_actions, actions), torch.maximum(score, new_score)


PLANNERS = {"cem": (CEMPlanner, CEMConfig), "mppi": (MPPIPlanner, MPPIConfig),
            "gradient": (GradientPlanner, GradientConfig)}


def make_planner(name: str, action_low: torch.Tensor, action_high: torch.Tensor,
                 device: str | torch.device = "cpu", seed: int = 0, **config) -> Planner:
    """Build a continuous-action planner by name (``cem``, ``mppi``, ``gradient``) with config fields as keywords.

    For ``Discrete`` actions use :class:`world_models.discrete_planning.DiscreteCEMPlanner`."""
    check_choice("planner", name, sorted(PLANNERS))
    planner_cls, config_cls = PLANNERS[name]
    check_keys(f"{name} planner option", config, config_cls.__dataclass_fields__)
    return planner_cls(action_low, action_high, config_cls(**config), device=device, seed=seed)
