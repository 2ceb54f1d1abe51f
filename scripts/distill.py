#!/usr/bin/env python3
"""Distil a trained run into a small policy network that acts in microseconds, and say how close it is.

    python scripts/train.py --algo mpc                               # a planning teacher (~10 ms per action)
    python scripts/distill.py runs/Foresight_PandaReach-v0/mpc/<stamp>_s0
    python scripts/evaluate.py runs/Foresight_PandaReach-v0/distilled/<stamp>_s0
    python scripts/deploy.py export --run runs/Foresight_PandaReach-v0/distilled/<stamp>_s0 --out policy.onnx

All flags: python scripts/distill.py --help. The logic lives in ``agents.runs.distill``.
"""
import sys

from agents.runs.distill_cli import distill_main

if __name__ == "__main__":
    sys.exit(distill_main())
