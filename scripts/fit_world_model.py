#!/usr/bin/env python3
"""Fit a forward model on a collected dataset and report it against honest baselines.

Prints k-step open-loop errors (k = 1, 5, 10, 20) of the model, "copy the last state" and a
linear model on held-out episodes, plus ensemble calibration, and says plainly whether the model
beats the baselines. Writes ``model.pt`` (load with ``world_models.models.load_model``) and
``report.json`` to ``--out``.

Image datasets (a uint8 image observation, or a dict holding one) train the latent pixel model
instead (encoder from ``perception``) and report open-loop frame error against copying the last
frame, with ``strip.png``: real frames on top, predicted ones below.

Example:
    python scripts/collect.py --env Pendulum-v1 --episodes 20 --out data/pendulum-random-v0
    python scripts/fit_world_model.py --data data/pendulum-random-v0
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

import torch

from foresight_base import tensor_file
from foresight_base.devices import resolve_device
from world_models.data import read_episodes, read_metadata
from world_models.fitting import FitConfig
from world_models.latent import LATENT_FORMAT
from world_models.models import ModelConfig, save_model
from world_models.pixel_report import episode_sequences, fit_pixel_model, has_image, image_key, make_pixel_model
from world_models.report import fit_and_report, format_report, split_episodes
from world_models.spaces import StateLayout, space_to_json


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="dataset folder written by scripts/collect.py")
    parser.add_argument("--out", default=None, help="output folder (default runs/world_models/<dataset>)")
    parser.add_argument("--ensemble-size", type=int, default=5, help="members (1 with --deterministic: an MLP)")
    parser.add_argument("--hidden-size", type=int, default=200, help="units per hidden layer")
    parser.add_argument("--num-layers", type=int, default=3, help="hidden layers")
    parser.add_argument("--deterministic", action="store_true", help="MSE-trained means, no Gaussian heads")
    parser.add_argument("--euler-dims", type=int, nargs="*", default=[],
                        help="start index of each (roll, pitch, yaw) triple in the model state (e.g. 10 for "
                             "PandaPush goal obs): modelled as rotation features, errors free of angle wrap")
    parser.add_argument("--std-floor", type=float, default=1e-6,
                        help="smallest std the normalisers and the error units divide by, state units "
                             "(1e-3: 1 mm / 1 mrad, keeps micrometre-jitter dims from dominating)")
    parser.add_argument("--max-epochs", type=int, default=50, help="epochs at most (early stopping)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 5, 10, 20], help="open-loop horizons")
    parser.add_argument("--test-fraction", type=float, default=0.2, help="share of episodes held out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
    pixels = parser.add_argument_group("image datasets (latent pixel model)")
    pixels.add_argument("--encoder", default="nature", help="perception encoder: nature | impala | keypoints")
    pixels.add_argument("--seq-len", type=int, default=16, help="frames per training sequence")
    pixels.add_argument("--context", type=int, default=5, help="real frames filtered before imagining")
    pixels.add_argument("--train-steps", type=int, default=2000, help="gradient updates")
    return parser.parse_args(argv)


def fit_pixels(args: argparse.Namespace, metadata: dict, key: str | None, out: pathlib.Path) -> dict:
    """Latent pixel model: train on sequences of the training episodes, report on the held-out ones."""
    train_episodes, test_episodes = split_episodes(read_episodes(args.data), args.test_fraction, args.seed)
    train, test = (episode_sequences(e, key, args.seq_len) for e in (train_episodes, test_episodes))
    torch.manual_seed(args.seed)
    model = make_pixel_model(tuple(train.frames.shape[2:]), train.actions.shape[-1], args.encoder)
    report = fit_pixel_model(train, test, model.to(resolve_device(args.device)), args.train_steps, args.context,
                             out / "strip.png", args.batch_size, args.seed)
    tensor_file.save({"format": LATENT_FORMAT, "model": model.cpu().state_dict(), "encoder": args.encoder,
                      "observation_space": space_to_json(metadata["observation_space"])}, out / "model.pt")
    return report


def main(argv: list[str]) -> int:
    args = parse(argv)
    metadata = read_metadata(args.data)
    out = pathlib.Path(args.out or f"runs/world_models/{pathlib.Path(args.data).name}")
    out.mkdir(parents=True, exist_ok=True)
    if has_image(metadata["observation_space"]):
        report = fit_pixels(args, metadata, image_key(metadata["observation_space"]), out)
        (out / "report.json").write_text(json.dumps(report, indent=2))
        print(json.dumps(report["frame_mse"], indent=1), report["verdict"], f"strip: {report['strip']}", sep="\n")
        return 0
    layout = StateLayout(metadata["observation_space"])
    model_config = ModelConfig(args.ensemble_size, args.hidden_size, args.num_layers, not args.deterministic,
                               euler_dims=tuple(args.euler_dims), std_floor=args.std_floor)
    model, report = fit_and_report(read_episodes(args.data), layout, model_config,
                                   FitConfig(max_epochs=args.max_epochs, batch_size=args.batch_size),
                                   tuple(args.ks), args.test_fraction, args.seed, resolve_device(args.device))
    save_model(str(out / "model.pt"), model.cpu(),
               {"observation_space": space_to_json(metadata["observation_space"]),
                "action_space": space_to_json(metadata["action_space"])})
    (out / "report.json").write_text(json.dumps(report, indent=2))
    print(format_report(report))
    print(f"wrote {out / 'model.pt'} and {out / 'report.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
