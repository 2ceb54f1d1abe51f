"""Attacks on what arrives as files: run folders, ``.pt2`` policies, checkpoints, datasets."""
from __future__ import annotations

import logging
import pathlib
import subprocess
import sys
import textwrap
import warnings

import numpy as np
from _attack_common import Tally, marker_ran, run_with_deadline

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _quiet() -> None:
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")


# ------------------------------------------------------------------ 1. run folders
def tiny_run(folder: pathlib.Path) -> pathlib.Path:
    """A real SAC run on Pendulum (seconds): what a downloaded run folder looks like."""
    from agents.training.run import RunConfig, train

    params = {"learning_starts": 50, "batch_size": 16, "buffer_size": 500, "policy_kwargs": "dict(net_arch=[8])"}
    config = RunConfig(algo="sac", env_id="Pendulum-v1", n_timesteps=100, seed=0, eval_freq=0, eval_episodes=1,
                       save_freq=0, params=params, log_folder=str(folder), video_episodes=0, progress=False)
    return train(config).run.path


def attack_run_folders(work: pathlib.Path) -> Tally:
    """Each crafted config.yaml through the four loaders; ``code ran`` if its marker appears."""
    from agents.deploy.flows import export_run
    from agents.runs.evaluate import EvalRequest, evaluate_run
    from agents.runs.loading import load_run
    from agents.training.run import execute, prepare_resume
    from tests.attacks.run_folder import ATTACKS, crafted_run, write_evil_module

    _quiet()
    run = tiny_run(work / "runs")
    marker, imported = work / "pwned", work / "imported"
    write_evil_module(work / "path", imported)
    sys.path.insert(0, str(work / "path"))  # a shared folder on the import path (a notebook's cwd, say)
    loaders = {"load_run": lambda f: load_run(f), "evaluate": lambda f: evaluate_run(f, EvalRequest(n_episodes=1)),
               "export": lambda f: export_run(f, work / "p.onnx", check=2),
               "resume": lambda f: execute(prepare_resume(f, progress=False, n_timesteps=101))}
    tally = Tally("1. run folder asks us to import/call code")
    for attack in ATTACKS:
        for name, load in loaders.items():
            folder = crafted_run(run, work / "downloaded", attack, marker)
            try:
                load(folder)
                error = None
            except Exception as err:  # noqa: BLE001 - any outcome is recorded
                error = err
            sys.modules.pop("evil_pkg", None)
            ran = marker_ran(marker, wait_s=0.5) | marker_ran(imported)  # pipepager's shell runs async
            outcome = "code ran" if ran else "refused" if isinstance(error, ValueError) else (
                "loaded" if error is None else f"no code ran, untyped {type(error).__name__}")
            tally.add(outcome, f"{attack} via {name}")
    return tally


# ------------------------------------------------------------------ 2. .pt2 policies
def attack_pt2(work: pathlib.Path) -> tuple[Tally, dict[str, bool]]:
    """Each crafted archive through ``load_policy``; also whether torch itself runs it (evidence)."""
    import gymnasium as gym
    import torch
    from stable_baselines3 import SAC

    from agents.deploy.export import export_program
    from agents.deploy.runtime import load_policy
    from tests.attacks.pt2 import crafted_archives

    _quiet()
    good = export_program(SAC("MlpPolicy", gym.make("Pendulum-v1"), policy_kwargs={"net_arch": [8]}, device="cpu"),
                          work / "good.pt2")
    marker = work / "pwned_pt2"
    tally, torch_runs = Tally("2. .pt2 policy runs code"), {}
    for name, path in crafted_archives(good, work, marker).items():
        try:
            torch.export.load(str(path)).module()(torch.zeros(2, 3))
        except Exception as err:  # noqa: BLE001 - only whether the payload ran matters here
            logging.getLogger(__name__).debug("torch refused %s: %r", name, err)
        torch_runs[name] = marker_ran(marker)
        try:
            load_policy(path)(np.zeros(3, np.float32))  # loaded, then called once, as deployment does
            error = None
        except Exception as err:  # noqa: BLE001
            error = err
        ran = marker_ran(marker)
        tally.add("code ran" if ran else "refused" if error is not None else "loaded", name)
    return tally, torch_runs


