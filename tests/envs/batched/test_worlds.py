"""Every batched world: backends agree, gradients reach the actions, physics does what it says."""
from itertools import pairwise

import numpy as np
import pytest
import torch

from envs.batched import WORLDS, ArmReach, PointMassReach, Spaceship, make_batched, rollout

NAMES = sorted(WORLDS)


def _start_and_actions(name, batch=16, horizon=12, seed=0):
    env = make_batched(name, batch, device="cpu", backend="torch", dtype=torch.float64)
    env.reset(seed=seed)
    generator = torch.Generator().manual_seed(seed)
    low = torch.as_tensor(getattr(env.single_action_space, "low", 0.0), dtype=torch.float64)
    high = torch.as_tensor(getattr(env.single_action_space, "high", 1.0), dtype=torch.float64)
    unit = torch.rand(batch, horizon, env.world.action_size, generator=generator, dtype=torch.float64)
    return env.world, env.state.clone(), low + unit * (high - low)


@pytest.mark.parametrize("name", NAMES)
def test_numpy_and_torch_backends_give_the_same_steps(name):
    world, state, actions = _start_and_actions(name)
    torch_state, numpy_state = state, state.numpy()
    for step in range(actions.shape[1]):
        torch_state, torch_reward, torch_done = world.step(torch_state, actions[:, step])
        numpy_state, numpy_reward, numpy_done = world.step(numpy_state, actions[:, step].numpy())
        np.testing.assert_allclose(torch_state.numpy(), numpy_state, atol=1e-9)
        np.testing.assert_allclose(torch_reward.numpy(), numpy_reward, atol=1e-5)
        np.testing.assert_array_equal(torch_done.numpy(), numpy_done)
    np.testing.assert_allclose(world.observe(torch_state).numpy(), world.observe(numpy_state), atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_gradients_flow_from_a_rollouts_return_to_the_actions(name):
    world, state, actions = _start_and_actions(name)
    actions.requires_grad_(True)
    states, rewards, _ = rollout(world, state, actions)
    # CartPole's reward is a constant 1 while alive, so also differentiate the final state.
    (rewards.sum() + states[:, -1].sum()).backward()
    assert torch.isfinite(actions.grad).all()
    assert actions.grad[:, 0].abs().sum() > 0  # the first action moves the outcome


@pytest.mark.parametrize("name", ["point_mass_reach", "pendulum", "spaceship"])
def test_gradient_ascent_on_actions_improves_the_planned_return(name):
    world, state, actions = _start_and_actions(name, batch=8, horizon=20)
    actions = (actions * 0.0).requires_grad_(True)
    optimizer = torch.optim.Adam([actions], lr=0.1)
    returns = []
    for _ in range(20):
        _, rewards, _ = rollout(world, state, actions)
        returns.append(rewards.sum(dim=1).mean().item())
        optimizer.zero_grad()
        (-rewards.sum(dim=1).mean()).backward()
        optimizer.step()
    assert returns[-1] > returns[0] + 0.1 * abs(returns[0]), returns[::10]


@pytest.mark.parametrize("name", NAMES)
def test_observations_lie_in_the_observation_space(name):
    env = make_batched(name, 32, device="cpu", array_type="numpy")
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)


def test_point_mass_never_enters_an_obstacle():
    world = PointMassReach(dim=3, num_obstacles=4, obstacle_radius=0.3)
    env = make_batched("point_mass_reach", 64, device="cpu", backend="torch", dim=3, num_obstacles=4,
                       obstacle_radius=0.3)
    env.reset(seed=1)
    state = env.state
    for _ in range(60):
        state, _ = world.dynamics(state, torch.ones(64, 3))  # drive into whatever is up-right
        position = state[:, :3]
        for centre in world.obstacles(state):
            assert ((position - centre).norm(dim=-1) >= 0.3 - 1e-5).all()


def test_point_mass_controller_reaches_the_goal_without_obstacles():
    world = PointMassReach(num_obstacles=0)
    state = torch.tensor([[-0.5, -0.5, 0.0, 0.0, 0.6, 0.3]])
    for _ in range(100):
        position, velocity, goal = state[:, :2], state[:, 2:4], state[:, 4:6]
        state, reward, done = world.step(state, 2.0 * (goal - position) - 0.8 * velocity)
        if done.all():
            break
    assert done.all() and reward.item() > -world.goal_radius


def test_arm_forward_kinematics_of_a_straight_and_a_folded_arm():
    arm = ArmReach(num_links=2, link_length=0.5)
    tip = arm.tip(torch.tensor([[0.0, 0.0, 0.0, 0.0], [np.pi / 2, np.pi / 2, 0.0, 0.0]]))
    np.testing.assert_allclose(tip.numpy(), [[1.0, 0.0], [-0.5, 0.5]], atol=1e-6)


def test_spaceship_falls_into_the_planet_and_pays_for_it():
    ship = Spaceship()
    state = torch.tensor([[0.5, 0.0, 0.0, 0.0, -0.8, -0.8, 0.0, 0.0]])
    rewards, distances = [], []
    for _ in range(200):
        state, reward, done = ship.step(state, torch.zeros(1, 2))
        rewards.append(reward.item()), distances.append(state[0, :2].norm().item())
        if done.all():
            break
    assert done.all() and distances[-1] < ship.planet_radius and rewards[-1] < -0.5
    assert all(a >= b for a, b in pairwise(distances))  # pulled straight in
