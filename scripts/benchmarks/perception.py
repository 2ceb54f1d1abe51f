#!/usr/bin/env python3
"""Perception benchmarks, ours and a peer side by side in one run (medians of interleaved repeats).

Sub-commands (``python scripts/benchmark.py perception <name> --help``):
  augment       DrQ random shift: ours (index gather) vs DrQ's pad + grid_sample, and a per-sample loop.
  encoders      forward+backward of our NatureCNN vs SB3's NatureCNN (same architecture).
  localization  3D error on random Foresight/PandaPush-v0 scenes vs the true position.
  probe         linear probe R^2 of frozen features: SSL-pretrained vs random encoders.
  pixels        PandaReach from 84x84 pixels: scratch vs SSL encoder vs intermediate representation.
  locate        what one frame shows: a CNN trained on the true positions vs predicting their mean.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from foresight_base.devices import resolve_device
from perception.augment import RandomShift
from perception.encoders import NatureCNN


def interleaved(candidates: dict[str, Callable[[], object]], repeats: int, sync: Callable[[], None]) -> dict:
    """Median seconds per call of each candidate, timed round-robin so machine noise hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for fn in candidates.values():  # warm-up
        fn()
    for _ in range(repeats):
        for name, fn in candidates.items():
            sync()
            start = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def report(medians: dict[str, float], unit_count: int, unit: str) -> None:
    ours = next(iter(medians.values()))
    for name, seconds in medians.items():
        print(f"{name:28s} {seconds * 1e3:9.3f} ms  {unit_count / seconds:12.0f} {unit}/s  "
              f"ratio vs ours {seconds / ours:6.2f}")  # fmt: skip


def drq_shift(images: torch.Tensor, pad: int = 4) -> torch.Tensor:
    """The peer: DrQ's RandomShiftsAug (replicate pad, then grid_sample with integer offsets)."""
    n, _, h, w = images.shape
    x = F.pad(images.float(), (pad,) * 4, mode="replicate")
    eps = 1.0 / (h + 2 * pad)
    arange = torch.linspace(-1.0 + eps, 1.0 - eps, h + 2 * pad, device=x.device)[:h]
    arange = arange.unsqueeze(0).repeat(h, 1).unsqueeze(2)
    base = torch.cat([arange, arange.transpose(1, 0)], dim=2).unsqueeze(0).repeat(n, 1, 1, 1)
    shift = torch.randint(0, 2 * pad + 1, (n, 1, 1, 2), device=x.device, dtype=x.dtype) * 2.0 / (h + 2 * pad)
    return F.grid_sample(x, base + shift, padding_mode="zeros", align_corners=False)


def loop_shift(images: torch.Tensor, pad: int = 4) -> torch.Tensor:
    """A second peer: pad and crop one sample at a time (the naive version)."""
    padded = F.pad(images.float(), (pad,) * 4, mode="replicate")
    offsets = torch.randint(0, 2 * pad + 1, (len(images), 2)).tolist()
    h, w = images.shape[-2:]
    return torch.stack([p[:, dy : dy + h, dx : dx + w] for p, (dy, dx) in zip(padded, offsets, strict=True)])


def bench_augment(args: argparse.Namespace) -> None:
    device = resolve_device(args.device)
    frames = torch.randint(0, 256, (args.batch, 9, 84, 84), dtype=torch.uint8, device=device)
    floats = frames.float()
    ours = RandomShift(pad=4)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    medians = interleaved({
        "ours RandomShift (uint8)": lambda: ours(frames),
        "ours RandomShift (float)": lambda: ours(floats),
        "DrQ pad+grid_sample (float)": lambda: drq_shift(floats),
        "per-sample loop (float)": lambda: loop_shift(floats),
    }, args.repeats, sync)  # fmt: skip
    print(f"random shift, batch {args.batch} x 9 x 84 x 84, device {device}, {torch.get_num_threads()} threads")
    report(medians, args.batch, "frames")


