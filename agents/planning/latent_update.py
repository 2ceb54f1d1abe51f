"""One gradient update of a latent value model on a batch of H-step sub-sequences.

The losses of TD-MPC2 (Hansen et al. 2024), written for our model:

1. Encode every observation of the sub-sequence; the later ones (no gradient) are targets.
2. Roll the latent forward from the first with the real actions: *consistency* of each predicted
   latent with the encoded one, weighted ``rho ** t`` (near steps count more). A dynamics ensemble
   trains every member from the members' mean, and keeps the running mean of their spread at the
   first step (:meth:`~world_models.latent_dynamics.LatentDynamicsEnsemble.observe`).
3. On the rolled latents: the *reward* head against the (relabelled) rewards, and every Q member
   against the TD target ``r + discount * (1 - terminated) * min(two target Qs at pi(z'))``, both as
   cross-entropy against a two-hot code (:class:`world_models.latent_value.TwoHot`).
4. The policy prior, on detached latents: maximise the mean of two Qs, scaled by a running 5-95%
   range of Q (so one entropy weight fits any reward scale), plus a small entropy bonus, plus (with
   ``bc_coef``) the squared error of its mean action on demonstrated steps, as TD3+BC does: the
   prior proposes the expert's pushes before Q has learnt that they pay.
5. With ``goal_offset`` (goal envs), the achieved-goal head reads the observed achieved goal back
   from every encoded and rolled latent (*achieved* loss, scaled as the privileged one below): the
   reward, Q and policy heads read the goal's offset from it.
6. With privileged entries in the batch (``obs["privileged"]``, state a simulator knows and a robot
   will not), a head reads them back from every encoded latent (*privileged* loss, errors scaled by
   the batch's spread per entry): the pixel encoder learns where the target is from a dense
   signal. Nothing at acting time reads them.

Everything stays on the device: the losses come back as tensors, and are read (a host sync) only
when the loop logs.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from agents.planning.sequence_replay import SequenceBatch
from foresight_base.checks import check_choice
from world_models.latent_dynamics import LatentDynamicsEnsemble
from world_models.latent_value import LatentValueModel


@dataclass(frozen=True)
class UpdateConfig:
    """Weights and rates of the update."""

    learning_rate: float = 3e-4
    encoder_lr_scale: float = 0.3
    """The encoder learns slower than the heads (TD-MPC2's ``enc_lr_scale``)."""
    consistency_coef: float = 20.0
    reward_coef: float = 0.1
    value_coef: float = 0.1
    entropy_coef: float = 1e-4
    rho: float = 0.5
    """Per-step weight decay of the losses along the horizon."""
    tau: float = 0.01
    """Polyak rate of the target Q ensemble."""
    grad_clip: float = 20.0
    discount: float = 0.99
    bc_coef: float = 0.0
    """Weight of behaviour cloning on the batch's demonstrated steps (``SequenceBatch.demo``)."""
    reward_scale: float = 1.0
    """Rewards are multiplied by this before every loss (reward, Q and planning then speak scaled units)."""
    privileged_coef: float = 0.02
    """Weight of the privileged-state loss (only where the batch holds ``obs["privileged"]``)."""
    achieved_coef: float = 1.0
    """Weight of the achieved-goal loss (only for a model with ``goal_offset``)."""
    precision: str = "float32"
    """``bfloat16``: the forward passes' matrix products run under autocast (losses, latents and
    weights stay float32). On this project's AVX512-BF16 CPU the products run 1.6x faster but a whole
    update only 1.14x (its elementwise half is unchanged); GPUs and AMX CPUs gain more."""


PRECISIONS = ("float32", "bfloat16")


@contextmanager
def frozen(parameters: list[torch.nn.Parameter]) -> Iterator[None]:
    """Forward passes inside build no gradient for ``parameters`` (inputs still get theirs)."""
    for parameter in parameters:
        parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter in parameters:
            parameter.requires_grad_(True)


class RunningScale(torch.nn.Module):
    """Slow average of the 5-95% range of Q values: the policy loss divides Q by it (at least 1)."""

    def __init__(self, tau: float = 0.01) -> None:
        super().__init__()
        self.tau = tau
        self.register_buffer("value", torch.ones(()))
        self.register_buffer("started", torch.zeros((), dtype=torch.bool))

    @torch.no_grad()
    def update(self, q: torch.Tensor) -> None:
        low, high = torch.quantile(q.detach().float().flatten(), torch.tensor([0.05, 0.95], device=q.device))
        spread = high - low
        self.value.copy_(torch.where(self.started, torch.lerp(self.value, spread, self.tau), spread))
        self.started.fill_(True)

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        return q / self.value.clamp_min(1.0)


class LatentValueLearner:
    """Optimisers and the update step for a :class:`LatentValueModel`.

    Args:
        model: The model to train (its ``q_target`` is updated here too).
        config: Loss weights and rates.
        generator: Seeds the policy samples and the choice of Q members.
        augment: Applied to image tensors ``[N, C, H, W]`` before encoding (DrQ's random shift), or ``None``.
    """

    def __init__(self, model: LatentValueModel, config: UpdateConfig, generator: torch.Generator,
                 augment: torch.nn.Module | None = None) -> None:
        check_choice("precision", config.precision, PRECISIONS)  # before any optimiser is built
        self.model, self.config, self.generator, self.augment = model, config, generator, augment
        self.device = next(model.parameters()).device
        lr = config.learning_rate
        # One fused kernel per optimiser step instead of a dozen ops per parameter: the update's
        # fixed cost on a CPU is dispatch, not arithmetic (scripts/benchmarks/latent.py --what speed).
        fused = self.device.type in ("cpu", "cuda")
        self.optimiser = torch.optim.Adam([
            {"params": model.encoder.parameters(), "lr": lr * config.encoder_lr_scale},
            {"params": [*model.dynamics.parameters(), *model.reward.parameters(), *model.q.parameters(),
                        *(weight for readout in (model.achieved, model.privileged) if readout is not None
                          for weight in readout.parameters())]},
        ], lr=lr, fused=fused)
        self.policy_optimiser = torch.optim.Adam(model.policy.parameters(), lr=lr, eps=1e-5, fused=fused)
        self.scale = RunningScale(config.tau).to(self.device)
        self.updates = 0
        # what the policy's loss passes through but does not train: no weight gradients there
        # (TD-MPC2's track_q_grad(False)): the same update, 1.05x faster on one thread
        self._critic_parameters = [*model.q.parameters(), *(model.achieved.parameters() if model.achieved else ())]

    def _autocast(self) -> AbstractContextManager:
        """bfloat16 matrix products in the forward passes when asked for; a no-op context otherwise."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.config.precision == "bfloat16")

    def _encode_sequence(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """``{name: [H + 1, B, ...]}`` -> latents ``[H + 1, B, L]`` (images augmented per sample)."""
        steps, batch = next(iter(obs.values())).shape[:2]
        flat = {}
        for name, value in obs.items():
            value = value.flatten(0, 1)
            if self.augment is not None and value.dim() == 4:
                value = self.augment(value)
            flat[name] = value
        return self.model.encode(flat).unflatten(0, (steps, batch))

    @torch.no_grad()
    def _td_targets(self, next_z: torch.Tensor, rewards: torch.Tensor, terminated: torch.Tensor,
                    goal: torch.Tensor) -> torch.Tensor:
        """``[H, B]`` targets from the encoded next latents ``[H, B, L]``."""
        horizon, batch = rewards.shape
        z, g = next_z.flatten(0, 1), goal.repeat(horizon, 1)
        action, _ = self.model.pi(z, g, self.generator)
        q = self.model.q_pair(z, action, g, self.generator, target=True).min(0).values.view(horizon, batch)
        return rewards + self.config.discount * (1 - terminated) * q

    def update(self, batch: SequenceBatch) -> dict[str, torch.Tensor]:
        """One step of both optimisers; the losses as 0-d tensors (no host sync)."""
        c, model = self.config, self.model
        horizon = batch.actions.shape[0]
        weights = c.rho ** torch.arange(horizon, device=batch.actions.device, dtype=torch.float32)
        observed = {k: v for k, v in batch.obs.items() if k != "privileged"}
        with self._autocast():
            latents = self._encode_sequence(observed)
            rewards = batch.rewards * c.reward_scale
            targets = self._td_targets(latents[1:].detach(), rewards, batch.terminated, batch.goal)
            z, rolled, consistency = latents[0], [], []
            for t in range(horizon):
                rolled.append(z)
                members = model.next_members(z, batch.actions[t])  # [K, B, L]
                if t == 0 and isinstance(model.dynamics, LatentDynamicsEnsemble):
                    model.dynamics.observe(members, c.tau)  # the spread from encoded, replayed latents
                consistency.append(F.mse_loss(members, latents[t + 1].detach().expand_as(members)))
                z = members.mean(0)
            zs = torch.stack(rolled)  # [H, B, L]
            flat_z, flat_a, flat_g = zs.flatten(0, 1), batch.actions.flatten(0, 1), batch.goal.repeat(horizon, 1)
            two_hot = model.two_hot
            reward_logits = model.reward_logits(flat_z, flat_a, flat_g)
            reward_error = two_hot.loss(reward_logits, rewards.flatten()).view(horizon, -1).mean(1)
            q_logits = model.q_logits(flat_z, flat_a, flat_g)  # [M, H * B, K]
            q_targets = targets.flatten().expand(q_logits.shape[0], -1)
            q_error = two_hot.loss(q_logits, q_targets).view(-1, horizon, batch.actions.shape[1])
        losses = {"consistency": (weights * torch.stack(consistency)).sum() / horizon,
                  "reward": (weights * reward_error).sum() / horizon,
                  "value": (weights * q_error.mean((0, 2))).sum() / horizon}
        total = (c.consistency_coef * losses["consistency"] + c.reward_coef * losses["reward"]
                 + c.value_coef * losses["value"])
        if model.achieved is not None and batch.achieved is not None:
            readouts = torch.cat([latents, zs])  # encoded [H + 1] and rolled [H] latents
            losses["achieved"] = self._readout_error(model.achieved, readouts,
                                                     torch.cat([batch.achieved, batch.achieved[:horizon]]))
            total = total + c.achieved_coef * losses["achieved"]
        if model.privileged is not None and "privileged" in batch.obs:
            losses["privileged"] = self._readout_error(model.privileged, latents, batch.obs["privileged"])
            total = total + c.privileged_coef * losses["privileged"]
        self.optimiser.zero_grad(set_to_none=True)
        total.backward()
        losses["grad_norm"] = torch.nn.utils.clip_grad_norm_(self._model_parameters(), c.grad_clip, foreach=True)
        self.optimiser.step()
        losses["policy"] = self._update_policy(zs.detach(), batch, weights)
        model.update_target(c.tau)
        self.updates += 1
        return {k: v.detach() for k, v in losses.items()}

    def _readout_error(self, head: torch.nn.Module, latents: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean squared error of ``head``'s reading of latents ``[T, B, L]`` against ``targets [T, B, P]``,
        each entry in units of its spread in the batch (at least 1 cm or 0.01 of its unit)."""
        with self._autocast():
            predicted = head(latents).float()
        spread = targets.flatten(0, 1).std(0).clamp_min(0.01)
        return ((predicted - targets) / spread).pow(2).mean()

    def _model_parameters(self) -> list[torch.nn.Parameter]:
        return [p for group in self.optimiser.param_groups for p in group["params"]]

    def _update_policy(self, zs: torch.Tensor, batch: SequenceBatch, weights: torch.Tensor) -> torch.Tensor:
        horizon, size = zs.shape[:2]
        z, g = zs.flatten(0, 1), batch.goal.repeat(horizon, 1)
        with self._autocast(), frozen(self._critic_parameters):
            action, log_prob, mean_action = self.model.pi_and_mode(z, g, self.generator)
            q = self.model.q_pair(z, action, g, self.generator).mean(0)
        self.scale.update(q.view(horizon, size)[0])
        per_step = (self.config.entropy_coef * log_prob - self.scale(q)).view(horizon, size).mean(1)
        loss = (weights * per_step).sum() / horizon
        if self.config.bc_coef and batch.demo is not None:
            error = (mean_action - batch.actions.flatten(0, 1)).pow(2).sum(-1) * batch.demo.flatten()
            loss = loss + self.config.bc_coef * error.sum() / batch.demo.sum().clamp_min(1.0)
        self.policy_optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.policy.parameters(), self.config.grad_clip, foreach=True)
        self.policy_optimiser.step()
        return loss

    def state_dict(self) -> dict:
        return {"optimiser": self.optimiser.state_dict(), "policy_optimiser": self.policy_optimiser.state_dict(),
                "scale": self.scale.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.optimiser.load_state_dict(state["optimiser"])
        self.policy_optimiser.load_state_dict(state["policy_optimiser"])
        self.scale.load_state_dict(state["scale"])
        self.updates = int(state["updates"])
