"""GPU benchmark, planning side: GEMM rates, CEM and MPPI for many envs at once, the latent planning agent.

A planning figure is read against the physical floor: the call's model FLOPs over the device's
measured GEMM rate on the model's own layer shape.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import torch

from scripts.benchmarks._gpu_report import Figure, Row, device_label
from scripts.benchmarks.planning import gemm_peak, interleaved, model_flops
from world_models.models import EnsembleDynamics, ModelConfig
from world_models.planners import CEMConfig, CEMPlanner, MPPIConfig, MPPIPlanner, Planner
from world_models.scoring import model_score_fn

STATE_DIM, ACTION_DIM = 21, 3
"""PandaPush's observation + achieved goal, and its end-effector action: the planning benchmark's sizes."""


@dataclass(frozen=True)
class PlanSizes:
    """The planning problem: the ensemble, the searches and how many envs plan at once."""

    hidden: int
    layers: int
    cem: CEMConfig
    mppi: MPPIConfig
    envs: int
    """Envs planned at once on the device (the issue: 256)."""
    cpu_envs: int
    """Envs planned at once on the CPU, for the per-env-action comparison."""
    repeats: int
    square_gemm: int
    """Side of the square GEMM that measures the device's peak."""


def _ensemble(sizes: PlanSizes, device: torch.device) -> EnsembleDynamics:
    torch.manual_seed(0)
    model = EnsembleDynamics(STATE_DIM, ACTION_DIM, ModelConfig(5, sizes.hidden, sizes.layers))
    return model.to(device).eval()


def _planning_ms(model: EnsembleDynamics, make_planner: Callable[[], Planner], env_counts: tuple[int, ...],
                 repeats: int, device: torch.device) -> dict[int, float]:
    """Median ms of one planning call for E envs at once, per E in ``env_counts`` (interleaved, warm-started plans)."""
    calls = {}
    for envs in env_counts:
        states = torch.randn(envs, STATE_DIM, generator=torch.Generator().manual_seed(1)).to(device)
        planner, score = make_planner(), model_score_fn(model, states)
        calls[envs] = lambda planner=planner, score=score, envs=envs: planner.plan(score, envs)
    return interleaved(calls, repeats, device)


@contextlib.contextmanager
def tf32_matmuls(allowed: bool = True) -> Iterator[None]:
    """fp32 matmuls on TF32 tensor cores (``allowed``) or in full fp32, restored afterwards."""
    precision = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high" if allowed else "highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(precision)


def square_gemm_rate(size: int, device: torch.device, tf32: bool) -> float:
    """TFLOP/s of one ``[size, size] @ [size, size]`` fp32 product (``tf32``: tensor cores allowed)."""
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    with tf32_matmuls(tf32):
        ms = interleaved({"gemm": lambda: a @ b}, 10, device)["gemm"]
    return 2 * size**3 / ms / 1e9


def planning_rows(sizes: PlanSizes, device: torch.device) -> Iterator[Row]:
    """GEMM rates, then CEM and MPPI ms per action for ``sizes.envs`` envs on ``device``, beside the floor and the
    CPU."""
    rows_per_member = sizes.envs * sizes.cem.num_candidates // 5
    layer_rate = gemm_peak(sizes.hidden, rows=rows_per_member, repeats=sizes.repeats * 3, device=device)
    layer = f"[5, {rows_per_member}, {sizes.hidden}] x [5, {sizes.hidden}, {sizes.hidden}]"
    yield Row("planning", f"fp32 GEMM on the model's layer, {layer}",
              [Figure(device_label(device), layer_rate, "GFLOP/s")])
    for tf32 in (False, True):
        rate = square_gemm_rate(sizes.square_gemm, device, tf32)
        yield Row("planning", f"{'TF32' if tf32 else 'fp32'} GEMM, {sizes.square_gemm}^3",
                  [Figure(device_label(device), rate, "TFLOP/s")])
    for name, planner_type, config in (("CEM", CEMPlanner, sizes.cem), ("MPPI", MPPIPlanner, sizes.mppi)):
        yield from _planner_rows(name, planner_type, config, sizes, device, layer_rate)


