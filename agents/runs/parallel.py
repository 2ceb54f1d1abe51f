"""Parallel evaluation with Ray actors: local by default, a cluster through ``RAY_ADDRESS``.

Each actor loads the run once (weights only, no pickle from disk) and plays a contiguous slice of
the seeded episodes; slices are concatenated in order, so the result equals
:func:`agents.runs.evaluate.evaluate_run` episode for episode.
"""
from __future__ import annotations

import importlib
import os
import pathlib
import secrets
import shutil
import statistics
import tempfile
import time
from typing import Any

from agents.evaluation.episodes import Episode, evaluate, model_policy, summarize
from agents.runs.evaluate import EvalRequest, RunReport


def _ray():
    try:
        import ray
    except ModuleNotFoundError:
        raise ImportError("--ray needs Ray: pip install 'foresight[ray]'") from None
    return ray


def episode_slices(n_episodes: int, n_workers: int, seed: int) -> list[tuple[int, int]]:
    """``(first seed, count)`` per worker, covering ``seed .. seed + n_episodes - 1`` in order."""
    base, extra = divmod(n_episodes, n_workers)
    slices, start = [], seed
    for i in range(n_workers):
        count = base + (1 if i < extra else 0)
        if count:
            slices.append((start, count))
        start += count
    return slices


class EvalWorker:
    """A Ray actor body: one loaded policy and env, evaluating slices of seeds on request."""

    def __init__(self, run_path: str, request: EvalRequest, gym_packages: tuple[str, ...] = ()) -> None:
        import torch

        for name in ("envs", *gym_packages):
            importlib.import_module(name)
        from agents.runs.loading import load_run
        from agents.training.wrapper_allowlist import trust_wrappers

        trust_wrappers(request.trusted_wrappers)
        torch.set_num_threads(1)
        self.loaded = load_run(run_path, request.which, device="cpu")
        self.env = self.loaded.make_env(env_kwargs=request.env_kwargs)
        self.policy = model_policy(self.loaded.model, request.deterministic, self.loaded.obs_transform)

    def run(self, first_seed: int, count: int) -> list[Episode]:
        episodes, _ = evaluate(self.env, self.policy, count, first_seed)
        return episodes


_OWNED_TEMP_DIRS: list[str] = []


def init_ray(n_workers: int, temp_dir: str | None = None) -> None:
    """Join the cluster at ``RAY_ADDRESS``, or start a local one with ``n_workers`` CPUs.

    A local cluster writes nothing outside a temporary folder of its own (``temp_dir``, else a fresh
    one under the system's temp dir, removed by :func:`shutdown_ray`): no ``/tmp/ray`` sessions, and
    no ``~/.ray/auth_token`` (Ray's token authentication stays on, with a token that lives only in
    this process's environment and its workers'), unless the caller set ``RAY_AUTH_*`` themselves.
    """
    ray = _ray()
    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no network call, nothing written for stats
    env_vars = {"PYTHONPATH": os.environ.get("PYTHONPATH", ""), "RAY_USAGE_STATS_ENABLED": "0"}
    if os.environ.get("RAY_ADDRESS"):
        ray.init(address=os.environ["RAY_ADDRESS"], runtime_env={"env_vars": env_vars}, log_to_driver=False)
        return
    if not any(os.environ.get(name) for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")):
        os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    if temp_dir is None:
        temp_dir = tempfile.mkdtemp(prefix="ray")  # Ray's socket paths must fit 107 characters
        _OWNED_TEMP_DIRS.append(temp_dir)
    ray.init(num_cpus=n_workers, include_dashboard=False, log_to_driver=False, _temp_dir=temp_dir,
             runtime_env={"env_vars": env_vars})


def shutdown_ray() -> None:
    """Stop Ray and remove the temporary folder :func:`init_ray` made for a local cluster."""
    ray = _ray()
    ray.shutdown()
    while _OWNED_TEMP_DIRS:
        shutil.rmtree(_OWNED_TEMP_DIRS.pop(), ignore_errors=True)


class RayPool:
    """``n_workers`` actors holding one run's policy; :meth:`evaluate` may be called many times."""

    def __init__(self, path: str | pathlib.Path, request: EvalRequest, n_workers: int,
                 gym_packages: tuple[str, ...] = ()) -> None:
        if n_workers < 1:
            raise ValueError(f"n_workers must be >= 1, got {n_workers}")
        self.ray, self.path = _ray(), pathlib.Path(path)
        actor = self.ray.remote(num_cpus=1)(EvalWorker)
        self.workers = [actor.remote(str(path), request, tuple(gym_packages)) for _ in range(n_workers)]

    def evaluate(self, n_episodes: int, seed: int) -> RunReport:
        slices = episode_slices(n_episodes, len(self.workers), seed)
        parts = self.ray.get([w.run.remote(first, count) for w, (first, count) in zip(self.workers, slices,
                                                                                      strict=True)])
        episodes = [e for part in parts for e in part]
        return RunReport(self.path, episodes, summarize(episodes))

    def close(self) -> None:
        for worker in self.workers:
            self.ray.kill(worker)


def evaluate_run_ray(
    path: str | pathlib.Path, request: EvalRequest, n_workers: int, gym_packages: tuple[str, ...] = ()
) -> RunReport:
    """Evaluate the run at ``path`` on ``n_workers`` Ray actors (call :func:`init_ray` first)."""
    pool = RayPool(path, request, min(n_workers, request.n_episodes), gym_packages)
    try:
        return pool.evaluate(request.n_episodes, request.seed)
    finally:
        pool.close()


def benchmark_ray(run_path: str | None, n_episodes: int, repeats: int) -> dict[str, Any]:
    """Ray evaluation with 2 workers vs 1: warm actors (evaluation only) and cold (start-up included)."""
    import tempfile

    path = run_path or _short_run(tempfile.mkdtemp(prefix="fs-bench-"))
    init_ray(2)
    request = EvalRequest(n_episodes=n_episodes)
    cold: dict[int, list[float]] = {1: [], 2: []}
    warm: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(repeats):
        for workers in (1, 2):  # interleaved
            start = time.perf_counter()
            pool = RayPool(path, request, workers)
            pool.evaluate(1, request.seed)  # actors are up and loaded
            started = time.perf_counter()
            pool.evaluate(n_episodes, request.seed)
            done = time.perf_counter()
            pool.close()
            cold[workers].append(done - start)
            warm[workers].append(done - started)
    shutdown_ray()
    result = {}
    for name, times in (("warm", warm), ("cold", cold)):
        one, two = statistics.median(times[1]), statistics.median(times[2])
        result[name] = (one, two)
        print(f"{name}: {n_episodes} episodes, 1 worker {one:.2f} s, 2 workers {two:.2f} s, speed-up {one / two:.2f}x "
              f"(medians of {repeats})")
    return result


def _short_run(folder: str) -> str:
    """A quickly trained PandaReach run to evaluate when the benchmark is given none."""
    from agents.training.run import RunConfig, train

    config = RunConfig(n_timesteps=1000, eval_freq=0, eval_episodes=2, save_freq=0, log_folder=folder,
                         video_episodes=0, progress=False)
    return str(train(config).run.path)
