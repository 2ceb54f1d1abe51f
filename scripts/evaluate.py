#!/usr/bin/env python3
"""Evaluate saved runs: success rate (95% CI), return mean/std, per-episode CSV, videos, comparison.

    python scripts/evaluate.py runs/Foresight_PandaReach-v0/sac/<stamp>_s0
    python scripts/evaluate.py RUN_A RUN_B RUN_C --episodes 100 --out results/ --plot

All flags: python scripts/evaluate.py --help. The logic lives in ``agents.runs.cli`` and ``agents.runs.evaluate``.
"""
import sys

from agents.runs.cli import evaluate_main

if __name__ == "__main__":
    sys.exit(evaluate_main())
