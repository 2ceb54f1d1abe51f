"""Batched torch worlds vs their peers, measured side by side in one run (issue #3, Speed).

    python scripts/benchmark.py batched                          # every comparison
    python scripts/benchmark.py batched --only step,single --sizes 1,64,4096,65536

Comparisons (ours / peer, printed with the ratio; medians of interleaved repeats):
  step    BatchedCartPole vs gymnasium's numpy-vectorized CartPole-v1, world-steps/s per N
          (plus ours on CUDA at --gpu-size worlds when a GPU is present)
  single  gym.make("Foresight/BatchedCartPole-v0") vs gym.make("CartPole-v1"), steps/s
  ppo     SB3 PPO frames/s on our CartPole (256 worlds) vs make_vec_env("CartPole-v1", n_envs=8),
          rl-zoo's CartPole hyperparameters for both; whole learn() and rollout collection alone
  render  batched rasterizer (ArmReach scene) vs PyBullet TinyRenderer (Panda on a table), frames/s
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np
import torch

import envs  # noqa: F401  (registers the ids)
from agents.sb3.vec_env import VectorEnvToSB3
from envs.batched import make_batched

SECTIONS = ("step", "single", "ppo", "render")


def rate(run: Callable[[], int], seconds: float) -> float:
    """Items per second of ``run`` (which returns how many items it did), over about ``seconds``."""
    run()  # warm-up
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        done += run()
    return done / (time.perf_counter() - start)


def interleaved(runs: dict[str, Callable[[], int]], repeats: int, seconds: float) -> dict[str, float]:
    """Median rate of each run, alternating between them so machine noise hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            samples[name].append(rate(run, seconds))
    return {name: statistics.median(values) for name, values in samples.items()}


def report(title: str, unit: str, results: dict[str, float], peer: str) -> None:
    print(f"  {title}")
    for name, value in results.items():
        ratio = "" if name == peer else f"  {value / results[peer]:6.2f}x {peer}"
        print(f"    {name:34s} {value:14,.0f} {unit}{ratio}")


def synchronize(device: torch.device | None) -> None:
    """Wait for queued CUDA work, so a timing covers the work and not only its launch."""
    if device is not None and device.type == "cuda":
        torch.cuda.synchronize(device)


def vector_stepper(env: gym.vector.VectorEnv, n: int, seed: int = 0, steps: int = 20) -> Callable[[], int]:
    """Steps ``env`` ``steps`` times with pre-drawn random actions; returns world-steps done.

    Four action batches are drawn from ``env.action_space`` (seeded) and cycled; on a CUDA env
    they are put on the device first, so a timing holds no host-to-device copies.
    """
    env.reset(seed=seed)
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(min(steps, 4))]
    device = getattr(env, "device", None)
    if device is not None and device.type == "cuda":
        actions = [torch.as_tensor(a, device=device) for a in actions]

    def run() -> int:
        for i in range(steps):
            env.step(actions[i % len(actions)])
        synchronize(device)
        return steps * n

    return run


def bench_step(args: argparse.Namespace) -> None:
    print("step: world-steps/s, our BatchedCartPole vs gymnasium CartPole-v1 (vector_entry_point)")
    for n in args.sizes:
        runs = {
            "gymnasium CartPoleVectorEnv": vector_stepper(
                gym.make_vec("CartPole-v1", num_envs=n, vectorization_mode="vector_entry_point"), n),
            "ours (auto backend)": vector_stepper(make_batched("cartpole", n, device="cpu"), n),
            "ours (torch backend)": vector_stepper(make_batched("cartpole", n, device="cpu", backend="torch"), n),
        }
        report(f"N = {n}", "steps/s", interleaved(runs, args.repeats, args.seconds), "gymnasium CartPoleVectorEnv")
    if not torch.cuda.is_available():
        print("  GPU: not measured (no CUDA device on this machine)")
        return
    n = args.gpu_size
    runs = {
        "gymnasium CartPoleVectorEnv": vector_stepper(
            gym.make_vec("CartPole-v1", num_envs=n, vectorization_mode="vector_entry_point"), n),
        f"ours on {torch.cuda.get_device_name()}": vector_stepper(make_batched("cartpole", n, device="cuda"), n),
    }
    report(f"N = {n} (GPU)", "steps/s", interleaved(runs, args.repeats, args.seconds), "gymnasium CartPoleVectorEnv")


def single_stepper(env: gym.Env) -> Callable[[], int]:
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(2, size=200).tolist()

    def run() -> int:
        for action in actions:
            _, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                env.reset()
        return len(actions)

    return run


def bench_single(args: argparse.Namespace) -> None:
    print("single: steps/s of one world through gym.make (TimeLimit and checks included)")
    runs = {
        "gymnasium CartPole-v1": single_stepper(gym.make("CartPole-v1")),
        "ours Foresight/BatchedCartPole-v0": single_stepper(gym.make("Foresight/BatchedCartPole-v0")),
        "ours vector env, N = 1": vector_stepper(make_batched("cartpole", 1, device="cpu"), 1),
    }
    report("N = 1", "steps/s", interleaved(runs, args.repeats, args.seconds), "gymnasium CartPole-v1")


#: rl-baselines3-zoo's PPO hyperparameters for CartPole-v1 (schedules replaced by their start values).
ZOO_PPO = dict(n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
               learning_rate=1e-3, clip_range=0.2)


