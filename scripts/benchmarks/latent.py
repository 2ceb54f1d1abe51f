#!/usr/bin/env python3
"""The latent planning agent (``lmpc``) against its peers, side by side in one run.

Sections (``--what``):
  speed   ms per planned action, updates per second and prior-only actions per second of ``lmpc`` at
          its default preset (``--params`` on top, e.g. ``batch_size=128``), beside ``mpc``
          (PlanningAgent) at its PandaPush preset: medians of interleaved repeats, ratios printed.
  learn   learning curves of ``lmpc`` and a peer (``sac``: SAC, +HER on goal dicts; ``tqc``; ``ppo``)
          built by the same factory from their YAML presets, at equal env steps (demonstration steps
          count), over several seeds; each seed's curve and final per-episode scores land in
          ``--out`` as JSON (a finished seed is skipped on rerun, so runs can be split across processes).
          Each evaluation checkpoints the run (``<algo>_s<seed>.ckpt``): a stopped run goes on from
          there when rerun, and a finished one goes on to a larger ``--steps``. With ``--save-agents``
          the agent at each evaluation is kept too, in ``step_<n>/``.
  acting  a saved agent of each seed (``learn --save-agents``) acts with every MPPI ``select`` and with
          the prior alone on the final evaluation's seeded episodes: success, whether it reached the
          goal at any step (success then lost), return, final and closest goal distance, paired
          against the select it trained with.
  value   a saved agent's reward and Q heads along scripted-expert episodes (goal envs): does Q rank
          the expert's action above zero, the prior's and the reversed one, by goal distance.
  imagined  a saved agent's chosen plans (and standing still), scored by its model and by the env
          replayed from a saved simulator state, from inside the goal and from outside.
  blame   goal envs with a scripted expert: at each decision the agent's chosen plan and the expert's,
          replayed in the env and scored by the model; where the planner was misled, whether its
          dynamics or its value was wrong (``--params`` acts with acting-time overrides).
  generalise  a fresh model fitted on a fixed dataset the saved agent collects: its imagined rewards
          (and achieved-goal read-back) on the training episodes against held-out ones; ``--params``
          and ``--mask KEY:START:STOP`` give variants.
  rescore  every saved agent of a results folder (lmpc and the peer) and the scripted expert on
          ``--final-episodes`` seeded episodes (e.g. 100 instead of the learn section's 20), paired.
          ``--params k=v`` acts the lmpc agents again with those acting-time hyperparameters (e.g.
          ``pessimism``, ``select``), paired against their rows as trained.
  detours  PointNav only: the rescored episodes split by how close a pillar stands to the straight
          way from start to goal (a detour needed or not), every agent's success in each band.
  compare  the lmpc rows rescored in ``--tag``'s folder paired, seed by seed on the same episodes,
          against every row rescored in each ``--against`` tag's folder (a variant against another);
          with ``--at-step N``, the rows rescored at that step on both sides (equal env steps).
  Every section that reads saved agents (acting to detours) reads, with ``--at-step N``, the agents as
  they were at the evaluation of env step N (``step_<N>/``) instead of the final ones.
  report  medians over seeds with 95% bootstrap CIs (``agents.evaluation.statistics``), the paired
          final difference, and a curve PNG in ``docs/figures/`` from the JSON files alone.

    python scripts/benchmark.py latent --what speed --threads 2
    python scripts/benchmark.py latent --what learn --env Pendulum-v1 --steps 4000 --peer-steps 20000 --seeds 0 1 2
    python scripts/benchmark.py latent --what learn --env Foresight/PandaPush-v0 --steps 100000 --seeds 0 1 2
    python scripts/benchmark.py latent --what report --env Pendulum-v1
    python scripts/benchmark.py latent --what acting --env Foresight/MobilePointNav-v0 --tag bc50demos --seeds 0
    python scripts/benchmark.py latent --what value --env Foresight/MobilePointNav-v0 --tag bc50demos --seeds 0
    python scripts/benchmark.py latent --what imagined --env Foresight/MobilePointNav-v0 --tag repeat4-100k --seeds 0
    python scripts/benchmark.py latent --what generalise --env Foresight/MobilePointNav-v0 --tag repeat4-100k --seeds 0
    python scripts/benchmark.py latent --what rescore --env Foresight/MobilePointNav-v0 --tag repeat4-lidar \
        --final-episodes 100
    python scripts/benchmark.py latent --what rescore --env Foresight/MobilePointNav-v0 --tag repeat4-100k \
        --final-episodes 100 --params pessimism=1.0
    python scripts/benchmark.py latent --what compare --env Foresight/MobilePointNav-v0 --tag repeat4-lidar-offset \
        --against repeat4-lidar --final-episodes 100
"""
from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import gymnasium as gym
import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------- agents and envs
def preset(algo: str, env_id: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The algorithm's YAML preset for ``env_id`` (its ``default`` otherwise) with ``overrides`` on top."""
    from agents.training.hyperparams import load_hyperparams
    return {**load_hyperparams(algo, env_id), **overrides}


def make_agent(algo: str, env_id: str, env_kwargs: dict[str, Any], hyperparams: dict[str, Any], seed: int):
    from agents.training.env_setup import make_vec_env
    from agents.training.factory import make_agent as factory
    venv = make_vec_env(env_id, n_envs=1, seed=seed, env_kwargs=env_kwargs)
    return factory(algo, venv, hyperparams, seed=seed, device="cpu")


def final_scores(agent: Any, env: gym.Env, episodes: int, metric: str, seed: int = 20_000,
                 policy: Callable | None = None) -> list[float]:
    """Per-episode success (or return) of the final agent (or ``policy``) on ``episodes`` seeded episodes."""
    from agents.evaluation.episodes import evaluate, model_policy
    rows = evaluate(env, policy or model_policy(agent), episodes, seed=seed)[0]
    return [float(r.success) if metric == "success_rate" else float(r.episode_return) for r in rows]


def learn_one(algo: str, args: argparse.Namespace, env_kwargs: dict[str, Any], overrides: dict[str, Any],
              steps: int, seed: int, path: pathlib.Path) -> None:
    """Train one seed with evaluations along the way; write its curve and final scores to ``path``.

    Each evaluation checkpoints the run beside ``path`` (``<algo>_s<seed>.ckpt``), and a run with a
    checkpoint goes on from it: a stopped run loses at most one evaluation's steps.
    """
    from agents.evaluation.curves import learning_curve
    from scripts.benchmarks._curve_checkpoints import CurveCheckpoints
    hyperparams = preset(algo, args.env, overrides)
    env_kwargs = {**hyperparams.pop("env_kwargs", {}), **env_kwargs}
    eval_every = args.eval_every or max(steps // 10, 1)
    print(f"{algo} seed {seed}: {steps} steps on {args.env} {env_kwargs}, {hyperparams}", flush=True)
    agent = make_agent(algo, args.env, env_kwargs, hyperparams, seed)
    saved = CurveCheckpoints(path.with_suffix(".ckpt"), {
        "algo": algo, "env": args.env, "env_kwargs": env_kwargs, "seed": seed, "eval_every": eval_every,
        "eval_episodes": args.eval_episodes, "hyperparams": {k: str(v) for k, v in hyperparams.items()}})
    done = saved.restore(agent) if saved.exists() else []
    if done and done[-1].steps > steps:
        raise ValueError(f"{saved.folder} has trained to {done[-1].steps} env steps, past --steps {steps}; "
                         f"pass --steps {done[-1].steps} or more, or --force to start over")
    privileged = list(getattr(getattr(agent, "coding", None), "privileged_keys", ()))  # as the agent parsed them
    make_env: Callable[[], gym.Env] = lambda: hide(gym.make(args.env, **env_kwargs), privileged)  # noqa: E731
    metric = metric_of(make_env())
    start = time.perf_counter() - (done[-1].seconds if done else 0.0)
    snapshot = {"algo": algo, "seed": seed, "env_kwargs": env_kwargs}

    def on_point(points: list) -> None:
        saved.save(agent, points)
        if args.save_agents:  # the agent as it acts at this point, for the sections' --at-step
            save_snapshot(agent, path.parent / f"step_{agent.num_timesteps}", snapshot)

    curve = learning_curve(agent, make_env, steps, eval_every, args.eval_episodes,
                           log=lambda line: print(line, flush=True), done=done, on_point=on_point)
    record = {"algo": algo, "env": args.env, "env_kwargs": env_kwargs, "seed": seed, "metric": metric,
              "hyperparams": {k: str(v) for k, v in hyperparams.items()}, "seconds": time.perf_counter() - start,
              "curve": [p._asdict() for p in curve],
              "final": final_scores(agent, make_env(), args.final_episodes, metric)}
    if hasattr(agent, "predict_prior"):  # what the prior alone (deployment, no planning) does on the same episodes
        record["final_prior"] = final_scores(agent, make_env(), args.final_episodes, metric, policy=agent.predict_prior)
        print(f"  final {metric}: planning {np.mean(record['final']):.3f}, prior alone "
              f"{np.mean(record['final_prior']):.3f}", flush=True)
    path.write_text(json.dumps(record, indent=1))
    print(f"  wrote {path}", flush=True)
    if args.save_agents:
        agent.save(path.with_suffix(".agent"))
        print(f"  saved the agent to {path.with_suffix('.agent')}", flush=True)


def save_snapshot(agent: Any, folder: pathlib.Path, record: dict[str, Any]) -> None:
    """``<algo>_s<seed>.agent`` and its record (algo, seed, env_kwargs) in ``folder``, as ``--save-agents``
    writes the final agent: how the agent acts part-way, for ``--at-step``."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{record['algo']}_s{record['seed']}"
    agent.save(folder / f"{stem}.agent")
    (folder / f"{stem}.json").write_text(json.dumps(record))


def hide(env: gym.Env, keys: list[str]) -> gym.Env:
    """``env`` with the dict entries ``keys`` reading NaN: evaluation shows what an agent does without
    the privileged state it trained on (one that read it would act on NaN and fail visibly)."""
    if not keys:
        return env

    def blank(obs: dict) -> dict:
        return {k: (np.full_like(v, np.nan) if k in keys else v) for k, v in obs.items()}
    return gym.wrappers.TransformObservation(env, blank, env.observation_space)


def metric_of(env: gym.Env) -> str:
    """``success_rate`` where the env's step reports ``is_success``, else ``mean_return``."""
    env.reset(seed=0)
    env.action_space.seed(0)
    info = env.step(env.action_space.sample())[-1]
    env.close()
    return "success_rate" if "is_success" in info else "mean_return"


def learn(args: argparse.Namespace) -> None:
    import envs  # noqa: F401  (registers the Foresight/ ids)
    from agents.training.hyperparams import parse_overrides
    from scripts.benchmarks._curve_checkpoints import CurveCheckpoints
    torch.set_num_threads(args.threads)
    folder = results_folder(args)
    contenders = [("lmpc", args.steps, parse_overrides(args.params))]
    if args.peer != "none":
        contenders.append((args.peer, args.peer_steps or args.steps, parse_overrides(args.peer_params)))
    env_kwargs = parse_overrides(args.env_kwargs)
    for seed in args.seeds:
        for algo, steps, overrides in contenders:
            path = folder / f"{algo}_s{seed}.json"
            if args.force:
                CurveCheckpoints(path.with_suffix(".ckpt"), {}).clear()
            elif path.exists():
                finished = json.loads(path.read_text())["curve"][-1]["steps"]
                if finished >= steps or not CurveCheckpoints(path.with_suffix(".ckpt"), {}).exists():
                    print(f"{path} exists ({finished} steps): skipped (--force reruns; a larger --steps goes on "
                          f"from its checkpoint where one was kept)")
                    continue
            learn_one(algo, args, env_kwargs, overrides, steps, seed, path)
    report(args)


def acting(args: argparse.Namespace) -> None:
    import envs  # noqa: F401  (registers the Foresight/ ids)
    from scripts.benchmarks._latent_acting import acting as compare
    torch.set_num_threads(args.threads)
    compare(args, agents_folder(args), lambda env_kwargs, keys: hide(gym.make(args.env, **env_kwargs), keys))


def value(args: argparse.Namespace) -> None:
    import envs  # noqa: F401  (registers the Foresight/ ids)
    from scripts.benchmarks._latent_value_probe import value_probe
    torch.set_num_threads(args.threads)
    value_probe(args, agents_folder(args), lambda env_kwargs: gym.make(args.env, **env_kwargs))


def imagined(args: argparse.Namespace) -> None:
    import envs  # noqa: F401  (registers the Foresight/ ids)
    from scripts.benchmarks._latent_imagined import imagined as compare
    torch.set_num_threads(args.threads)
    compare(args, agents_folder(args), lambda env_kwargs: gym.make(args.env, **env_kwargs))


def blame(args: argparse.Namespace) -> None:
    import envs  # noqa: F401  (registers the Foresight/ ids)
    from agents.training.hyperparams import parse_overrides
    from scripts.benchmarks._latent_blame import blame as split
    torch.set_num_threads(args.threads)
    split(args, agents_folder(args), lambda env_kwargs: gym.make(args.env, **env_kwargs), parse_overrides(args.params))


def generalise(args: argparse.Namespace) -> None:
    import envs  # noqa: F401  (registers the Foresight/ ids)
    from agents.training.hyperparams import parse_overrides
    from scripts.benchmarks._latent_generalisation import generalisation
    torch.set_num_threads(args.threads)
    generalisation(args, agents_folder(args), lambda env_kwargs: gym.make(args.env, **env_kwargs),
                   parse_overrides(args.params))


def rescore(args: argparse.Namespace) -> None:
    import envs  # noqa: F401  (registers the Foresight/ ids)
    from agents.training.hyperparams import parse_overrides
    from scripts.benchmarks._latent_rescore import rescore as score_again
    torch.set_num_threads(args.threads)
    score_again(args, agents_folder(args), lambda env_kwargs: gym.make(args.env, **env_kwargs),
                overrides=parse_overrides(args.params))


def compare(args: argparse.Namespace) -> None:
    from scripts.benchmarks._latent_rescore import compare as pair_folders
    if not args.against or args.tag in args.against:
        raise ValueError(f"--what compare needs --against TAG [TAG ...], tags other than --tag {args.tag!r}: "
                         f"the results folders to pair against (got {args.against})")
    step = "" if args.at_step is None else f"step_{args.at_step}"  # both sides at the same evaluation
    folders = {tag: results_path(args.env, tag, args.out) / step for tag in [args.tag, *args.against]}
    missing = [tag for tag, folder in folders.items() if not folder.is_dir()]
    if missing:
        prefix = results_path(args.env, "", args.out).name
        known = sorted(f.name[len(prefix) + 1:] for f in pathlib.Path(args.out).glob(f"{prefix}-*") if f.is_dir())
        raise ValueError(f"no results folder for tag(s) {missing} of {args.env} in {args.out}"
                         f"{f' with agents at step {args.at_step}' if step else ''}; tags there: {known}")
    pair_folders(folders.pop(args.tag), folders, args.final_episodes)


def detours(args: argparse.Namespace) -> None:
    import envs  # noqa: F401  (registers the Foresight/ ids)
    from scripts.benchmarks._pointnav_detours import detours as split
    split(agents_folder(args), lambda env_kwargs: gym.make(args.env, **env_kwargs))


# ----------------------------------------------------------------------------- report
def results_path(env_id: str, tag: str, out: str) -> pathlib.Path:
    """``<out>/<env id with / as ->[-<tag>]``: where the runs of one env and tag keep their JSON files."""
    return pathlib.Path(out) / (env_id.replace("/", "-") + (f"-{tag}" if tag else ""))


def results_folder(args: argparse.Namespace) -> pathlib.Path:
    folder = results_path(args.env, args.tag, args.out)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def agents_folder(args: argparse.Namespace) -> pathlib.Path:
    """Where the saved agents the analysis sections read are: the results folder (the final agents), or
    with ``--at-step N`` its ``step_<N>/`` (the agents as they were at that evaluation)."""
    folder = results_folder(args)
    if args.at_step is None:
        return folder
    steps = sorted(int(f.name[5:]) for f in folder.glob("step_*") if f.name[5:].isdigit())
    if args.at_step not in steps:
        raise ValueError(f"--at-step {args.at_step}: {folder} has no agents saved at that step; it has them at "
                         f"{steps or 'no step'} (learn --save-agents saves them at every evaluation)")
    return folder / f"step_{args.at_step}"


def report(args: argparse.Namespace) -> None:
    """Medians over seeds with bootstrap CIs, the paired final difference, and the curve PNG."""
    from agents.evaluation.statistics import bootstrap_ci
    folder = results_folder(args)
    runs: dict[str, list[dict]] = {}
    for path in sorted(folder.glob("*_s*.json")):
        record = json.loads(path.read_text())
        if "algo" in record:  # a learning run's record; acting_s<seed>.json (--what acting) sits beside them
            runs.setdefault(record["algo"], []).append(record)
    if not runs:
        print(f"no results in {folder}")
        return
    metric = next(iter(runs.values()))[0]["metric"]
    # success is 0/1 per episode, so its CI is the success rate's (the mean); returns get the median episode's
    name, statistic = ("mean", np.mean) if metric == "success_rate" else ("median", np.median)
    print(f"\n{args.env} ({folder.name}): {metric}, medians over seeds, 95% bootstrap CI of the {name} over "
          "seeds x episodes")
    for algo, records in runs.items():
        final = np.array([r["final"] for r in records])
        low, high = bootstrap_ci(final, statistic=statistic)
        steps = sorted({r["curve"][-1]["steps"] for r in records})
        print(f"  {algo:>5} at {steps} env steps, seeds {[r['seed'] for r in records]}: final {metric} median "
              f"{np.median(final.mean(1)):.3f} (per seed {np.round(final.mean(1), 3).tolist()}), {name} CI "
              f"[{low:.3f}, {high:.3f}]; wall {statistics.median(r['seconds'] for r in records):.0f} s median")
        priors = [np.mean(r["final_prior"]) for r in records if "final_prior" in r]
        if priors:
            print(f"        the prior alone (no planning), same episodes: per seed {np.round(priors, 3).tolist()}")
        for target in args.targets:
            reached = [next((p["steps"] for p in r["curve"] if p[metric] >= target), None) for r in records]
            print(f"        first evaluation at {metric} >= {target}: {reached} (None: not reached)")
    paired(runs, metric, bootstrap_ci)
    plot(runs, metric, pathlib.Path(args.figures) / f"latent_{folder.name}.png", args.env)


def paired(runs: dict[str, list[dict]], metric: str, bootstrap_ci: Callable) -> None:
    """lmpc minus the peer on the same seeded final episodes, pooled over the seeds both have."""
    peers = [a for a in runs if a != "lmpc"]
    if "lmpc" not in runs or not peers:
        return
    mine = {r["seed"]: np.array(r["final"]) for r in runs["lmpc"]}
    theirs = {r["seed"]: np.array(r["final"]) for r in runs[peers[0]]}
    common = sorted(set(mine) & set(theirs))
    if not common:
        return
    difference = np.concatenate([mine[s] - theirs[s] for s in common])
    low, high = bootstrap_ci(difference[None], statistic=np.mean)
    verdict = "lmpc at least as good (CI not below 0)" if low >= 0 else \
        ("no significant difference" if high >= 0 else "peer better")
    print(f"  paired final lmpc - {peers[0]} (seeds {common}, {len(difference)} episodes): mean "
          f"{difference.mean():.3f}, 95% CI [{low:.3f}, {high:.3f}]: {verdict}")


def plot(runs: dict[str, list[dict]], metric: str, path: pathlib.Path, title: str) -> None:
    """Median curve per algorithm over seeds, each seed faint behind it; fails soft (the JSON is the result)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        from matplotlib import pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 4))
        for (algo, records), colour in zip(runs.items(), ("tab:blue", "tab:orange", "tab:green"), strict=False):
            for r in records:
                ax.plot([p["steps"] for p in r["curve"]], [p[metric] for p in r["curve"]], color=colour, alpha=0.25)
            length = min(len(r["curve"]) for r in records)
            steps = [records[0]["curve"][i]["steps"] for i in range(length)]
            median = [np.median([r["curve"][i][metric] for r in records]) for i in range(length)]
            seeds = f"{len(records)} seed" + "s" * (len(records) != 1)
            ax.plot(steps, median, color=colour, marker="o", label=f"{algo} (median of {seeds})")
        ax.set(xlabel="env steps (demonstrations included)", ylabel=metric.replace("_", " "), title=title)
        ax.legend()
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
        plt.close(fig)
        print(f"  curve: {path}")
    except Exception as error:  # noqa: BLE001  (a plot must never lose the figures above)
        print(f"  warning: no curve PNG ({type(error).__name__}: {error}); the JSON files hold every figure")


# ----------------------------------------------------------------------------- speed
def timed(fn: Callable[[], object], repeats: int) -> float:
    """Median seconds of ``fn`` over ``repeats`` calls (one warm-up call first)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def speed(args: argparse.Namespace) -> None:
    import envs  # noqa: F401
    from agents.planning.latent_agent import LatentPlanningAgent
    from agents.planning.latent_update import LatentValueLearner
    from agents.planning.mpc import PlanningAgent
    torch.set_num_threads(args.threads)
    env_id = "Foresight/PandaPush-v0"
    env = gym.make(env_id, obs_mode="goal")
    from agents.training.hyperparams import parse_overrides
    lmpc_preset = {k: v for k, v in preset("lmpc", env_id, parse_overrides(args.params)).items()
                   if k not in ("n_timesteps", "env_kwargs", "demo_episodes", "learning_starts")}
    lmpc = LatentPlanningAgent(env, seed=0, learning_starts=300, pretrain_updates=1, **lmpc_preset).learn(300)
    mpc_preset = {k: v for k, v in preset("mpc", env_id, {}).items() if k not in ("n_timesteps", "env_kwargs")}
    mpc = PlanningAgent(env, seed=0, **{**mpc_preset, "learning_starts": 300, "max_epochs": 1}).learn(300)
    obs = env.reset(seed=0)[0]
    batch = lambda: lmpc.replay.sample(lmpc.config.batch_size, lmpc.device)  # noqa: E731
    # the same model under the other precision, with optimisers of its own: the update rate side by side
    other = "bfloat16" if lmpc.config.precision == "float32" else "float32"
    other_learner = LatentValueLearner(lmpc.model, replace(lmpc.learner.config, precision=other), lmpc.generator)
    results = {}
    for _ in range(args.rounds):  # interleaved rounds: load on the machine hits every contender alike
        timed_calls = {"lmpc plan": lambda: lmpc.predict(obs), "lmpc prior": lambda: lmpc.predict_prior(obs),
                       "lmpc update": lambda: lmpc.learner.update(batch()),
                       "lmpc update other": lambda: other_learner.update(batch()),
                       "mpc plan": lambda: mpc.predict(obs)}
        for name, fn in timed_calls.items():
            results.setdefault(name, []).append(timed(fn, args.repeats))
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"{env_id} (goal obs), {args.threads} thread(s), medians of {args.rounds} rounds x {args.repeats} calls:")
    print(f"  lmpc planned action: {med['lmpc plan'] * 1e3:.1f} ms (target <= 20 ms)   "
          f"[{lmpc.config.num_candidates}+{lmpc.config.num_prior} x H{lmpc.config.horizon} "
          f"x {lmpc.config.iterations} it]")
    print(f"  lmpc prior action:   {1 / med['lmpc prior']:.0f} actions/s (target >= 1000)")
    print(f"  lmpc update:         {1 / med['lmpc update']:.1f} updates/s at batch {lmpc.config.batch_size} "
          f"in {lmpc.config.precision} (target >= 50); in {other}: {1 / med['lmpc update other']:.1f}/s, "
          f"x{med['lmpc update'] / med['lmpc update other']:.2f}")
    print(f"  mpc planned action:  {med['mpc plan'] * 1e3:.1f} ms at its Push preset; lmpc / mpc time: "
          f"{med['lmpc plan'] / med['mpc plan']:.2f}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="benchmark.py latent", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--what", choices=("speed", "learn", "report", "acting", "value", "imagined", "blame",
                                           "generalise", "rescore", "detours", "compare"), default="speed")
    parser.add_argument("--env", default="Pendulum-v1", help="gymnasium id (learn, report)")
    parser.add_argument("--env-kwargs", nargs="*", default=[], help="key=value on top of the preset's env_kwargs")
    parser.add_argument("--steps", type=int, default=4000, help="lmpc env-step budget")
    parser.add_argument("--peer", default="sac", choices=("sac", "tqc", "ppo", "none"))
    parser.add_argument("--peer-steps", type=int, default=None, help="peer budget (default: --steps)")
    parser.add_argument("--params", nargs="*", default=[], help="lmpc hyperparameter overrides key=value")
    parser.add_argument("--peer-params", nargs="*", default=[], help="peer hyperparameter overrides key=value")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--eval-every", type=int, default=0, help="env steps between evaluations (0: budget / 10)")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--final-episodes", type=int, default=20, help="seeded episodes of the final evaluation")
    parser.add_argument("--targets", type=float, nargs="*", default=[], help="report when each level is first reached")
    parser.add_argument("--gym-packages", nargs="*", default=[], help="modules to import that register ids")
    parser.add_argument("--tag", default="", help="suffix of the results folder (e.g. rgb)")
    parser.add_argument("--against", nargs="*", default=[], help="compare: tags of the folders to pair against")
    parser.add_argument("--out", default=str(ROOT / "runs" / "benchmarks" / "latent"))
    parser.add_argument("--figures", default=str(ROOT / "docs" / "figures"), help="folder of the curve PNGs")
    parser.add_argument("--force", action="store_true", help="rerun seeds whose JSON exists")
    parser.add_argument("--save-agents", action="store_true",
                        help="save each final agent beside its JSON, and the agent at each evaluation in step_<n>/")
    parser.add_argument("--at-step", type=int, default=None,
                        help="acting, value, imagined, generalise, rescore, detours: the agents saved at this "
                             "evaluation's env step (step_<n>/), not the final ones")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--rounds", type=int, default=5, help="speed: interleaved rounds")
    parser.add_argument("--repeats", type=int, default=10, help="speed: timed calls per round")
    parser.add_argument("--updates", type=int, default=3000, help="generalise: updates of the fresh model")
    parser.add_argument("--mask", nargs="*", default=[], help="generalise: KEY:START:STOP observation entries zeroed")
    args = parser.parse_args(argv)
    import importlib
    for name in args.gym_packages:
        importlib.import_module(name)
    {"speed": speed, "learn": learn, "report": report, "acting": acting, "value": value,
     "imagined": imagined, "blame": blame, "generalise": generalise, "rescore": rescore,
     "detours": detours, "compare": compare}[args.what](args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
