"""CartPole and Pendulum match gymnasium's CartPole-v1 and Pendulum-v1 step for step."""
import gymnasium as gym
import numpy as np
import pytest
import torch

from envs.batched import CartPole, Pendulum, make_batched


def _as_backend(x: np.ndarray, backend: str):
    return torch.as_tensor(x, dtype=torch.float64) if backend == "torch" else x


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_cartpole_matches_gymnasium_from_the_same_state(backend):
    world, reference = CartPole(), gym.make("CartPole-v1").unwrapped
    rng = np.random.default_rng(0)
    reference.reset(seed=0)
    checked_terminations = 0
    for _ in range(300):
        state = np.array(reference.state, dtype=np.float64)
        action = int(rng.integers(2))
        _, gym_reward, gym_terminated, _, _ = reference.step(action)
        ours, reward, terminated = world.step(_as_backend(state, backend), _as_backend(np.array([action]),
                                                                                       backend) * 1.0)
        np.testing.assert_allclose(np.asarray(ours), reference.state, rtol=0, atol=1e-12)
        assert float(reward) == gym_reward and bool(terminated) == gym_terminated
        if gym_terminated:
            checked_terminations += 1
            reference.reset(seed=int(rng.integers(1000)))
    assert checked_terminations > 5  # the termination rule was exercised


def test_cartpole_open_loop_rollout_stays_on_gymnasiums_trajectory():
    reference = gym.make("CartPole-v1").unwrapped
    reference.reset(seed=3)
    env = make_batched("cartpole", 1, device="cpu", backend="torch", dtype=torch.float64)
    env.reset(seed=0)
    env.state = torch.as_tensor(np.array(reference.state))[None]
    actions = np.random.default_rng(1).integers(2, size=60)
    for action in actions:
        reference_obs, _, reference_done, _, _ = reference.step(int(action))
        obs, _, terminated, _, info = env.step(np.array([action]))
        if reference_done:
            np.testing.assert_allclose(info["final_obs"][0].numpy(), reference_obs, atol=1e-6)
            assert bool(terminated[0])
            break
        np.testing.assert_allclose(obs[0].numpy(), reference_obs, atol=1e-6)
    else:
        pytest.fail("the open-loop rollout should have toppled the pole")


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_pendulum_matches_gymnasium_including_torque_clipping(backend):
    world, reference = Pendulum(), gym.make("Pendulum-v1").unwrapped
    rng = np.random.default_rng(0)
    reference.reset(seed=0)
    for _ in range(200):
        state = np.array(reference.state, dtype=np.float64)
        action = rng.uniform(-3.0, 3.0, size=(1,))  # beyond +-2 N m to exercise the clip
        gym_obs, gym_reward, *_ = reference.step(action.astype(np.float32))
        ours, reward, terminated = world.step(_as_backend(state, backend),
                                              _as_backend(action.astype(np.float32).astype(np.float64), backend))
        np.testing.assert_allclose(np.asarray(world.observe(ours)), gym_obs, atol=1e-6)
        np.testing.assert_allclose(float(reward), gym_reward, rtol=1e-9, atol=1e-9)
        assert not bool(terminated)


def test_float32_torch_steps_agree_with_float64():
    world = CartPole()
    state = torch.as_tensor(np.random.default_rng(2).uniform(-0.2, 0.2, size=(256, 4)))
    action = torch.as_tensor(np.random.default_rng(3).integers(2, size=(256, 1)) * 1.0)
    exact, _ = world.dynamics(state, action)
    single, _ = world.dynamics(state.float(), action.float())
    np.testing.assert_allclose(single.double().numpy(), exact.numpy(), atol=1e-6, rtol=1e-5)
