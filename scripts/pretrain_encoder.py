#!/usr/bin/env python3
"""Pre-train an image encoder with self-supervision on frames collected from an env.

Collects frames with random actions (or a scripted controller), trains the encoder with an
autoencoder, CURL-style contrastive or inverse-dynamics objective, and writes to ``--out``:
``encoder.pt`` (load with ``perception.checkpoint.load_encoder`` or pass as ``pretrained=`` to
``agents.sb3.features.policy_kwargs_for``), ``losses.json``, ``frames.npz`` and a PNG of
reconstructions (autoencoder) or nearest neighbours (other objectives).

Example:
    python scripts/pretrain_encoder.py --env Foresight/PandaPush-v0 --env-kwargs obs_mode=rgb \\
        --frames 2000 --objective contrastive --steps 1000 --out runs/encoders/push_curl
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import sys

import gymnasium as gym

import envs  # noqa: F401  (registers the Foresight/ ids)
from agents.evaluation.media import optional_output
from agents.progress import Progress
from agents.runs.cli import HelpFormatter, console_logging
from agents.training.hyperparams import parse_overrides
from perception.checkpoint import save_encoder
from perception.frames import collect_frames, image_of
from perception.pretrain import PretrainConfig, pretrain_encoder
from perception.visualize import neighbours_png, reconstruction_png


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--env", default="Foresight/PandaPush-v0", help="gymnasium id with image observations")
    parser.add_argument("--env-kwargs", nargs="*", default=None, metavar="KEY=VALUE",
                        help="gymnasium.make keyword arguments (values parsed as YAML; default: obs_mode=rgb for "
                             "Foresight/ ids, whose default observation is the state, none for other ids)")
    parser.add_argument("--image-key", default=None, help="image key when observations are dicts")
    parser.add_argument("--frames", type=int, default=2000, help="transitions to collect")
    parser.add_argument("--policy", default="random", help="random, or module:function returning a policy(env)")
    parser.add_argument("--out", default="runs/encoders/latest", help="output folder")
    parser.add_argument("--torch-threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    for field in dataclasses.fields(PretrainConfig):
        parser.add_argument(f"--{field.name.replace('_', '-')}", type=type(field.default), default=field.default,
                            help=field.metadata["help"])  # HelpFormatter adds the default
    return parser.parse_args(argv)


def make_policy(spec: str, env: gym.Env):
    """``"random"`` -> None (random actions); ``"pkg.mod:factory"`` -> ``factory(env)``."""
    if spec == "random":
        return None
    if ":" not in spec:
        raise SystemExit(f"--policy must be 'random' or 'module:function', got {spec!r}")
    module, name = spec.split(":", 1)
    return getattr(__import__(module, fromlist=[name]), name)(env)


def main(argv: list[str] | None = None) -> pathlib.Path:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    console_logging()
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    config = PretrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(PretrainConfig)})
    if args.env_kwargs is None:
        args.env_kwargs = ["obs_mode=rgb"] if args.env.startswith("Foresight/") else []
    env = gym.make(args.env, **parse_overrides(args.env_kwargs))
    try:  # before any frame is collected
        image_of(env.observation_space.sample(), args.image_key)
    except (ValueError, KeyError, TypeError) as err:
        env.close()
        raise SystemExit(f"{args.env} with --env-kwargs {' '.join(args.env_kwargs) or '(none)'} gives no image to "
                         f"pre-train on ({err}); pass e.g. --env-kwargs obs_mode=rgb, or --image-key KEY") from None
    policy = make_policy(args.policy, env)
    with Progress(args.frames, "collect frames", unit="frame", enabled=not args.no_progress) as bar:
        dataset = collect_frames(env, args.frames, args.image_key, policy, seed=config.seed, on_step=bar.set)
    env.close()
    with Progress(config.steps, f"pre-train ({config.objective})", unit="step", enabled=not args.no_progress) as bar:
        encoder, objective, losses = pretrain_encoder(dataset, config, on_step=bar.set)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    save_encoder(encoder, out / "encoder.pt", extra={"config": dataclasses.asdict(config), "env": args.env})
    dataset.save(out / "frames.npz")
    (out / "losses.json").write_text(json.dumps({"config": dataclasses.asdict(config), "losses": losses}))
    if config.objective == "autoencoder":
        with optional_output("reconstructions.png"):
            reconstruction_png(objective, dataset.frames[:: max(1, len(dataset) // 8)][:8], out / "reconstructions.png")
    else:
        with optional_output("neighbours.png"):
            neighbours_png(encoder, dataset.frames[:1000], out / "neighbours.png")
    print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f}; wrote {out}")
    return out


if __name__ == "__main__":
    main()
