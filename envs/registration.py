"""Gymnasium ids under the ``Foresight/`` namespace.

Entry points are strings, so nothing heavy is imported until ``gymnasium.make`` is called.
Options such as ``obs_mode``, ``reward_type``, ``control``, ``randomize`` and image size are
``gymnasium.make`` keyword arguments of the PyBullet ids.
"""
from __future__ import annotations

import gymnasium as gym

NAMESPACE = "Foresight"


def _register(env_id: str, **kwargs) -> None:
    """Register once; re-importing (e.g. under pytest) must not warn about overriding."""
    if env_id not in gym.registry:
        gym.register(id=env_id, **kwargs)


def _register_pybullet() -> None:
    """PyBullet worlds (one simulator client per env instance); steps of 0.04 s."""
    for name in ("PandaReach", "PandaPush", "PandaPickAndPlace"):
        _register(f"{NAMESPACE}/{name}-v0", entry_point=f"envs.panda_envs:{name}Env", max_episode_steps=50)
    _register(f"{NAMESPACE}/MobilePointNav-v0", entry_point="envs.mobile_envs:MobilePointNavEnv", max_episode_steps=200)


#: Batched world ids: name in ``envs.batched.factory.WORLDS`` and episode length (steps).
BATCHED_WORLDS = {
    "BatchedCartPole-v0": ("cartpole", 500),
    "BatchedPendulum-v0": ("pendulum", 200),
    "BatchedPointMassReach-v0": ("point_mass_reach", 100),
    "BatchedArmReach-v0": ("arm_reach", 100),
    "BatchedSpaceship-v0": ("spaceship", 200),
}


def _register_batched() -> None:
    """Batched torch worlds: ``gymnasium.make_vec(id, num_envs=N)`` gives N worlds as one tensor.

    ``make_vec`` (default mode) builds our ``BatchedVectorEnv``; ``make`` builds one world as a
    plain ``Env``. Options (``device``, ``obs_mode``, ``array_type``, world parameters...) are
    keywords of ``make_vec`` / ``make``.
    """
    for name, (world, max_steps) in BATCHED_WORLDS.items():
        _register(
            f"{NAMESPACE}/{name}",
            entry_point="envs.batched.factory:make_single",
            vector_entry_point="envs.batched.factory:make_batched",
            kwargs={"world": world},
            max_episode_steps=max_steps,
        )


def register_all() -> None:
    _register_pybullet()
    _register_batched()