def ppo_frames_per_second(venv, timesteps: int, device: str = "cpu",
                          hyperparams: dict | None = None) -> tuple[float, float]:
    """(whole ``learn()`` frames/s, rollout-collection frames/s) of SB3 PPO on ``venv``.

    ``device`` holds the policy and its updates; ``hyperparams`` default to rl-zoo's CartPole ones."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback

    class CollectionTimer(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds, self.started = 0.0, 0.0

        def _on_rollout_start(self) -> None:
            self.started = time.perf_counter()

        def _on_rollout_end(self) -> None:
            self.seconds += time.perf_counter() - self.started

        def _on_step(self) -> bool:
            return True

    model = PPO("MlpPolicy", venv, seed=0, device=device, **(ZOO_PPO if hyperparams is None else hyperparams))
    timer = CollectionTimer()
    start = time.perf_counter()
    model.learn(timesteps, callback=timer)
    return model.num_timesteps / (time.perf_counter() - start), model.num_timesteps / timer.seconds


def bench_ppo(args: argparse.Namespace) -> None:
    from stable_baselines3.common.env_util import make_vec_env

    print(f"ppo: SB3 PPO frames/s, {args.ppo_steps} steps, rl-zoo CartPole hyperparameters {ZOO_PPO}")
    learn: dict[str, list[float]] = {"SB3 DummyVecEnv, 8 envs": [], "ours, 256 worlds": []}
    collect: dict[str, list[float]] = {name: [] for name in learn}
    for _ in range(args.ppo_repeats):
        peer = make_vec_env("CartPole-v1", n_envs=8, seed=0)
        ours = VectorEnvToSB3(gym.make_vec("Foresight/BatchedCartPole-v0", num_envs=256, device="cpu"))
        for name, venv in zip(learn, (peer, ours), strict=True):
            whole, rollouts = ppo_frames_per_second(venv, args.ppo_steps)
            learn[name].append(whole), collect[name].append(rollouts)
    median = lambda d: {k: statistics.median(v) for k, v in d.items()}  # noqa: E731
    report("whole learn()", "frames/s", median(learn), "SB3 DummyVecEnv, 8 envs")
    report("rollout collection only", "frames/s", median(collect), "SB3 DummyVecEnv, 8 envs")
    for name in learn:  # what is left is the PPO update, the same work per frame for both
        update = 1e6 / median(learn)[name] - 1e6 / median(collect)[name]
        print(f"    {name:34s} update phase {update:8.1f} us/frame")


def pybullet_renderer(size: int) -> Callable[[], int]:
    """TinyRenderer frames of a Panda on a table, the way a PyBullet camera env takes them."""
    import pybullet
    import pybullet_data
    from pybullet_utils import bullet_client

    client = bullet_client.BulletClient(connection_mode=pybullet.DIRECT)
    client.setAdditionalSearchPath(pybullet_data.getDataPath())
    client.loadURDF("table/table.urdf", [0.5, 0, -0.625], useFixedBase=True)
    client.loadURDF("franka_panda/panda.urdf", [0, 0, 0], useFixedBase=True)
    view = client.computeViewMatrix([1.2, 0, 0.9], [0.3, 0, 0.2], [0, 0, 1])
    projection = client.computeProjectionMatrixFOV(60, 1.0, 0.1, 5.0)

    def run() -> int:
        for _ in range(5):
            client.getCameraImage(size, size, view, projection, renderer=pybullet.ER_TINY_RENDERER)
        return 5

    return run


def batched_renderer(n: int, size: int, device: str = "cpu") -> Callable[[], int]:
    """``n`` ArmReach frames per call, drawn by the batched rasterizer on ``device``."""
    env = make_batched("arm_reach", n, device=device, backend="torch", image_size=size)
    env.reset(seed=0)

    def run() -> int:
        frames = env.images(env.state).shape[0]
        synchronize(env.device)
        return frames

    return run


def bench_render(args: argparse.Namespace) -> None:
    size = args.image_size
    print(f"render: {size}x{size} RGB frames/s, batched rasterizer vs PyBullet TinyRenderer")
    runs = {"PyBullet TinyRenderer (Panda, table)": pybullet_renderer(size)}
    for n in args.render_batches:
        runs[f"ours, ArmReach, {n} worlds per call"] = batched_renderer(n, size)
    report("frames", "frames/s", interleaved(runs, args.repeats, args.seconds), "PyBullet TinyRenderer (Panda, table)")


def parse_args() -> argparse.Namespace:
    ints = lambda text: [int(v) for v in text.split(",")]  # noqa: E731
    parser = argparse.ArgumentParser(prog="benchmark.py batched", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma list of {SECTIONS}")
    parser.add_argument("--sizes", type=ints, default=[1, 64, 4096, 65536], help="N for 'step'")
    parser.add_argument("--gpu-size", type=int, default=2**20, help="N for the GPU part of 'step'")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repeats; medians are printed")
    parser.add_argument("--seconds", type=float, default=0.3, help="length of one timing")
    parser.add_argument("--ppo-steps", type=int, default=2**15, help="PPO timesteps per run")
    parser.add_argument("--ppo-repeats", type=int, default=3, help="PPO runs per side (each takes seconds)")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--render-batches", type=ints, default=[1, 256, 1024], help="worlds per render call")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    unknown = set(args.only.split(",")) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {sorted(unknown)}; valid: {', '.join(SECTIONS)}")
    return args


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), CUDA: {torch.cuda.is_available()}")
    benches = {"step": bench_step, "single": bench_single, "ppo": bench_ppo, "render": bench_render}
    for section in args.only.split(","):
        benches[section](args)


if __name__ == "__main__":
    main()
