"""A batched world is an exact model for the world_models planners: their score functions take ``dynamics``."""
import pytest
import torch

from envs.batched import PointMassReach, Spaceship
from envs.batched.ops import TorchOps
from world_models.planners import make_planner
from world_models.scoring import dynamics_score_fn


@pytest.mark.parametrize(
    "world, name",
    [(PointMassReach(num_obstacles=1), "cem"), (Spaceship(), "cem"), (Spaceship(), "gradient")],
    ids=["point_mass-cem", "spaceship-cem", "spaceship-gradient"],
)
def test_planners_beat_doing_nothing_through_a_worlds_dynamics(world, name):
    start = world.initial_state(TorchOps(torch.device("cpu")), torch.Generator().manual_seed(0), 2)  # two envs
    low, high = (torch.as_tensor(b) for b in (world.single_action_space.low, world.single_action_space.high))
    planner = make_planner(name, low, high, horizon=8, seed=0)
    score = dynamics_score_fn(world.dynamics, start)
    plan = planner.plan(score, num_envs=2)
    idle = score(torch.zeros(2, 1, 8, world.action_size))[:, 0]
    assert bool((plan.score > idle).all()), (plan.score, idle)
