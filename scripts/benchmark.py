#!/usr/bin/env python3
"""Benchmarks: Foresight and its peer measured side by side in one run, printing ratios.

Each section lives in ``scripts/benchmarks/<section>.py`` and takes its own flags:

    python scripts/benchmark.py envs --help
    python scripts/benchmark.py batched

Figures and the commands that produced them are recorded in ``docs/benchmarks.md``.
"""
from __future__ import annotations

import pathlib
import runpy
import sys

HERE = pathlib.Path(__file__).resolve().parent / "benchmarks"


def sections() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_"))


def main(argv: list[str]) -> int:
    available = sections()
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        print("sections:", ", ".join(available) or "(none yet)")
        return 0
    section, rest = argv[0], argv[1:]
    if section not in available:
        print(f"unknown benchmark section {section!r}; valid: {', '.join(available)}", file=sys.stderr)
        return 2
    sys.argv = [f"benchmark.py {section}", *rest]
    # sections import their helpers as scripts.benchmarks._<name>: the repository root must be importable
    root = str(HERE.parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    runpy.run_path(str(HERE / f"{section}.py"), run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
