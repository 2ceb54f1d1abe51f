#!/usr/bin/env python3
"""Fit a forward model on a collected dataset and report it against honest baselines.

Prints k-step open-loop errors (k = 1, 5, 10, 20) of the model, "copy the last state" and a
linear model on held-out episodes, plus ensemble calibration, and says plainly whether the model
beats the baselines. Writes ``model.pt`` (load with ``world_models.models.load_model``) and
``report.json`` to ``--out``.

Image datasets (a uint8 image observation, or a dict holding one) train the latent pixel model
instead (encoder from ``perception``, frames drawn over the last real one, early stopping on
held-out episodes) and report open-loop frame error against copying the last frame, with
``strip.png``: real frames on top, predicted ones below. Each model has its own defaults (the
pixel model's take about a minute of CPU for 10 episodes of 64x64 frames).

Example:
    python scripts/collect.py --env Pendulum-v1 --episodes 20 --out data/pendulum-random-v0
    python scripts/fit_world_model.py --data data/pendulum-random-v0
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import sys

import torch

from agents.evaluation.media import optional_output
from agents.progress import Progress
from agents.runs.cli import HelpFormatter, console_logging
from foresight_base import tensor_file
from foresight_base.devices import resolve_device
from world_models.data import read_episodes, read_metadata
from world_models.fitting import FitConfig
from world_models.latent import LATENT_FORMAT
from world_models.models import ModelConfig, save_model
from world_models.pixel_report import (
    PixelFitConfig,
    fit_pixel_model,
    has_image,
    image_key,
    make_pixel_model,
    pixel_datasets,
    write_png,
)
from world_models.report import fit_and_report, format_report
from world_models.spaces import StateLayout, space_to_json

STATE_BATCH = FitConfig().batch_size
PIXELS = PixelFitConfig()


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--data", required=True, help="dataset folder written by scripts/collect.py")
    parser.add_argument("--out", default=None, help="output folder (default: runs/world_models/<dataset>)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help=f"minibatch (default: the model's own, {STATE_BATCH} transitions for state models, "
                             f"{PIXELS.batch_size} sequences for the pixel model)")
    parser.add_argument("--test-fraction", type=float, default=0.2, help="share of episodes held out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch CPU threads (1 is fastest for these sizes on a shared CPU; 0: torch's default)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    state = parser.add_argument_group("state datasets (ensemble / MLP)")
    state.add_argument("--ensemble-size", type=int, default=5, help="members (1 with --deterministic: an MLP)")
    state.add_argument("--hidden-size", type=int, default=200, help="units per hidden layer")
    state.add_argument("--num-layers", type=int, default=3, help="hidden layers")
    state.add_argument("--deterministic", action="store_true", help="MSE-trained means, no Gaussian heads")
    state.add_argument("--euler-dims", type=int, nargs="*", default=[],
                       help="start index of each (roll, pitch, yaw) triple in the model state (e.g. 10 for "
                            "PandaPush goal obs): modelled as rotation features, errors free of angle wrap")
    state.add_argument("--std-floor", type=float, default=1e-6,
                       help="smallest std the normalisers and the error units divide by, state units "
                            "(1e-3: 1 mm / 1 mrad, keeps micrometre-jitter dims from dominating)")
    state.add_argument("--max-epochs", type=int, default=FitConfig().max_epochs, help="epochs at most (early stopping)")
    state.add_argument("--ks", type=int, nargs="+", default=[1, 5, 10, 20], help="open-loop horizons")
    pixels = parser.add_argument_group("image datasets (latent pixel model; defaults: about a minute of CPU)")
    pixels.add_argument("--encoder", default=PIXELS.encoder, choices=("nature", "impala", "keypoints"),
                        help="perception encoder")
    pixels.add_argument("--seq-len", type=int, default=PIXELS.seq_len, help="frames per training sequence")
    pixels.add_argument("--context", type=int, default=PIXELS.context, help="real frames filtered before imagining")
    pixels.add_argument("--train-steps", type=int, default=PIXELS.steps,
                        help="gradient updates at most (early stopping on held-out episodes)")
    args = parser.parse_args(argv)
    for name in ("batch_size", "train_steps", "seq_len", "context", "max_epochs"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    if not 0 < args.test_fraction < 1:
        parser.error(f"--test-fraction must be in (0, 1), got {args.test_fraction}")
    return args


def fit_pixels(args: argparse.Namespace, metadata: dict, key: str | None, out: pathlib.Path) -> dict:
    """Latent pixel model: train on sequences of the training episodes, report on the held-out ones."""
    config = dataclasses.replace(PIXELS, steps=args.train_steps, seq_len=args.seq_len, context=args.context,
                                 encoder=args.encoder, batch_size=args.batch_size or PIXELS.batch_size,
                                 test_len=max(PIXELS.test_len, args.context + 1))
    train, holdout, test = pixel_datasets(read_episodes(args.data), key, config, args.test_fraction, args.seed)
    torch.manual_seed(args.seed)
    model = make_pixel_model(tuple(train.frames.shape[2:]), train.actions.shape[-1], config.encoder,
                             config.features_dim, config.latent).to(resolve_device(args.device))
    with Progress(config.steps, "fit pixel model", unit="update", enabled=not args.no_progress) as bar:
        report, strip = fit_pixel_model(train, holdout, test, model, config, args.seed, bar.set)
    tensor_file.save({"format": LATENT_FORMAT, "model": model.cpu().state_dict(), "encoder": config.encoder,
                "features_dim": config.features_dim, "latent_config": dataclasses.asdict(config.latent),
                "frame_shape": list(train.frames.shape[2:]), "action_dim": int(train.actions.shape[-1]),
                "observation_space": space_to_json(metadata["observation_space"])}, out / "model.pt")
    with optional_output("strip.png"):
        write_png(strip, out / "strip.png")
        report["strip"] = str(out / "strip.png")
    return report


def fit_state(args: argparse.Namespace, metadata: dict, out: pathlib.Path) -> dict:
    """Ensemble (or MLP) on the state: k-step errors against copy-last and linear on held-out episodes."""
    layout = StateLayout(metadata["observation_space"])
    model_config = ModelConfig(args.ensemble_size, args.hidden_size, args.num_layers, not args.deterministic,
                               euler_dims=tuple(args.euler_dims), std_floor=args.std_floor)
    fit_config = FitConfig(max_epochs=args.max_epochs, batch_size=args.batch_size or STATE_BATCH)
    with Progress(args.max_epochs, "fit world model", unit="epoch", enabled=not args.no_progress) as bar:
        model, report = fit_and_report(read_episodes(args.data), layout, model_config, fit_config, tuple(args.ks),
                                       args.test_fraction, args.seed, resolve_device(args.device), on_epoch=bar.set)
    save_model(str(out / "model.pt"), model.cpu(),
               {"observation_space": space_to_json(metadata["observation_space"]),
                "action_space": space_to_json(metadata["action_space"])})
    return report


def main(argv: list[str]) -> int:
    args = parse(argv)
    console_logging()
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    try:
        metadata = read_metadata(args.data)
    except (FileNotFoundError, ValueError) as err:
        raise SystemExit(f"--data {args.data}: not a dataset written by scripts/collect.py ({err})") from None
    out = pathlib.Path(args.out or f"runs/world_models/{pathlib.Path(args.data).name}")
    out.mkdir(parents=True, exist_ok=True)
    try:
        return _fit(args, metadata, out)
    except ValueError as err:  # data the model cannot use (too short, no image...), named by the library
        raise SystemExit(f"fit_world_model.py: {err}") from None


def _fit(args: argparse.Namespace, metadata: dict, out: pathlib.Path) -> int:
    if has_image(metadata["observation_space"]):
        report = fit_pixels(args, metadata, image_key(metadata["observation_space"]), out)
        (out / "report.json").write_text(json.dumps(report, indent=2))
        print(json.dumps(report["frame_mse"], indent=1), report["verdict"], sep="\n")
        print(f"wrote {out / 'model.pt'} and {out / 'report.json'}" + (f", strip: {report['strip']}" if "strip"
        in report else ""))
        return 0
    report = fit_state(args, metadata, out)
    (out / "report.json").write_text(json.dumps(report, indent=2))
    print(format_report(report))
    print(f"wrote {out / 'model.pt'} and {out / 'report.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