def bench_encoders(args: argparse.Namespace) -> None:
    from gymnasium.spaces import Box
    from stable_baselines3.common.torch_layers import NatureCNN as SB3NatureCNN

    device = resolve_device(args.device)
    torch.manual_seed(0)
    ours = NatureCNN(9, 512).to(device)
    peer = SB3NatureCNN(Box(0, 255, (9, 84, 84), "uint8"), 512).to(device)
    frames = torch.randint(0, 256, (args.batch, 9, 84, 84), dtype=torch.uint8, device=device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    medians = interleaved({
        "ours NatureCNN (uint8 in)": lambda: ours(frames).sum().backward(),
        "SB3 NatureCNN (float in)": lambda: peer(frames.float() / 255).sum().backward(),
    }, args.repeats, sync)  # fmt: skip
    print(f"forward+backward, batch {args.batch} x 9 x 84 x 84, device {device}, {torch.get_num_threads()} threads")
    report(medians, args.batch, "frames")


def bench_probe(args: argparse.Namespace) -> None:
    """Linear-probe R^2 (object xyz, gripper xyz) of frozen features: random vs SSL encoders."""
    import gymnasium as gym

    from perception.frames import collect_frames
    from perception.pretrain import PretrainConfig, pretrain_encoder
    from perception.probe import encode_frames, linear_probe
    from scripts.benchmarks._perception_tasks import noisy_expert, probe_labels

    # short episodes: many object and goal placements in few frames
    env = gym.make(args.env, obs_mode="rgb", image_size=args.image_size, max_episode_steps=args.episode_steps)
    start = time.perf_counter()
    data = collect_frames(env, args.frames, policy=noisy_expert(env, 0.7, args.seed), labels=probe_labels,
                          seed=args.seed)
    print(f"{args.env}: {len(data)} frames {tuple(data.frames.shape[1:])} in {time.perf_counter() - start:.0f} s")
    train, test = data.split(0.7)
    names = ["object x", "object y", "object z", "gripper x", "gripper y", "gripper z"]
    print(f"{'encoder':14s} " + " ".join(f"{n:>9s}" for n in names) + "   mean  train-s")
    for objective in ["random", *args.objectives]:
        config = PretrainConfig(objective="contrastive" if objective == "random" else objective,
                                features_dim=args.features_dim, steps=0 if objective == "random" else args.steps,
                                batch_size=64, seed=args.seed, device=args.device)  # fmt: skip
        start = time.perf_counter()
        encoder, _, _ = pretrain_encoder(train, config)
        seconds = time.perf_counter() - start
        r2 = linear_probe(encode_frames(encoder, train.frames), train.labels.numpy(),
                          encode_frames(encoder, test.frames), test.labels.numpy())  # fmt: skip
        print(f"{objective:14s} " + " ".join(f"{v:9.3f}" for v in r2) + f" {r2.mean():6.3f} {seconds:7.0f}")


def bench_localization(args: argparse.Namespace) -> None:
    """3D error of the cube's position on random PandaPush scenes (arm often in the way)."""
    import gymnasium as gym
    import numpy as np

    from envs.tasks.tabletop import OBJECT_HALF_SIZE
    from perception.localization import localize, segmentation_mask
    from perception.wrappers import ObjectSpec
    from scripts.benchmarks._perception_tasks import object_position, random_push_scene

    env = gym.make("Foresight/PandaPush-v0", obs_mode="state", image_size=args.image_size)
    unwrapped = env.unwrapped
    cube = ObjectSpec.cube(OBJECT_HALF_SIZE)
    methods = {  # the naive peer: mask centroid on the visible surface
        "ours": cube.localize_kwargs(),
        "naive centroid": {"projected_area": cube.projected_area},
    }
    results = {name: [] for name in methods}  # (visible, error in metres)
    start = time.perf_counter()
    for scene in range(args.scenes):
        random_push_scene(env, args.seed + scene)
        frames = unwrapped.render_frames()
        mask = segmentation_mask(frames.segmentation[..., 0], unwrapped.segmentation_ids["object"])
        truth = object_position(env)
        for name, kwargs in methods.items():
            found = localize(mask, frames.depth[..., 0], unwrapped.camera_intrinsics, unwrapped.camera_pose, **kwargs)
            error = np.linalg.norm(found.position - truth) if found.visible else np.nan
            results[name].append((found.visible, error))
    print(f"{args.scenes} PandaPush scenes at {args.image_size} px in {time.perf_counter() - start:.0f} s")
    print(f"{'method':16s} {'visible':>8s} {'median mm':>10s} {'p95 mm':>8s} {'max mm':>8s} {'>5cm & visible':>15s}")
    for name, rows in results.items():
        visible = np.array([v for v, _ in rows])
        errors = np.array([e for v, e in rows if v]) * 1000
        wrong = (errors > 50).sum() / len(rows)
        print(f"{name:16s} {visible.mean():8.1%} {np.median(errors):10.2f} {np.percentile(errors, 95):8.2f} "
              f"{errors.max():8.2f} {wrong:15.2%}")  # fmt: skip


def bench_pixels(args: argparse.Namespace) -> None:
    """PandaReach from 84x84 pixels: scratch vs SSL encoder vs intermediate representation (SAC)."""
    import pathlib

    from scripts.benchmarks._perception_pixels import load_curves, plot, run_variant, summary, verdict

    out = pathlib.Path(args.out)
    for seed in args.seeds:
        for variant in args.variants:
            run_variant(variant, args.steps, args.eval_every, args.eval_episodes, seed, args.encoder, out,
                        args.initial_temperature)
    print(f"plot: {plot(out)}")
    table = summary(load_curves(out))
    for variant, row in sorted(table.items()):
        print(f"{variant:13s} steps to 90 % per seed {row['steps_to_level']} (budgets {row['budget']})")
    print(verdict(table))


def bench_locate(args: argparse.Namespace) -> None:
    """Held-out 3-D error of a CNN trained on the true object and gripper positions, against the mean."""
    import gymnasium as gym
    import numpy as np

    from agents.training.hyperparams import parse_overrides
    from perception.frames import collect_frames
    from perception.locate import fit_locator, location_errors, point_errors
    from scripts.benchmarks._perception_tasks import noisy_expert, probe_labels

    env_kwargs = {"obs_mode": "rgb", "image_size": 84, **parse_overrides(args.env_kwargs)}
    env = gym.make(args.env, max_episode_steps=args.episode_steps, **env_kwargs)
    start = time.perf_counter()
    data = collect_frames(env, args.frames, policy=noisy_expert(env, 0.7, args.seed), labels=probe_labels,
                          seed=args.seed)
    train, test = data.split(0.8)
    print(f"{args.env} {env_kwargs}: {len(train)} training and {len(test)} held-out frames in "
          f"{time.perf_counter() - start:.0f} s")
    floor = point_errors(train.labels.mean(0).expand_as(test.labels), test.labels)

    def show(name: str, errors) -> None:
        cells = [f"median {np.median(e) * 100:5.1f} cm, within {' / '.join(f'{t:g}' for t in args.radii)} cm "
                 + " / ".join(f"{np.mean(e < t / 100):4.0%}" for t in args.radii) for e in errors.T.numpy()]
        print(f"  {name:22s} object: {cells[0]}   gripper: {cells[1]}")

    show("predict the mean", floor)
    reports = set(np.linspace(0, args.steps, 4, dtype=int)[1:] - 1)
    start = time.perf_counter()

    def progress(step: int, locator) -> None:
        if step in reports:
            show(f"CNN, {step + 1} steps", location_errors(locator, test))

    fit_locator(train, steps=args.steps, seed=args.seed, device=args.device, on_step=progress)
    print(f"  ({time.perf_counter() - start:.0f} s of training, batch 64)")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, fn in (("augment", bench_augment), ("encoders", bench_encoders)):
        p = sub.add_parser(name)
        p.add_argument("--batch", type=int, default=256)
        p.add_argument("--repeats", type=int, default=20)
        p.add_argument("--device", default="auto")
        p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
        p.set_defaults(fn=fn)
    p = sub.add_parser("probe", help=bench_probe.__doc__)
    p.add_argument("--env", default="Foresight/PandaPush-v0")
    p.add_argument("--image-size", type=int, default=84)
    p.add_argument("--frames", type=int, default=1500)
    p.add_argument("--episode-steps", type=int, default=10, help="steps per collected episode")
    p.add_argument("--steps", type=int, default=500, help="SSL gradient steps per objective")
    p.add_argument("--features-dim", type=int, default=64)
    p.add_argument("--objectives", nargs="+", default=["autoencoder", "contrastive", "inverse"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.set_defaults(fn=bench_probe)
    p = sub.add_parser("localization", help=bench_localization.__doc__)
    p.add_argument("--scenes", type=int, default=200)
    p.add_argument("--image-size", type=int, default=84)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.set_defaults(fn=bench_localization)
    p = sub.add_parser("pixels", help=bench_pixels.__doc__)
    p.add_argument("--variants", nargs="+", default=["intermediate", "ssl", "ssl-finetune", "scratch"],
                   choices=["intermediate", "ssl", "ssl-finetune", "scratch", "state"],
                   help="'state' is a reference with the privileged goal vector, not a pixel variant")
    p.add_argument("--initial-temperature", type=float, default=0.01, help="SAC's starting entropy temperature")
    p.add_argument("--steps", type=int, default=5000, help="env steps per variant")
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--eval-episodes", type=int, default=20)
    p.add_argument("--encoder", default="runs/encoders/reach_curl/encoder.pt",
                   help="SSL encoder for 'ssl' and 'ssl-finetune'")
    p.add_argument("--out", default="runs/benchmarks/pixels", help="results of earlier runs here are kept and plotted")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.set_defaults(fn=bench_pixels)
    p = sub.add_parser("locate", help=bench_locate.__doc__)
    p.add_argument("--env", default="Foresight/PandaReach-v0")
    p.add_argument("--env-kwargs", nargs="*", default=[], help="key=value on top of obs_mode=rgb image_size=84")
    p.add_argument("--frames", type=int, default=6000)
    p.add_argument("--episode-steps", type=int, default=10, help="steps per collected episode (one target each)")
    p.add_argument("--steps", type=int, default=3000, help="supervised gradient steps (batch 64)")
    p.add_argument("--radii", type=float, nargs="+", default=[2.5, 5.0], help="error levels to report, cm")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.set_defaults(fn=bench_locate)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    args.fn(args)


if __name__ == "__main__":
    main(sys.argv[1:])
