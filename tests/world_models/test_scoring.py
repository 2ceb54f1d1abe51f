"""The same planners run on a torch dynamics function, an env used as its own model, and a learned model."""
import gymnasium as gym
import numpy as np
import pytest
import torch

from world_models.models import EnsembleDynamics, ModelConfig
from world_models.planners import make_planner
from world_models.scoring import (
    discounted_sum,
    dynamics_score_fn,
    env_goal_reward,
    env_score_fn,
    goal_distance_reward,
    model_score_fn,
)
from world_models.spaces import StateLayout


def point_mass(states: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Double integrator [position, velocity] with time step 0.1 s; reward: stay near the origin."""
    position, velocity = states[:, 0] + 0.1 * states[:, 1], states[:, 1] + 0.1 * actions[:, 0]
    next_states = torch.stack([position, velocity], -1)
    return next_states, -position.abs()


@pytest.mark.parametrize("name", ["cem", "mppi", "gradient"])
def test_planners_drive_point_mass_to_origin_through_exact_dynamics(name):
    start = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])  # two envs, mirrored
    planner = make_planner(name, -torch.ones(1), torch.ones(1), horizon=10, seed=0)
    plan = planner.plan(dynamics_score_fn(point_mass, start), num_envs=2)
    assert plan.actions[0, 0, 0] < -0.5 and plan.actions[1, 0, 0] > 0.5  # push towards the origin
    idle = dynamics_score_fn(point_mass, start)(torch.zeros(2, 1, 10, 1))[:, 0]
    assert bool((plan.score > idle).all())


class Line(gym.Env):
    """A 1-D point that moves by its action; reward: minus the distance to 0.7. Saves and restores state."""

    observation_space = gym.spaces.Box(-5, 5, (1,), np.float32)
    action_space = gym.spaces.Box(-0.2, 0.2, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x = 0.0
        return np.array([self.x], np.float32), {}

    def step(self, action):
        self.x += float(np.clip(action[0], -0.2, 0.2))
        return np.array([self.x], np.float32), -abs(self.x - 0.7), False, False, {}

    def save_state(self):
        return self.x

    def restore_state(self, state):
        self.x = state


def test_env_used_as_its_own_model_is_restored():
    env = gym.wrappers.TimeLimit(Line(), max_episode_steps=20)
    env.reset(seed=0)
    planner = make_planner("cem", -0.2 * torch.ones(1), 0.2 * torch.ones(1), horizon=5, num_candidates=30,
                           num_elites=5, iterations=3, seed=0)
    plan = planner.plan(env_score_fn(env))
    assert env.unwrapped.x == 0.0 and env._elapsed_steps == 0  # imagination left no trace
    assert plan.actions[0, 0, 0] > 0.1
    with pytest.raises(TypeError, match="save_state"):
        env_score_fn(gym.make("Pendulum-v1"))


def test_model_score_with_particles_and_goal_rewards():
    torch.manual_seed(0)
    model = EnsembleDynamics(4, 2, ModelConfig(ensemble_size=5, hidden_size=8, num_layers=1))
    score = model_score_fn(model, torch.zeros(3, 4), particles=4, generator=torch.Generator().manual_seed(0))
    assert score(torch.zeros(3, 7, 6, 2)).shape == (3, 7)  # 3*7*4 rows padded to a multiple of 5
    space = gym.spaces.Dict({k: gym.spaces.Box(-1, 1, (2,)) for k in ("observation", "achieved_goal", "desired_goal")})
    layout, goals = StateLayout(space), torch.tensor([[0.0, 1.0]])
    states = torch.tensor([[[[9.0, 9.0, 0.0, 0.0], [9.0, 9.0, 0.0, 1.0]]]])  # [E=1, B=1, H=2, S=4]
    dense = goal_distance_reward(layout, goals)(states, torch.zeros(1, 1, 2, 2))
    assert torch.allclose(dense, torch.tensor([[[-1.0, 0.0]]]))
    def sparse(a, d, info):
        return -(np.linalg.norm(a - d, axis=-1) > 0.05).astype(np.float32)

    assert env_goal_reward(sparse, layout, goals)(states, None).tolist() == [[[-1.0, 0.0]]]
    assert discounted_sum(torch.ones(2, 3), 0.5).tolist() == [1.75, 1.75]
    with pytest.raises(ValueError, match="uncertainty_penalty needs propagation='mean'"):
        model_score_fn(model, torch.zeros(1, 4), uncertainty_penalty=1.0)


@pytest.mark.parametrize("name, options", [("cem", dict(num_candidates=64, num_elites=8, iterations=3)),
                                           ("gradient", dict(num_candidates=4, iterations=8, learning_rate=0.3))])
def test_planners_fly_batched_spaceship_through_its_exact_dynamics(name, options):
    from envs.batched.ops import TorchOps
    from envs.batched.spaceship import Spaceship
    world = Spaceship()
    start = world.initial_state(TorchOps(torch.device("cpu")), torch.Generator().manual_seed(0), 8)
    planner = make_planner(name, -torch.ones(2), torch.ones(2), horizon=15, seed=0, **options)
    plan = planner.plan(dynamics_score_fn(world.dynamics, start), num_envs=8)
    drift = dynamics_score_fn(world.dynamics, start)(torch.zeros(8, 1, 15, 2))[:, 0]  # no thrust
    assert plan.actions.shape == (8, 15, 2)
    assert float((plan.score - drift).mean()) > 0.1  # metres of progress gained by planning


def test_discrete_cem_balances_batched_cartpole_through_its_exact_dynamics():
    from envs.batched.cartpole import CartPole
    from envs.batched.ops import TorchOps
    from world_models.discrete_planning import DiscreteCEMConfig, DiscreteCEMPlanner
    world = CartPole()
    state = world.initial_state(TorchOps(torch.device("cpu")), torch.Generator().manual_seed(0), 4)
    planner = DiscreteCEMPlanner(2, DiscreteCEMConfig(horizon=10, num_candidates=32, num_elites=4, iterations=2))
    alive = torch.ones(4, dtype=torch.bool)
    with torch.no_grad():
        for _ in range(60):  # closed loop: replan every step
            plan = planner.plan(dynamics_score_fn(world.dynamics, state, terminated=world.terminated), num_envs=4)
            state, _, terminated = world.step(state, plan.actions[:, 0])
            alive &= ~terminated
    assert bool(alive.all())  # pushing one way only falls within about 10 steps


def test_pybullet_reach_as_its_own_model_is_left_as_it_was():
    import envs  # noqa: F401  (registers the Foresight/ ids)
    env = gym.make("Foresight/PandaReach-v0", reward_type="dense")
    obs, _ = env.reset(seed=0)
    planner = make_planner("cem", -torch.ones(3), torch.ones(3), horizon=3, num_candidates=8, num_elites=2,
                           iterations=2, seed=0)
    plan = planner.plan(env_score_fn(env))
    after, *_ = env.step(np.zeros(3, np.float32))
    reference = gym.make("Foresight/PandaReach-v0", reward_type="dense")
    reference.reset(seed=0)
    expected, *_ = reference.step(np.zeros(3, np.float32))
    np.testing.assert_allclose(after, expected, atol=1e-6)  # 48 imagined steps left no trace
    assert env._elapsed_steps == 1 and plan.score[0] > -1.0