def _planner_rows(name: str, planner_type: type[Planner], config: Any, sizes: PlanSizes, device: torch.device,
                  layer_rate: float) -> Iterator[Row]:
    search = (f"{name} {config.num_candidates} x H{config.horizon} x {config.iterations} it, "
              f"5 x {sizes.layers}x{sizes.hidden}")
    low, high, cpu = -torch.ones(ACTION_DIM), torch.ones(ACTION_DIM), torch.device("cpu")
    model, cpu_model = _ensemble(sizes, device), _ensemble(sizes, cpu)
    with torch.no_grad():
        evaluations = planner_type(low, high, config, device=device).plan(
            model_score_fn(model, torch.zeros(1, STATE_DIM, device=device)), 1).evaluations
        ms = _planning_ms(model, lambda: planner_type(low, high, config, device=device), (sizes.envs, 1),
                          sizes.repeats, device)
        ms_cpu = _planning_ms(cpu_model, lambda: planner_type(low, high, config), (sizes.cpu_envs, 1),
                              max(sizes.repeats // 3, 2), cpu)
        with tf32_matmuls():
            ms_tf32 = _planning_ms(model, lambda: planner_type(low, high, config, device=device), (sizes.envs,),
                                   sizes.repeats, device)[sizes.envs]
    gflop = model_flops(model, sizes.envs * evaluations * config.horizon) / 1e9
    here = device_label(device)
    ours, on_cpu = f"{sizes.envs} envs, {here}", f"{sizes.cpu_envs} envs, CPU"
    yield Row("planning", f"{search}: ms per action, {sizes.envs} envs at once",
              [Figure(ours, ms[sizes.envs], "ms"),
               Figure("floor: model FLOPs / layer GEMM rate", gflop / layer_rate * 1e3, "ms"),
               Figure(f"{ours}, TF32 matmuls", ms_tf32, "ms")],
              target="<= 20 ms", met=ms[sizes.envs] <= 20, note=f"{gflop:.3g} GFLOP per call (fp32 mean heads)")
    yield Row("planning", f"{search}: ms per env-action, amortized",
              [Figure(f"{ours}, per env", ms[sizes.envs] / sizes.envs, "ms"),
               Figure(f"{on_cpu}, per env", ms_cpu[sizes.cpu_envs] / sizes.cpu_envs, "ms")], peer=f"{on_cpu}, per env")
    yield Row("planning", f"{search}: ms per action, 1 env",
              [Figure(f"1 env, {here}", ms[1], "ms"), Figure("1 env, CPU", ms_cpu[1], "ms")], peer="1 env, CPU")


# ------------------------------------------------------------------------------------------ latent agent
LATENT_ENV_ID = "Foresight/BatchedPendulum-v0"
"""Whose ``lmpc`` preset sizes the agent: N batched Pendulums planned for at once."""


@dataclass(frozen=True)
class LatentSizes:
    envs: int
    """Envs the agent plans for at once."""
    learn_steps: int
    """Env steps collected (random seed steps) before the updates are timed."""
    updates: int
    """Gradient updates per timing."""
    repeats: int


def latent_agent(sizes: LatentSizes, device: torch.device) -> tuple[Any, Any]:
    """A ``LatentPlanningAgent`` at its batched-Pendulum preset with a filled replay, and observations ``[E, 3]``."""
    from agents.planning.latent_agent import LatentPlanningAgent
    from agents.sb3.vec_env import VectorEnvToSB3
    from agents.training.hyperparams import SPECIAL_KEYS, load_hyperparams
    from envs.batched import make_batched

    hyperparams = {k: v for k, v in load_hyperparams("lmpc", LATENT_ENV_ID).items() if k not in SPECIAL_KEYS}
    hyperparams.update(learning_starts=sizes.learn_steps, pretrain_updates=1)  # seed steps only, then time
    env = VectorEnvToSB3(make_batched("pendulum", sizes.envs, device=str(device)))
    agent = LatentPlanningAgent(env, seed=0, device=device, **hyperparams).learn(sizes.learn_steps)
    return agent, env.reset()


def latent_rows(sizes: LatentSizes, device: torch.device) -> Iterator[Row]:
    """Updates/s (one replay batch each) and ms per planned action for E envs at once, on ``device`` vs the CPU."""
    from agents.planning.latent_update import LatentValueLearner
    updates, plans, bf16 = {}, {}, {}
    for on in dict.fromkeys([device, torch.device("cpu")]):
        label = f"{sizes.envs} envs, {device_label(on) if on.type != 'cpu' else 'CPU'}"
        agent, obs = latent_agent(sizes, on)
        # the same model under bfloat16 autocast (precision=bfloat16), optimisers of its own
        half = LatentValueLearner(agent.model, replace(agent.learner.config, precision="bfloat16"), agent.generator)

        def update(agent: Any = agent, learner: Any = agent.learner) -> None:
            for _ in range(sizes.updates):
                learner.update(agent.replay.sample(agent.config.batch_size, agent.device))

        timings = interleaved({"update": update, "update_bf16": lambda agent=agent, half=half: update(agent, half),
                               "plan": lambda agent=agent, obs=obs: agent.predict(obs)}, sizes.repeats, on)
        updates[label], plans[label] = sizes.updates / timings["update"] * 1e3, timings["plan"]
        bf16[f"{label}, bfloat16"] = sizes.updates / timings["update_bf16"] * 1e3
        config = agent.config
    labels = list(updates)
    updates.update(bf16)
    peer = labels[-1] if len(labels) > 1 else None
    search = f"{config.num_candidates}+{config.num_prior} x H{config.horizon} x {config.iterations} it"
    yield Row("latent", f"lmpc updates/s, batch {config.batch_size} ({LATENT_ENV_ID} preset)",
              [Figure(k, v, "updates/s") for k, v in updates.items()], peer, target=">= 50",
              met=updates[labels[0]] >= 50)
    yield Row("latent", f"lmpc ms per planned action ({search}), {sizes.envs} envs at once",
              [Figure(k, v, "ms") for k, v in plans.items()], peer, target="<= 20 ms", met=plans[labels[0]] <= 20)
