"""Command-line front ends of ``scripts/train.py`` and ``scripts/evaluate.py`` (parsers + config).

Kept in the library so tests reach every flag; the scripts only call :func:`train_main` etc.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Any

from agents.training.hyperparams import parse_overrides
from agents.training.names import ALGOS, VEC_ENVS


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """``--help`` as every script shows it: the description as written, each flag's default once.

    argparse's ``ArgumentDefaultsHelpFormatter`` appends ``(default: None)`` even where the help
    already explains what no value means; here a default is added only when the help does not
    mention one and there is a value to show.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or not action.option_strings:
            return text
        default = action.default
        if default is None or default is False or default is argparse.SUPPRESS or default == []:
            return text
        return f"{text} (default: %(default)s)"


class _PlainFormatter(logging.Formatter):
    """Notices as plain lines, warnings and errors prefixed with their level (``warning: ...``)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        return message if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {message}"


class _CurrentStdout(logging.StreamHandler):
    """A handler on whatever ``sys.stdout`` is when a record comes (a redirect, a test's capture), not
    the one it was made with."""

    @property  # type: ignore[override]
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value) -> None:
        pass


def console_logging() -> None:
    """Send our library's log records (``agents.*``) to stdout: for a script they are its output."""
    logger = logging.getLogger("agents")
    if not any(getattr(h, "foresight_console", False) for h in logger.handlers):
        handler = _CurrentStdout()
        handler.setFormatter(_PlainFormatter())
        handler.foresight_console = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def import_gym_packages(names: list[str]) -> None:
    """Import packages that register gymnasium ids (``envs`` is always imported)."""
    for name in ["envs", *names]:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as err:
            raise SystemExit(f"--gym-packages: cannot import {name!r} ({err})") from None


def add_trust_flag(p: argparse.ArgumentParser) -> None:
    """``--trust-wrapper``: the one way to let a config name an env wrapper outside the known list."""
    p.add_argument("--trust-wrapper", nargs="*", default=[], metavar="PATH",
                   help="env_wrapper classes (dotted paths) a config or run folder may name besides the known "
                   "gymnasium/SB3 wrappers; trusting one runs its code")


def apply_trust(args: argparse.Namespace) -> None:
    from agents.training.wrapper_allowlist import trust_wrappers

    trust_wrappers(args.trust_wrapper)


def train_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="train.py",
        description="Train an agent into runs/<env>/<algo>/<stamp>_s<seed>/ (config.yaml, TensorBoard events, "
        "checkpoints, evaluations, eval.json, curve.png, video.mp4). With no flags: SAC + HER on "
        "Foresight/PandaReach-v0, a few minutes on a laptop CPU.",
        formatter_class=HelpFormatter,
    )
    p.add_argument("--algo", default="sac", choices=ALGOS, help="algorithm")
    p.add_argument("--env", default="Foresight/PandaReach-v0",
                   help="gymnasium env id (ours or any installed package's)")
    p.add_argument("-n", "--n-timesteps", type=int, default=None,
                   help="total env steps (default: the hyperparameter file's)")
    p.add_argument("--seed", type=int, default=0, help="one seed for model, envs and evaluation")
    p.add_argument("--n-envs", type=int, default=None, help="parallel training envs (default: the file's, else 1)")
    p.add_argument("--vec-env", default=None, choices=VEC_ENVS,
                   help="how envs run: one process, one per env, or a batched torch world (default: the file's, "
                        "else dummy)")
    p.add_argument("--device", default="auto", help="torch device: auto (CUDA when present), cpu, cuda, cuda:N")
    p.add_argument("--eval-freq", type=int, default=None,
                   help="evaluate every N env steps (0: only at the end; default: max(2000, n_timesteps/20))")
    p.add_argument("--eval-episodes", type=int, default=20, help="episodes per evaluation")
    p.add_argument("--save-freq", type=int, default=None,
                   help="full checkpoint (with the replay buffer) every N env steps (0: only at the end; "
                        "default: max(2000, n_timesteps/10))")
    p.add_argument("--params", nargs="*", default=[], metavar="KEY=VALUE",
                   help="hyperparameter overrides, e.g. gamma=0.9 'policy_kwargs=dict(net_arch=[32])'")
    p.add_argument("--env-kwargs", nargs="*", default=[], metavar="KEY=VALUE",
                   help="gymnasium.make kwargs, e.g. reward_type=dense")
    p.add_argument("-f", "--log-folder", default="runs", help="root folder of runs")
    p.add_argument("--resume", default=None, metavar="RUN",
                   help="continue this run folder from its newest readable checkpoint")
    p.add_argument("--hyperparams-folder", default=None, metavar="DIR",
                   help="folder of <algo>.yml files (default: agents/training/hyperparams)")
    p.add_argument("--gym-packages", nargs="*", default=[], metavar="PKG",
                   help="packages to import so their env ids register (e.g. panda_gym)")
    add_trust_flag(p)
    p.add_argument("--video-episodes", type=int, default=2,
                   help="episodes of the final policy in video.mp4 (0: no video)")
    p.add_argument("--torch-threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("-v", "--verbose", type=int, default=0, choices=(0, 1, 2), help="SB3 console logging")
    return p


def train_config_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """RunConfig fields from parsed flags (raises ValueError on malformed key=value pairs)."""
    return dict(
        algo=args.algo,
        env_id=args.env,
        n_timesteps=args.n_timesteps,
        seed=args.seed,
        n_envs=args.n_envs,
        vec_env=args.vec_env,
        device=args.device,
        eval_freq=args.eval_freq,
        eval_episodes=args.eval_episodes,
        save_freq=args.save_freq,
        params=parse_overrides(args.params),
        env_kwargs=parse_overrides(args.env_kwargs),
        log_folder=args.log_folder,
        hyperparams_folder=args.hyperparams_folder,
        video_episodes=args.video_episodes,
        torch_threads=args.torch_threads,
        progress=not args.no_progress,
        verbose=args.verbose,
    )


def train_main(argv: list[str] | None = None) -> int:
    """``scripts/train.py``: parse, validate everything, then train or resume and say where results are."""
    parser = train_parser()
    args = parser.parse_args(argv)  # before torch and SB3 load: --help and bad flags answer at once
    console_logging()

    from agents.checkpoints import CheckpointError
    from agents.training import run as training

    import_gym_packages(args.gym_packages)
    try:
        apply_trust(args)
        if args.resume:
            overrides = {"progress": not args.no_progress, "verbose": args.verbose}
            if args.n_timesteps is not None:
                overrides["n_timesteps"] = args.n_timesteps
            plan = training.prepare_resume(args.resume, **overrides)
        else:
            plan = training.prepare_run(training.RunConfig(**train_config_kwargs(args)))
    except (ValueError, FileNotFoundError, ImportError, CheckpointError) as err:
        parser.error(str(err))
    try:  # the model is built before its run folder exists: a refusal leaves nothing behind
        started = training.start(plan)
    except (ValueError, TypeError) as err:
        parser.error(f"cannot build {plan.config.algo} with these hyperparameters: {type(err).__name__}: {err}")
    result = training.learn(started)
    print(report(result))
    return 0


def report(result) -> str:
    """The lines printed at the end of training: the score and where everything is."""
    run = result.run.path
    written = [name for name in ("eval.json", "curve.png", "video.mp4") if (run / name).is_file()]
    return "\n".join([
        f"final policy after {result.num_timesteps} steps: {result.summary.line()}",
        f"results in {run}/",
        f"  {', '.join(written)}, checkpoints/, TensorBoard: tensorboard --logdir {run / 'tb'}",
        f"  re-evaluate: python scripts/evaluate.py {run}",
    ])


def evaluate_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="evaluate.py",
        description="Evaluate saved runs over N seeded episodes: success rate with a 95% Wilson CI, return "
        "mean/std, per-episode CSV and videos; several runs are compared in one table with IQM and "
        "bootstrap CIs (as rliable computes them).",
        formatter_class=HelpFormatter,
    )
    p.add_argument("runs", nargs="+", metavar="RUN", help="run folders (runs/<env>/<algo>/<stamp>_s<seed>)")
    p.add_argument("--episodes", type=int, default=50, help="episodes per run")
    p.add_argument("--seed", type=int, default=1_000_000, help="episode i starts from reset(seed=SEED+i)")
    p.add_argument("--stochastic", action="store_true", help="sample actions instead of the deterministic policy")
    p.add_argument("--checkpoint", default="best", choices=("best", "latest"), help="which weights of each run")
    p.add_argument("--env-kwargs", nargs="*", default=[], metavar="KEY=VALUE",
                   help="gymnasium.make overrides, e.g. randomize=true for robustness")
    p.add_argument("--video-episodes", type=int, default=0,
                   help="record the first N episodes of each run to eval_video.mp4")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="write per-run CSV/videos under DIR/<run name>/ and the comparison here "
                        "(default: RUN/evaluation/)")
    p.add_argument("--plot", action="store_true", help="write comparison.png (per-run success/return with CIs)")
    p.add_argument("--gym-packages", nargs="*", default=[], metavar="PKG",
                   help="packages to import so their env ids register")
    p.add_argument("--ray", type=int, default=0, metavar="WORKERS",
                   help="evaluate on this many Ray actors (local, or the cluster at RAY_ADDRESS); 0: in this process")
    p.add_argument("--torch-threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    add_trust_flag(p)
    return p


def evaluate_main(argv: list[str] | None = None) -> int:
    """``scripts/evaluate.py``: evaluate each run, print a table (and aggregates for several runs)."""
    import json
    import pathlib

    parser = evaluate_parser()
    args = parser.parse_args(argv)  # before torch and SB3 load
    console_logging()

    import torch

    from agents.evaluation.media import optional_output
    from agents.runs import evaluate as rev

    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)  # one: a planning run's CEM spin-waits on a shared CPU with two

    import_gym_packages(args.gym_packages)
    try:
        apply_trust(args)
        request = rev.EvalRequest(args.episodes, args.seed, not args.stochastic, parse_overrides(args.env_kwargs),
                                  args.video_episodes, args.checkpoint, tuple(args.trust_wrapper))
        if args.episodes < 1 or args.video_episodes < 0 or args.ray < 0:
            raise ValueError(f"--episodes must be >= 1, --video-episodes and --ray >= 0, got {args.episodes}, "
                             f"{args.video_episodes}, {args.ray}")
        if args.ray and args.video_episodes:
            raise ValueError("--video-episodes records in this process; run it without --ray")
        missing = [r for r in args.runs if not (pathlib.Path(r) / "config.yaml").is_file()]
        if missing:
            raise ValueError(f"not run folders (no config.yaml): {', '.join(missing)}")
        infos = [rev.RunInfo.read(path) for path in args.runs]
    except ValueError as err:
        parser.error(str(err))
    labels = rev.run_labels(infos)
    reports = _evaluate_all(infos, labels, request, args)
    summary: dict = {"runs": {label: {"env_id": info.env_id, "algo": info.algo, **r.summary.as_dict()}
                              for label, info, r in zip(labels, infos, reports, strict=False)}}
    if len(reports) > 1:
        print(rev.comparison_table(reports, infos, labels))
        summary["aggregate"] = rev.aggregate(reports, infos, labels)
        print("\n".join(rev.aggregate_lines(summary["aggregate"])))
    out_root = pathlib.Path(args.out) if args.out else pathlib.Path(args.runs[0]) / "evaluation"
    out_root.mkdir(parents=True, exist_ok=True)
    (out_root / "summary.json").write_text(json.dumps(summary, indent=2))
    if args.plot:
        with optional_output("comparison.png"):
            rev.plot_comparison(reports, labels, out_root / "comparison.png")
    return 0