# ------------------------------------------------------------------ 3a. checkpoints
def _checkpoint_case(args: tuple[pathlib.Path, bytes, dict]) -> str:
    import torch

    from agents import checkpoints

    path, data, reference = args
    path.write_bytes(data)
    _quiet()
    try:
        state = checkpoints.load(path)
    except checkpoints.CheckpointError:
        return "typed error"
    except Exception as err:  # noqa: BLE001
        return f"untyped error ({type(err).__name__})"
    same = state.keys() == reference.keys() and all(
        torch.equal(state[k], reference[k]) if isinstance(reference[k], torch.Tensor) else state[k] == reference[k]
        for k in reference)
    return "harmless" if same else "loaded different numbers"


def attack_checkpoints(work: pathlib.Path) -> Tally:
    """Every single-bit flip, every 16-byte overwrite and every 64-byte truncation of a checkpoint."""
    import torch

    from agents import checkpoints

    reference = {"format": "attack", "step": 3, "weights": torch.linspace(-1, 1, 64), "name": "policy"}
    path = work / "checkpoints" / "step_0000000003.pt"
    checkpoints.atomic_save(reference, path)
    good = path.read_bytes()
    cases = [good[:i] + bytes([good[i] ^ (1 << (i % 8))]) + good[i + 1:] for i in range(len(good))]
    cases += [good[:i] + bytes(16) + good[i + 16:] for i in range(0, len(good) - 16, 16)
              if good[i:i + 16] != bytes(16)]
    cases += [good[:i] for i in range(0, len(good), 64)]
    tally = Tally(f"3a. damaged checkpoint ({len(good)} bytes)")
    outcomes = run_with_deadline(_checkpoint_case, [(path, data, reference) for data in cases], timeout_s=20)
    for i, outcome in enumerate(outcomes):
        tally.add(outcome, f"case {i}")
    return tally


# ------------------------------------------------------------------ 3b. datasets
def _dataset(work: pathlib.Path) -> pathlib.Path:
    import gymnasium as gym

    from world_models.data import EpisodeWriter

    space = gym.spaces.Dict({k: gym.spaces.Box(-10, 10, (3,), np.float32)
                             for k in ("observation", "achieved_goal", "desired_goal")})
    rng = np.random.default_rng(0)
    path = work / "toy-v0"
    with EpisodeWriter(path, space, gym.spaces.Box(-1, 1, (3,), np.float32)) as writer:
        for length in (4, 6):
            writer.reset({k: rng.normal(size=3).astype(np.float32) for k in space}, {"is_success": False}, seed=1)
            for t in range(length):
                writer.step(rng.uniform(-1, 1, 3).astype(np.float32),
                            {k: rng.normal(size=3).astype(np.float32) for k in space}, -1.0, False,
                            t == length - 1, {"is_success": t == length - 1})
    return path


def _same_episodes(a, b) -> bool:
    def equal(x, y):
        if isinstance(x, dict):
            return isinstance(y, dict) and x.keys() == y.keys() and all(equal(x[k], y[k]) for k in x)
        return np.asarray(x).shape == np.asarray(y).shape and np.array_equal(x, y, equal_nan=True)
    return len(a) == len(b) and all(equal(e._asdict(), f._asdict()) for e, f in zip(a, b, strict=True))


def _dataset_case(args: tuple[pathlib.Path, str, bytes, list]) -> str:
    from world_models import data as wm_data

    dataset, member, content, reference = args
    (dataset / "data" / member).write_bytes(content)
    _quiet()
    typed = getattr(wm_data, "DatasetError", ())
    try:
        episodes = wm_data.read_episodes(dataset)
    except typed:  # the loader said what is wrong (an empty tuple on code without DatasetError)
        return "typed error"
    except Exception as err:  # noqa: BLE001
        return f"untyped error ({type(err).__name__})"
    return "harmless" if _same_episodes(episodes, reference) else "loaded different data"


