"""TorchRL's CEMPlanner over our ensemble, for side-by-side planning latency (bench extra only)."""
from __future__ import annotations

import torch
from torch import nn

from world_models.models import EnsembleDynamics


class _Step(nn.Module):
    """(state, action) -> (next state, reward [.., 1]) through our model, rows on fixed members."""

    def __init__(self, model: EnsembleDynamics) -> None:
        super().__init__()
        self.model = model

    def forward(self, state: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shape = state.shape[:-1]
        next_state, reward, _ = self.model.step(state.reshape(-1, state.shape[-1]),
                                                action.reshape(-1, action.shape[-1]), "fixed")
        return next_state.reshape(*shape, -1), reward.reshape(*shape, 1)


def torchrl_cem(model: EnsembleDynamics, horizon: int, iterations: int, candidates: int, elites: int):
    """A TorchRL ``CEMPlanner`` over ``model`` wrapped as a ``ModelBasedEnvBase``; returns ``plan(state[S])``."""
    from tensordict import TensorDict
    from tensordict.nn import TensorDictModule
    from torchrl.data import Bounded, Composite, Unbounded
    from torchrl.envs.model_based import ModelBasedEnvBase
    from torchrl.modules.planners import CEMPlanner

    class ModelEnv(ModelBasedEnvBase):
        def __init__(self, world_model: TensorDictModule) -> None:
            super().__init__(world_model, device="cpu", batch_size=torch.Size([]))
            self.observation_spec = Composite(state=Unbounded((model.state_dim,)))
            self.state_spec = Composite(state=Unbounded((model.state_dim,)))
            self.action_spec = Bounded(-1.0, 1.0, (model.action_dim,))
            self.reward_spec = Unbounded((1,))

        def _reset(self, tensordict: TensorDict | None = None, **kwargs) -> TensorDict:
            return TensorDict({"state": torch.zeros(model.state_dim)}, batch_size=self.batch_size)

    world = TensorDictModule(_Step(model), in_keys=["state", "action"], out_keys=["state", "reward"])
    planner = CEMPlanner(ModelEnv(world), horizon, iterations, candidates, elites)

    def plan(state: torch.Tensor) -> torch.Tensor:
        return planner(TensorDict({"state": state}, batch_size=[]))["action"]
    return plan