def _evaluate_all(infos, labels: list[str], request, args) -> list:
    """Each run, locally or on Ray actors (then only the CSV is written); one line per run."""
    import pathlib

    from agents.progress import Progress
    from agents.runs import evaluate as rev

    if args.ray:
        from agents.runs import parallel

        parallel.init_ray(args.ray)
    reports = []
    try:
        for info, label in zip(infos, labels, strict=False):
            safe = label.replace(" ", "_").replace("/", "_")
            out = pathlib.Path(args.out) / safe if args.out else info.path / "evaluation"
            if args.ray:
                report = parallel.evaluate_run_ray(info.path, request, args.ray, tuple(args.gym_packages))
                out.mkdir(parents=True, exist_ok=True)
                rev.write_episodes_csv(report.episodes, out / "episodes.csv")
            else:
                with Progress(request.n_episodes, f"evaluate {label}", unit="episode") as bar:
                    report = rev.evaluate_run(info.path, request, out, bar.set)
            print(f"{label}: {report.summary.line()}  (episodes in {out / 'episodes.csv'})")
            reports.append(report)
    finally:
        if args.ray:
            parallel.shutdown_ray()
    return reports


def tune_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tune.py",
        description="Optuna hyperparameter search over train.py's runs (rl-baselines3-zoo style). Give several "
        "machines the same --storage and --study-name to join one study. Prints the best trial as a YAML "
        "entry for --hyperparams-folder.",
        formatter_class=HelpFormatter,
    )
    p.add_argument("--algo", default="sac", choices=ALGOS, help="algorithm")
    p.add_argument("--env", default="Foresight/PandaReach-v0", help="gymnasium env id")
    p.add_argument("-n", "--n-timesteps", type=int, default=None, help="env steps per trial (default: the file's)")
    p.add_argument("--n-trials", type=int, default=10, help="trials this process runs")
    p.add_argument("--n-evaluations", type=int, default=4, help="evaluations per trial, reported to the pruner")
    p.add_argument("--eval-episodes", type=int, default=10, help="episodes per evaluation")
    p.add_argument("--study-name", default="foresight", help="study to create or join")
    p.add_argument("--storage", default=None, help="Optuna storage URL shared by all workers, e.g. sqlite:///study.db")
    p.add_argument("--sampler", default="tpe", choices=("tpe", "random"), help="Optuna sampler")
    p.add_argument("--pruner", default="median", choices=("median", "none"), help="Optuna pruner")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampler and of every trial's run")
    p.add_argument("--params", nargs="*", default=[], metavar="KEY=VALUE", help="fixed hyperparameters for every trial")
    p.add_argument("--env-kwargs", nargs="*", default=[], metavar="KEY=VALUE", help="gymnasium.make kwargs")
    p.add_argument("-f", "--log-folder", default="runs", help="trial runs go to LOG_FOLDER/tune/STUDY/")
    p.add_argument("--gym-packages", nargs="*", default=[], metavar="PKG",
                   help="packages to import so their env ids register")
    add_trust_flag(p)
    return p


def tune_main(argv: list[str] | None = None) -> int:
    """``scripts/tune.py``: validate, run the trials, print the best as a zoo YAML entry."""
    from agents.training import tuning
    from agents.training.run import RunConfig, prepare_run

    parser = tune_parser()
    args = parser.parse_args(argv)
    console_logging()
    import_gym_packages(args.gym_packages)
    try:
        apply_trust(args)
        base = RunConfig(algo=args.algo, env_id=args.env, n_timesteps=args.n_timesteps, seed=args.seed,
                           eval_episodes=args.eval_episodes, save_freq=0, params=parse_overrides(args.params),
                           env_kwargs=parse_overrides(args.env_kwargs), log_folder=args.log_folder)
        plan = prepare_run(base)
        config = tuning.TuneConfig(base, args.n_trials, args.study_name, args.storage, args.sampler, args.pruner,
                                   args.n_evaluations)
    except (ValueError, ImportError) as err:
        parser.error(str(err))
    study = tuning.tune(config)
    print(f"best trial {study.best_trial.number}: value {study.best_value:.3f}, params {study.best_params}")
    print(tuning.best_as_zoo_yaml(study, args.algo, args.env, plan.hyperparams["n_timesteps"]))
    return 0
