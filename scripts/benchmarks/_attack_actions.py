"""Attacks at the gym API (class 7): bad actions into every env id, and calls after ``close()``."""
from __future__ import annotations

import logging
import warnings

import numpy as np
from _attack_common import Tally

PYBULLET_IDS = ("Foresight/PandaReach-v0", "Foresight/PandaPush-v0", "Foresight/PandaPickAndPlace-v0",
                "Foresight/MobilePointNav-v0")


def _finite(obs) -> bool:
    values = obs.values() if isinstance(obs, dict) else [obs]
    return all(np.isfinite(np.asarray(v, dtype=np.float64)).all() for v in values)


def _clear(err: Exception, space) -> bool:
    """A clear error names the action and what was expected (the space, or its shape/dtype)."""
    text = str(err)
    return isinstance(err, (ValueError, TypeError)) and "action" in text.lower() and (
        str(space) in text or "expected" in text or "shape" in text)


def _one(env, action, space, valid) -> str:
    try:
        env.step(action)
    except Exception as err:  # noqa: BLE001 - every outcome is recorded
        outcome = "refused" if _clear(err, space) else f"obscure {type(err).__name__}"
        env.reset(seed=1)
        return outcome
    obs = env.step(valid)[0]  # what the next ordinary step sees after the bad one was accepted
    env.reset(seed=1)
    return "poisoned later observations" if not _finite(obs) else "accepted silently"


def _extreme(env, action, valid) -> str:
    try:
        obs = env.step(action)[0]
        obs = env.step(valid)[0] if _finite(obs) else obs
    except Exception as err:  # noqa: BLE001
        env.reset(seed=1)
        return f"refused a finite action ({type(err).__name__})"
    env.reset(seed=1)
    return "accepted" if _finite(obs) else "poisoned later observations"


def _attack_env(tally: Tally, env, space, label: str, batch: int | None = None) -> None:
    from tests.attacks.actions import bad_actions, extreme_actions

    env.reset(seed=0)
    valid = space.sample() if batch is None else np.stack([space.sample() for _ in range(batch)])
    for name, action in bad_actions(space, batch).items():
        tally.add(_one(env, action, space, valid), f"{label}: {name}")
    for name, action in extreme_actions(space, batch).items():
        tally.add(_extreme(env, action, valid), f"{label}: {name}")


def attack_actions() -> Tally:
    import gymnasium as gym

    import envs  # noqa: F401  (registers the ids)
    from envs.registration import BATCHED_WORLDS

    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    tally = Tally("7. bad actions at the gym API")
    for env_id in (*PYBULLET_IDS, *(f"Foresight/{n}" for n in BATCHED_WORLDS)):
        env = gym.make(env_id)
        _attack_env(tally, env.unwrapped, env.action_space, env_id)
        env.close()
        if env_id in PYBULLET_IDS:
            for call, fn in (("step", lambda e=env: e.unwrapped.step(e.action_space.sample())),
                             ("reset", lambda e=env: e.unwrapped.reset(seed=2))):
                try:
                    fn()
                    tally.add("accepted silently", f"{env_id}: {call} after close")
                except gym.error.ClosedEnvironmentError:
                    tally.add("refused", f"{env_id}: {call} after close")
                except Exception as err:  # noqa: BLE001
                    tally.add(f"obscure {type(err).__name__}", f"{env_id}: {call} after close")
    for name in BATCHED_WORLDS:
        vector = gym.make_vec(f"Foresight/{name}", num_envs=3, device="cpu")
        _attack_env(tally, vector, vector.single_action_space, f"Foresight/{name} x3", batch=3)
    return tally
