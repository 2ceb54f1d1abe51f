"""BatchedVectorEnv: masked same-step autoreset, truncation, seeding, array types, bad input."""
import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode

import envs  # noqa: F401  (registers the ids)
from envs.batched import make_batched


@pytest.mark.parametrize("backend, dense", [("numpy", False), ("torch", False), ("torch", True)])
def test_autoreset_restarts_only_the_finished_worlds(backend, dense):
    env = make_batched("cartpole", 64, device="cpu", backend=backend, array_type="numpy", reset_bound=0.2)
    env.dense_reset = dense  # the accelerator's fixed-shape path, exercised on the CPU
    obs, _ = env.reset(seed=0)
    push_right = np.ones(64, dtype=np.int64)
    seen_partial = False
    for _ in range(60):
        expected, _ = env.world.dynamics(np.asarray(obs, np.float64), np.ones((64, 1)))
        obs, reward, terminated, truncated, info = env.step(push_right)
        done = terminated | truncated
        np.testing.assert_array_equal(info["_final_obs"], done)
        np.testing.assert_allclose(info["final_obs"], expected, atol=1e-5)
        np.testing.assert_allclose(obs[~done], expected[~done], atol=1e-5)
        assert np.all(np.abs(obs[done]) <= 0.2)  # fresh states from the reset distribution
        assert np.all(env.world.terminated(info["final_obs"][terminated]))
        seen_partial |= 0 < done.sum() < 64
    assert seen_partial, "expected some, but not all, worlds to finish in the same step"


def test_truncation_at_max_episode_steps_is_kept_apart_from_termination():
    env = make_batched("pendulum", 5, device="cpu", max_episode_steps=3, array_type="numpy")
    env.reset(seed=0)
    flags = [env.step(np.zeros((5, 1), np.float32))[2:4] for _ in range(4)]
    assert [bool(tr.all()) for _, tr in flags] == [False, False, True, False]
    assert not any(te.any() for te, _ in flags)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_same_seed_same_run_and_different_seed_different_run(backend):
    def run(seed):
        env = make_batched("cartpole", 32, device="cpu", backend=backend, array_type="numpy")
        obs = [env.reset(seed=seed)[0]]
        actions = np.random.default_rng(7).integers(2, size=(80, 32))
        obs += [env.step(a)[0] for a in actions]
        return np.stack(obs)

    np.testing.assert_array_equal(run(1), run(1))
    assert not np.allclose(run(1), run(2))


def test_reset_mask_resets_only_the_masked_worlds():
    env = make_batched("pendulum", 4, device="cpu", backend="torch")
    before, _ = env.reset(seed=0)
    mask = np.array([True, False, True, False])
    after, _ = env.reset(options={"reset_mask": mask})
    np.testing.assert_array_equal(after[~torch.from_numpy(mask)].numpy(), before[~torch.from_numpy(mask)].numpy())
    assert not torch.allclose(after[0], before[0])


def test_array_types_and_spaces_follow_the_request():
    env = gym.make_vec("Foresight/BatchedPendulum-v0", num_envs=3, device="cpu", backend="torch")
    assert env.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    obs, _ = env.reset(seed=0)
    assert isinstance(obs, torch.Tensor) and obs.dtype == torch.float32 and obs.shape == (3, 3)
    numpy_env = make_batched("pendulum", 3, device="cpu", array_type="numpy")
    obs, _ = numpy_env.reset(seed=0)
    assert isinstance(obs, np.ndarray) and numpy_env.observation_space.contains(obs)
    _, reward, terminated, truncated, _ = numpy_env.step(numpy_env.action_space.sample())
    assert reward.dtype == np.float32 and terminated.dtype == truncated.dtype == np.bool_


def test_every_mode_of_make_vec_that_can_pick_ours_does():
    for mode in (None, "vector_entry_point"):
        env = gym.make_vec("Foresight/BatchedCartPole-v0", num_envs=2, vectorization_mode=mode, device="cpu")
        assert env.max_episode_steps == 500 and env.num_envs == 2


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"device": "tpu"}, "valid: 'auto', 'cpu'"),
        ({"obs_mode": "depth"}, r"valid: state, rgb, rgb\+state"),
        ({"array_type": "jax"}, "valid: torch, numpy"),
        ({"masspol": 0.2}, "valid world parameters"),
        ({"backend": "cupy"}, "valid: auto, torch, numpy"),
    ],
)
def test_bad_options_name_the_value_and_the_valid_choices(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_batched("cartpole", 2, **kwargs)


def test_bad_world_and_bad_action_shape_raise_clear_errors():
    with pytest.raises(ValueError, match="valid: .*cartpole"):
        make_batched("cartpol", 2)
    env = make_batched("cartpole", 2, device="cpu")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(3,\), expected \(2,\)"):
        env.step(np.zeros(3, np.int64))


def test_gradients_flow_through_the_torch_env_step():
    env = make_batched("pendulum", 4, device="cpu", backend="torch")
    env.reset(seed=0)
    actions = torch.zeros(3, 4, 1, requires_grad=True)
    total = sum(env.step(actions[t])[1].sum() for t in range(3))
    total.backward()
    assert actions.grad[0].abs().sum() > 0  # the first torque changes later costs


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", ["cartpole", "point_mass_reach"])
def test_cuda_step_never_waits_for_the_device(name):
    env = make_batched(name, 1024, device="cuda", obs_mode="rgb" if name == "point_mass_reach" else "state")
    env.reset(seed=0)
    actions = torch.as_tensor(env.action_space.sample(), device="cuda")
    env.step(actions)  # warm-up (lazy CUDA initialisation may sync)
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(3):
            env.step(actions)
    finally:
        torch.cuda.set_sync_debug_mode("default")


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("obs_mode", ["state", "rgb"])
def test_a_step_makes_the_same_python_calls_for_4_or_64_worlds(backend, obs_mode):
    """No Python loop over worlds: the interpreter does the same work whatever N is."""
    import sys

    def calls_in_one_step(n):
        env = make_batched("point_mass_reach", n, device="cpu", backend=backend, obs_mode=obs_mode)
        env.reset(seed=0)
        action = np.zeros((n, 2), np.float32)
        env.step(action)  # warm-up
        count = [0]

        def profile(frame, event, arg):
            count[0] += event in ("call", "c_call")

        sys.setprofile(profile)
        try:
            env.step(action)
        finally:
            sys.setprofile(None)
        return count[0]

    assert calls_in_one_step(4) == calls_in_one_step(64)
