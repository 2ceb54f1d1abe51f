"""Batched torch worlds: N environments as one tensor, stepped without a Python loop over worlds.

Importing this package imports torch; ``import envs`` does not (ids are registered by string).

Example:
    >>> import gymnasium as gym
    >>> import envs  # noqa: F401  (registers the ids)
    >>> env = gym.make_vec("Foresight/BatchedCartPole-v0", num_envs=8, device="cpu")
    >>> obs, info = env.reset(seed=0)
    >>> tuple(obs.shape)
    (8, 4)
"""
from envs.batched.arm import ArmReach
from envs.batched.cartpole import CartPole
from envs.batched.factory import WORLDS, make_batched, make_single
from envs.batched.pendulum import Pendulum
from envs.batched.point_mass import PointMassReach
from envs.batched.raster import Canvas
from envs.batched.rollout import rollout
from envs.batched.single_env import BatchedWorldEnv
from envs.batched.spaceship import Spaceship
from envs.batched.vector_env import BatchedVectorEnv
from envs.batched.world import BatchedWorld

__all__ = [
    "ArmReach",
    "BatchedVectorEnv",
    "BatchedWorld",
    "BatchedWorldEnv",
    "Canvas",
    "CartPole",
    "Pendulum",
    "PointMassReach",
    "Spaceship",
    "WORLDS",
    "make_batched",
    "make_single",
    "rollout",
]
