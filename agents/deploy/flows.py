"""Export flows behind ``scripts/deploy.py export``: from an SB3 model zip or a training run folder.

Both write the file, load it back through the runtime the robot will use, and compare it with
the original policy on ``check`` observations sampled from the observation space (seeded).
"""
from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium import spaces

from agents.deploy.export import ObsNormalizer, export_onnx, export_program, verify_export
from agents.deploy.runtime import load_policy

FORMATS = (".onnx", ".pt2")


def sample_observations(space: spaces.Space, count: int, seed: int = 0) -> Any:
    """``count`` samples stacked as a batch [N, ...] (a dict of batches for Dict spaces)."""
    space.seed(seed)
    samples = [space.sample() for _ in range(count)]
    if isinstance(space, spaces.Dict):
        return {k: np.stack([s[k] for s in samples]) for k in space.spaces}
    return np.stack(samples)


def _write(policy: Any, out: pathlib.Path, normalizer: ObsNormalizer | None, space: spaces.Space,
           action_space: spaces.Space | None = None) -> pathlib.Path:
    if out.suffix not in FORMATS:
        raise ValueError(f"output {out} must end in one of {FORMATS}")
    writer = export_onnx if out.suffix == ".onnx" else export_program
    return writer(policy, out, observation_space=space, action_space=action_space, normalizer=normalizer)


def _checked(reference: Callable[[Any], np.ndarray], out: pathlib.Path, space: spaces.Space, check: int) -> dict:
    error = verify_export(reference, load_policy(out), sample_observations(space, check))
    return {"exported": str(out), "checked_observations": check, "max_abs_error": error}


def export_sb3_zip(model: str | pathlib.Path, algo: str, env_id: str, env_kwargs: dict[str, Any],
                   out: str | pathlib.Path, check: int = 1000) -> dict:
    """SB3 model zip -> ``out`` (.onnx or .pt2); the env id gives the spaces (nothing is unpickled)."""
    import gymnasium as gym

    from agents.runs.sb3_load import load_sb3_policy

    env = gym.make(env_id, **env_kwargs)
    obs_space, act_space = env.observation_space, env.action_space
    env.close()
    policy = load_sb3_policy(model, algo, obs_space, act_space)
    out = _write(policy, pathlib.Path(out), None, obs_space)
    return _checked(lambda obs: policy.predict(obs, deterministic=True)[0], out, obs_space, check)


def export_run(run: str | pathlib.Path, out: str | pathlib.Path, which: str = "best", check: int = 1000) -> dict:
    """A training run folder (``scripts/train.py``) -> ``out``, VecNormalize statistics folded in."""
    from agents.runs.loading import load_run

    loaded = load_run(run, which, device="cpu")
    vec_normalize = getattr(loaded.obs_transform, "__self__", None)
    normalizer = None if vec_normalize is None else ObsNormalizer.from_vec_normalize(vec_normalize)
    transform = loaded.obs_transform or (lambda obs: obs)
    env = loaded.make_env()
    space = env.observation_space  # the layout the robot sends (channel-last images)
    env.close()
    model = loaded.model
    if hasattr(model, "prior_policy"):  # a planning agent ships its policy prior (planning needs the model)
        space = model.acting_space()  # less the entries it trained on but never reads (privileged state)
        out = _write(model.prior_policy(), pathlib.Path(out), normalizer, space, model.action_space)
        reference = lambda obs: model.predict_prior(transform(obs))  # noqa: E731
    else:
        out = _write(model, pathlib.Path(out), normalizer, space)
        reference = lambda obs: model.predict(transform(obs), deterministic=True)[0]  # noqa: E731
    return {**_checked(reference, out, space, check), "checkpoint": str(loaded.checkpoint)}
