"""GPU benchmark, simulation side: batched worlds, the rasterizer, SB3 PPO on batched worlds, PyBullet's renderers.

Each ``*_rows`` function yields :class:`Row`s as it measures them (the report is written after
each); ours runs on ``device``, the peers on this machine's CPU, interleaved, medians.
"""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import gymnasium as gym
import torch

import envs  # noqa: F401  (registers the Foresight ids)
from agents.sb3.vec_env import VectorEnvToSB3
from envs.batched import make_batched
from scripts.benchmarks._gpu_report import Figure, Row, device_label
from scripts.benchmarks.batched import (
    ZOO_PPO,
    batched_renderer,
    interleaved,
    ppo_frames_per_second,
    pybullet_renderer,
    vector_stepper,
)

GYMNASIUM_IDS = {"cartpole": "CartPole-v1", "pendulum": "Pendulum-v1"}
MEMORY_HEADROOM = 0.5
"""Share of the free device memory a world size may be estimated to need before it is skipped."""


@dataclass(frozen=True)
class Timing:
    seconds: float
    """Length of one timed stretch."""
    repeats: int
    """Interleaved stretches per contender; medians are reported."""


def steps_per_call(n: int) -> int:
    """Steps in one timed call: enough to hide launch costs at small N, few at 2^22 (a CPU step there is ~0.3 s)."""
    return max(2, min(32, 2**21 // n))


# ------------------------------------------------------------------------------------------ worlds
def world_rows(sizes: tuple[int, ...], pendulum_peer_envs: int, timing: Timing, device: torch.device) -> Iterator[Row]:
    """Steps/s of batched CartPole and Pendulum at each N: ours on ``device`` vs gymnasium's vector envs on the CPU.

    gymnasium vectorizes CartPole in numpy (``CartPoleVectorEnv``) but has no vector Pendulum: its
    peer is ``SyncVectorEnv``, a Python loop whose rate does not grow with N, measured once at
    ``pendulum_peer_envs``. Our own numpy backend on the CPU is the third contender.
    """
    budget = WorldMemory(device)
    for world in GYMNASIUM_IDS:
        pendulum_peer = None
        for n in sizes:
            name = f"{world} steps/s, N = 2^{n.bit_length() - 1}"
            if not budget.fits(world, n):
                yield Row("worlds", name, status="skipped", note=budget.why_not(world, n))
                continue
            ours = f"ours, {device_label(device)}"
            runs = {ours: budget.measured(world, n, functools.partial(batched_stepper, world, n, device, "torch"))}
            runs["ours, numpy on the CPU"] = batched_stepper(world, n, torch.device("cpu"), "auto")
            if world == "cartpole":
                peer = "gymnasium CartPoleVectorEnv, CPU"
                peer_env = gym.make_vec("CartPole-v1", num_envs=n, vectorization_mode="vector_entry_point")
                runs[peer] = vector_stepper(peer_env, n, steps=steps_per_call(n))
            rates = interleaved(runs, timing.repeats, timing.seconds)
            if world == "pendulum":
                peer_n = min(n, pendulum_peer_envs)
                peer = f"gymnasium SyncVectorEnv, CPU, N = {peer_n}"
                if pendulum_peer is None:
                    env = gym.make_vec("Pendulum-v1", num_envs=peer_n, vectorization_mode="sync")
                    run = vector_stepper(env, peer_n, steps=4)
                    pendulum_peer = interleaved({peer: run}, timing.repeats, timing.seconds)[peer]
                rates[peer] = pendulum_peer
            figures = [Figure(label, value, "steps/s") for label, value in rates.items()]
            row = Row("worlds", name, figures, peer)
            if world == "cartpole" and n == 2**20:
                row.target, row.met = ">= 50x", (row.speedup or 0) >= 50
            yield row


def batched_stepper(world: str, n: int, device: torch.device, backend: str) -> Callable[[], int]:
    return vector_stepper(make_batched(world, n, device=device, backend=backend), n, steps=steps_per_call(n))


class WorldMemory:
    """Device memory a world size needs, estimated from the first size measured, so 2^22 runs only if it fits."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.bytes_per_world, self.free = device, {}, 0

    def measured(self, world: str, n: int, make: Callable[[], Callable[[], int]]) -> Callable[[], int]:
        if self.device.type != "cuda" or world in self.bytes_per_world:
            return make()
        torch.cuda.synchronize(self.device)
        torch.cuda.reset_peak_memory_stats(self.device)
        before = torch.cuda.memory_allocated(self.device)
        run = make()
        run()
        self.bytes_per_world[world] = (torch.cuda.max_memory_allocated(self.device) - before) / n
        return run

    def need(self, world: str, n: int) -> float:
        return self.bytes_per_world.get(world, 0.0) * n

    def fits(self, world: str, n: int) -> bool:
        if self.device.type != "cuda" or world not in self.bytes_per_world:
            return True
        self.free = torch.cuda.mem_get_info(self.device)[0]
        return self.need(world, n) <= MEMORY_HEADROOM * self.free

    def why_not(self, world: str, n: int) -> str:
        return f"needs ~{self.need(world, n) / 2**30:.1f} GiB, {self.free / 2**30:.1f} GiB free"


# ------------------------------------------------------------------------------------------ rasterizer
def render_rows(batches: tuple[int, ...], timing: Timing, device: torch.device) -> Iterator[Row]:
    """64x64 RGB frames/s: the batched rasterizer (ArmReach) on ``device`` vs PyBullet's TinyRenderer (Panda +
    table)."""
    peer = "PyBullet TinyRenderer, Panda + table, CPU"
    runs = {peer: pybullet_renderer(64)}
    for n in batches:
        runs[f"ours, {n} per call, {device_label(device)}"] = batched_renderer(n, 64, str(device))
    rates = interleaved(runs, timing.repeats, timing.seconds)
    for label, value in rates.items():
        if label != peer:
            yield Row("render", f"64x64 RGB frames/s, {label.split(', ')[1]}",
                      [Figure(label, value, "frames/s"), Figure(peer, rates[peer], "frames/s")], peer)


# ------------------------------------------------------------------------------------------ PPO
def ppo_hyperparams(n_envs: int, n_steps: int, epochs: int, minibatches: int) -> dict:
    """rl-zoo's CartPole PPO with a fixed number of minibatches per epoch, so the minibatch grows with the envs.

    The large-batch convention of GPU-simulator training (Isaac Gym's rl_games, Brax): with
    rl-zoo's 256 fixed, 4,096 worlds would take 512 minibatches x 20 epochs per rollout.
    """
    return dict(ZOO_PPO, n_steps=n_steps, n_epochs=epochs, batch_size=n_envs * n_steps // minibatches)


def ppo_rows(worlds: int, peer_envs: int, n_steps: int, rollouts: int, peer_rollouts: int,
             device: torch.device) -> Iterator[Row]:
    """SB3 PPO frames/s: ``worlds`` batched CartPoles with the policy on ``device`` vs ``make_vec_env`` on the CPU.

    The peer runs with one torch thread and with every thread (small MLP updates are often faster on
    one); the speed-up is taken against its faster run.
    """
    from stable_baselines3.common.env_util import make_vec_env

    epochs, minibatches = 4, 4
    ours = f"ours, {worlds} worlds, {device_label(device)}"
    ours_env = VectorEnvToSB3(gym.make_vec("Foresight/BatchedCartPole-v0", num_envs=worlds, device=str(device)))
    whole = {ours: ppo_frames_per_second(ours_env, worlds * n_steps * rollouts, str(device),
                                         ppo_hyperparams(worlds, n_steps, epochs, minibatches))}
    for threads in dict.fromkeys([1, torch.get_num_threads()]):
        peer = f"make_vec_env, {peer_envs} CPU envs, policy on CPU, {threads} thread(s)"
        with torch_threads(threads):
            whole[peer] = ppo_frames_per_second(make_vec_env("CartPole-v1", n_envs=peer_envs, seed=0),
                                                peer_envs * n_steps * peer_rollouts, "cpu",
                                                ppo_hyperparams(peer_envs, n_steps, epochs, minibatches))
    note = f"n_steps {n_steps}, {epochs} epochs x {minibatches} minibatches, rest rl-zoo CartPole"
    for index, what in enumerate(("whole learn()", "rollout collection only")):
        rates = {label: pair[index] for label, pair in whole.items()}
        fastest_peer = max((label for label in rates if label != ours), key=rates.__getitem__)
        yield Row("ppo", f"SB3 PPO {what}, frames/s", [Figure(k, v, "frames/s") for k, v in rates.items()],
                  fastest_peer, note=note)


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# ------------------------------------------------------------------------------------------ PyBullet renderers
def panda_renderer_rows(size: int, timing: Timing) -> Iterator[Row]:
    """84x84 Panda frames: the EGL plugin vs TinyRenderer, rendering alone and as ``obs_mode="rgb"`` steps.

    EGL that cannot load here (no EGL library) is reported as "not available" with PyBullet's reason.
    """
    made = {}
    for renderer in ("egl", "tiny"):
        try:
            made[renderer] = gym.make("Foresight/PandaReach-v0", obs_mode="rgb", image_size=size, renderer=renderer)
        except RuntimeError as error:
            if renderer != "egl":
                raise
            yield Row("egl", f"{size}x{size} Panda frames/s, EGL vs TinyRenderer", status="not available",
                      note=str(error))
            return
    peer = "TinyRenderer"
    renders = {name: _frames(env, render_only=True) for name, env in (("EGL", made["egl"]), (peer, made["tiny"]))}
    steps = {name: _frames(env, render_only=False) for name, env in (("EGL", made["egl"]), (peer, made["tiny"]))}
    for what, runs, unit in (("render alone", renders, "frames/s"), ('obs_mode="rgb" steps', steps, "steps/s")):
        rates = interleaved(runs, timing.repeats, timing.seconds)
        row = Row("egl", f"{size}x{size} Panda {what}", [Figure(k, v, unit) for k, v in rates.items()], peer,
                  target="EGL faster")
        row.met = (row.speedup or 0) > 1
        yield row
    for env in made.values():
        env.close()


def _frames(env: gym.Env, render_only: bool, calls: int = 8) -> Callable[[], int]:
    env.reset(seed=0)
    env.action_space.seed(0)
    action = env.action_space.sample()

    def run() -> int:
        for _ in range(calls):
            if render_only:
                env.unwrapped.render_frames()
            elif any(env.step(action)[2:4]):
                env.reset()
        return calls

    return run
