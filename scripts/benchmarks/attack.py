"""Attack run of issue 13: everything that arrives (files, messages, actions) tried as an attacker and a
careless user would, counted per class as tried / held / failed.

    python scripts/benchmark.py attack                 # all classes, ~5 min on a 2-core CPU
    python scripts/benchmark.py attack --quick         # every 7th dataset byte, 2,000 fuzzed commands
    python scripts/benchmark.py attack --only 2 4 --json attack.json

Classes: 1 run folders (crafted config.yaml through load_run, evaluate, export, resume), 2 ``.pt2``
archives (and whether torch.export.load itself runs each), 3 damaged checkpoints and datasets and a
full disk, 4 malformed robot-protocol messages, 5 the change limit (fuzzed supervisor commands,
raw reversals straight to the robot server), 6 request-id collisions and oversized messages (peak
RSS of a real ``scripts/robot_server.py``), 7 bad actions into every env id, 8 supervise with a
non-numeric uncertainty. Held: refused with a typed, clear error, or harmless; every other outcome
is a failure, named in the report. It uses only APIs that predate the fixes, so the same script
measures the code before them (see ``docs/benchmarks.md``).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))  # the _attack_* helpers
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))  # the repository (tests.attacks)

CLASSES = ("1", "2", "3", "4", "5", "6", "7", "8")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="every 7th dataset byte, 2,000 fuzzed commands")
    parser.add_argument("--only", nargs="*", default=list(CLASSES), choices=CLASSES, help="classes to run")
    parser.add_argument("--big-frame-mib", type=int, default=256, help="size of the oversized frame (MiB)")
    parser.add_argument("--json", default=None, help="write the tallies here")
    return parser.parse_args(argv)


def run(args: argparse.Namespace, work: pathlib.Path) -> list:
    import _attack_actions as actions
    import _attack_files as files
    import _attack_robot as robot

    steps = {
        "1": lambda: [files.attack_run_folders(work / "c1")],
        "2": lambda: [_pt2(files, work / "c2")],
        "3": lambda: [files.attack_checkpoints(work / "c3a"),
                      files.attack_datasets(work / "c3b", 7 if args.quick else 1),
                      files.attack_full_disk(work / "c3c")],
        "4": lambda: [robot.attack_messages()],
        "5": lambda: robot.attack_change_limit(2_000 if args.quick else 10_000, 300 if args.quick else 1_000),
        "6": lambda: [robot.attack_request_ids(), robot.attack_message_sizes(args.big_frame_mib)],
        "7": lambda: [actions.attack_actions()],
        "8": lambda: [robot.attack_uncertainty()],
    }
    for sub in ("c1", "c2", "c3a", "c3b", "c3c"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    tallies = []
    for number in args.only:
        start = time.perf_counter()
        for tally in steps[number]():
            tallies.append(tally)
            print(f"{tally.name}: tried {tally.tried}, held {tally.held}, failed {tally.tried - tally.held}  "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
            for outcome, count in sorted(tally.outcomes.items()):
                example = f"   e.g. {tally.examples[outcome][:2]}" if outcome in tally.examples else ""
                print(f"    {count:6d}  {outcome}{example}")
    return tallies


def _pt2(files, work: pathlib.Path):
    tally, torch_runs = files.attack_pt2(work)
    ran = [name for name, yes in torch_runs.items() if yes]
    print(f"    torch.export.load(...).module() itself runs {len(ran)} of {len(torch_runs)} crafted archives: {ran}")
    return tally


def main(argv: list[str]) -> int:
    args = parse(argv)
    with tempfile.TemporaryDirectory(prefix="attack-") as folder:
        tallies = run(args, pathlib.Path(folder))
    rows = [t.as_dict() for t in tallies]
    print("\n| class | tried | held | failed |\n| --- | --- | --- | --- |")
    for row in rows:
        print(f"| {row['class']} | {row['tried']} | {row['held']} | {row['failed']} |")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
