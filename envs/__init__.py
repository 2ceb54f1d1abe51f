"""Foresight worlds: PyBullet scenes and batched torch simulators behind the gymnasium API.

Importing this package only registers the ``Foresight/...`` ids with gymnasium. PyBullet, torch
and renderers are imported when an environment is made, so ``import envs`` stays cheap.

Example:
    >>> import gymnasium as gym
    >>> import envs  # noqa: F401  (registers the ids)
    >>> "Foresight/PandaReach-v0" in gym.registry
    True
"""
from envs.registration import register_all

register_all()

__all__ = ["register_all"]
