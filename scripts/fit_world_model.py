#!/usr/bin/env python3
"""Fit a forward model on a collected dataset and report it against honest baselines.

Prints k-step open-loop errors (k = 1, 5, 10, 20) of the model, "copy the last state" and a
linear model on held-out episodes, plus ensemble calibration, and says plainly whether the model
beats the baselines. Writes ``model.pt`` (load with ``world_models.models.load_model``) and
``report.json`` to ``--out``.

Example:
    python scripts/collect.py --env Pendulum-v1 --episodes 20 --out data/pendulum-random-v0
    python scripts/fit_world_model.py --data data/pendulum-random-v0
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

from world_models.data import read_episodes, read_metadata
from world_models.devices import resolve_device
from world_models.models import ModelConfig, save_model
from world_models.report import fit_and_report, format_report
from world_models.spaces import StateLayout, space_to_json
from world_models.training import TrainConfig


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="dataset folder written by scripts/collect.py")
    parser.add_argument("--out", default=None, help="output folder (default runs/world_models/<dataset>)")
    parser.add_argument("--ensemble-size", type=int, default=5, help="members (1 with --deterministic: an MLP)")
    parser.add_argument("--hidden-size", type=int, default=200, help="units per hidden layer")
    parser.add_argument("--num-layers", type=int, default=3, help="hidden layers")
    parser.add_argument("--deterministic", action="store_true", help="MSE-trained means, no Gaussian heads")
    parser.add_argument("--max-epochs", type=int, default=50, help="epochs at most (early stopping)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 5, 10, 20], help="open-loop horizons")
    parser.add_argument("--test-fraction", type=float, default=0.2, help="share of episodes held out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    metadata = read_metadata(args.data)
    layout = StateLayout(metadata["observation_space"])
    model_config = ModelConfig(args.ensemble_size, args.hidden_size, args.num_layers, not args.deterministic)
    model, report = fit_and_report(read_episodes(args.data), layout, model_config,
                                   TrainConfig(max_epochs=args.max_epochs, batch_size=args.batch_size),
                                   tuple(args.ks), args.test_fraction, args.seed, resolve_device(args.device))
    out = pathlib.Path(args.out or f"runs/world_models/{pathlib.Path(args.data).name}")
    out.mkdir(parents=True, exist_ok=True)
    save_model(str(out / "model.pt"), model.cpu(),
               {"observation_space": space_to_json(metadata["observation_space"]),
                "action_space": space_to_json(metadata["action_space"])})
    (out / "report.json").write_text(json.dumps(report, indent=2))
    print(format_report(report))
    print(f"wrote {out / 'model.pt'} and {out / 'report.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
