"""Command line of ``scripts/distill.py`` (parser + report), kept in the library so tests reach every flag."""
from __future__ import annotations

import argparse

from agents.runs.cli import HelpFormatter, console_logging, import_gym_packages


def distill_parser() -> argparse.ArgumentParser:
    from agents.planning.distill import DistillConfig

    d = DistillConfig()
    p = argparse.ArgumentParser(
        prog="distill.py",
        description="Distil a run's agent (any algorithm; an mpc run is the usual teacher) into a small MLP "
        "policy with DAgger relabelling, evaluate teacher and student on the same seeded episodes, report the "
        "gap, and write the student as a run folder (runs/<env>/distilled/<stamp>_s<seed>/) that evaluate.py "
        "and deploy.py export --run accept.",
        formatter_class=HelpFormatter,
    )
    p.add_argument("run", metavar="RUN", help="the teacher's run folder (written by train.py)")
    p.add_argument("--rounds", type=int, default=d.rounds,
                   help="DAgger rounds: the teacher drives round 0, the student the rest")
    p.add_argument("--episodes-per-round", type=int, default=d.episodes_per_round, help="episodes collected per round")
    p.add_argument("--epochs", type=int, default=d.epochs, help="passes over all labels after each round")
    p.add_argument("--hidden-sizes", type=int, nargs="+", default=list(d.hidden_sizes), help="student MLP layers")
    p.add_argument("--teacher-mix", type=float, default=d.teacher_mix, help="chance the teacher acts in a DAgger round")
    p.add_argument("--eval-episodes", type=int, default=50, help="seeded episodes for each of teacher and student")
    p.add_argument("--seed", type=int, default=0, help="seeds the student, its data and its run folder name")
    p.add_argument("--checkpoint", default="best", choices=("best", "latest"), help="the teacher's weights")
    p.add_argument("-f", "--log-folder", default=None, help="root of the student's run folder (default: the teacher's)")
    p.add_argument("--gym-packages", nargs="*", default=[], metavar="PKG",
                   help="packages to import so their env ids register")
    p.add_argument("--torch-threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return p


def distill_main(argv: list[str] | None = None) -> int:
    """``scripts/distill.py``: validate, distil, print both scores, the gap and where the student is."""
    import pathlib

    parser = distill_parser()
    args = parser.parse_args(argv)
    console_logging()
    import_gym_packages(args.gym_packages)

    import torch

    from agents.planning.distill import DistillConfig
    from agents.progress import Progress
    from agents.runs.distill import DistillRequest, distill_run

    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)  # 1: small networks on a shared CPU (2 spin-waited 50x slower)

    try:
        if not (pathlib.Path(args.run) / "config.yaml").is_file():
            raise ValueError(f"{args.run} is not a run folder (no config.yaml)")
        config = DistillConfig(tuple(args.hidden_sizes), args.rounds, args.episodes_per_round, args.teacher_mix,
                               args.epochs, seed=args.seed)
        request = DistillRequest(args.run, config, args.eval_episodes, which=args.checkpoint,
                                 log_folder=args.log_folder)
    except ValueError as err:
        parser.error(str(err))
    episodes = args.rounds * args.episodes_per_round + 2 * args.eval_episodes
    try:
        with Progress(episodes, "distill", unit="episode", enabled=not args.no_progress) as bar:
            result = distill_run(request, bar.update)
    except ValueError as err:  # a run the student cannot imitate (images, discrete actions), named
        parser.error(str(err))
    print(report(result))
    return 0


def report(result) -> str:
    """Teacher and student on the same episodes, the gap, and where the student went."""
    from agents.runs.evaluate import interval

    gap, run = result.gap, result.run.path
    lines = [f"teacher: {result.teacher.line()}", f"student: {result.student.line()}",
             f"gap (teacher - student, same seeds): return {gap['return_difference']:.2f} "
             f"(95% CI {interval(*gap['return_difference_ci'])})"
             + (f", success {gap['success_difference']:+.0%}" if "success_difference" in gap else ""),
             "student within the teacher's 95% CI" if gap["within_teacher_ci"] else
             "student NOT within the teacher's 95% CI: more --rounds or --episodes-per-round",
             f"student in {run}/ ({result.training.dataset_sizes[-1]} labelled observations)",
             f"  evaluate: python scripts/evaluate.py {run}",
             f"  export:   python scripts/deploy.py export --run {run} --out policy.onnx"]
    return "\n".join(lines)