def attack_datasets(work: pathlib.Path, stride: int = 1) -> Tally:
    """Bit flips in the HDF5 file and metadata.json, and truncations, each read in a child with a deadline."""
    from world_models.data import read_episodes

    _quiet()
    dataset = _dataset(work)
    reference = read_episodes(dataset)
    files = {m: (dataset / "data" / m).read_bytes() for m in ("main_data.hdf5", "metadata.json")}
    cases = []
    for member, good in files.items():
        other = {m: g for m, g in files.items() if m != member}
        flips = [good[:i] + bytes([good[i] ^ 1]) + good[i + 1:] for i in range(0, len(good), stride)]
        for content in flips + [good[:size] for size in range(0, len(good), 512)]:
            cases.append((member, content, other))
    sizes = f"HDF5 {len(files['main_data.hdf5'])} B, metadata {len(files['metadata.json'])} B"
    tally = Tally(f"3b. damaged dataset ({sizes})")

    def case(item):
        member, content, other = item
        for name, good in other.items():
            (dataset / "data" / name).write_bytes(good)
        return _dataset_case((dataset, member, content, reference))

    for i, outcome in enumerate(run_with_deadline(case, cases, timeout_s=5)):
        tally.add(outcome, f"{cases[i][0]} case {i}")
    return tally


def attack_full_disk(work: pathlib.Path) -> Tally:
    """A checkpoint and a collection that run out of room (RLIMIT_FSIZE in a child: a real write error)."""
    tally = Tally("3c/8. full disk while writing")
    code = textwrap.dedent(f"""
        import json, os, resource, signal, sys, numpy as np, gymnasium as gym, torch, h5py
        from agents import checkpoints
        from world_models.data import EpisodeWriter, read_episodes
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        folder = {str(work / 'disk')!r}
        os.makedirs(folder, exist_ok=True)
        checkpoints.save_step({{"format": "x", "w": torch.zeros(10)}}, folder, 1)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
        try:
            checkpoints.save_step({{"format": "x", "w": torch.zeros(1 << 19)}}, folder, 2)
            print("ckpt none")
        except BaseException as err:
            temps = [p for p in os.listdir(folder) if ".tmp" in p]
            newest = checkpoints.load_latest(folder)[1].name
            print("ckpt", type(err).__name__, "inline_container" in str(err), len(temps), newest)
        space = gym.spaces.Box(-1, 1, (64,), np.float32)
        path = folder + "/collect-v0"
        try:
            with EpisodeWriter(path, space, space) as writer:
                for episode in range(1000):
                    writer.reset(np.zeros(64, np.float32))
                    for t in range(20):
                        writer.step(np.ones(64, np.float32), np.zeros(64, np.float32), 1.0, False, t == 19)
        except BaseException as err:
            print("collect", type(err).__name__)
        sys.stdout.flush()
        meta = json.load(open(path + "/data/metadata.json"))["total_episodes"]
        with h5py.File(path + "/data/main_data.hdf5", "r") as f:
            groups = len([k for k in f if k.startswith("episode_")])
        try:
            readable = len(read_episodes(path))
        except Exception as err:
            readable = type(err).__name__
        print("dataset", meta, groups, readable)
    """)
    env = {"PYTHONPATH": f"{ROOT}:{ROOT / 'scripts' / 'benchmarks'}", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300,
                         check=False)
    lines = {line.split()[0]: line.split()[1:] for line in out.stdout.splitlines() if line.strip()}
    ckpt = lines.get("ckpt", ["no output"])
    clear = ckpt[:1] == ["OSError"] and ckpt[1:3] == ["False", "0"]
    tally.add("typed error" if clear else f"checkpoint: {' '.join(ckpt)}", "checkpoint on a full disk")
    dataset = lines.get("dataset")
    if dataset is None:
        tally.add(f"crash (exit {out.returncode})", "collect on a full disk")
    else:
        meta, groups, readable = dataset
        agree = meta == groups == readable
        tally.add("harmless" if agree else f"metadata {meta} vs HDF5 {groups} episodes, read {readable}",
                  "collect on a full disk")
    return tally
