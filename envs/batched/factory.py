"""Build batched worlds by name: the entry points of the ``Foresight/Batched...`` ids."""
from __future__ import annotations

import inspect
from typing import Any

from envs.batched.arm import ArmReach
from envs.batched.cartpole import CartPole
from envs.batched.pendulum import Pendulum
from envs.batched.point_mass import PointMassReach
from envs.batched.single_env import BatchedWorldEnv
from envs.batched.spaceship import Spaceship
from envs.batched.vector_env import BatchedVectorEnv
from envs.batched.world import BatchedWorld
from foresight_base.checks import check_choice

WORLDS: dict[str, type[BatchedWorld]] = {
    "cartpole": CartPole,
    "pendulum": Pendulum,
    "point_mass_reach": PointMassReach,
    "arm_reach": ArmReach,
    "spaceship": Spaceship,
}


def _split_options(world: str, kwargs: dict[str, Any], env_type: type) -> tuple[dict, dict]:
    """Split ``kwargs`` into (world parameters, env options); unknown names raise, listing both."""
    check_choice("batched world", world, sorted(WORLDS))
    env_options = set(inspect.signature(env_type).parameters) - {"world", "num_envs"}
    world_fields = WORLDS[world].fields()
    unknown = set(kwargs) - env_options - set(world_fields)
    if unknown:
        raise ValueError(
            f"unknown option(s) {sorted(unknown)} for world {world!r}; valid env options: "
            f"{sorted(env_options)}; valid world parameters: {world_fields}"
        )
    world_kwargs = {k: v for k, v in kwargs.items() if k not in env_options}
    return world_kwargs, {k: v for k, v in kwargs.items() if k in env_options}


def make_batched(world: str, num_envs: int = 1, **kwargs: Any) -> BatchedVectorEnv:
    """``BatchedVectorEnv`` of the named world; ``kwargs`` are env options or world parameters.

    Example:
        >>> env = make_batched("cartpole", num_envs=4, device="cpu", masspole=0.2)
        >>> env.world.masspole, env.observation_space.shape
        (0.2, (4, 4))
    """
    world_kwargs, env_kwargs = _split_options(world, kwargs, BatchedVectorEnv)
    return BatchedVectorEnv(WORLDS[world](**world_kwargs), num_envs, **env_kwargs)


def make_single(world: str, **kwargs: Any) -> BatchedWorldEnv:
    """One world as a ``gymnasium.Env`` (the ``entry_point`` of the batched ids, for ``gym.make``)."""
    world_kwargs, env_kwargs = _split_options(world, kwargs, BatchedWorldEnv)
    return BatchedWorldEnv(WORLDS[world](**world_kwargs), **env_kwargs)
