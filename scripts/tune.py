#!/usr/bin/env python3
"""Optuna hyperparameter search over train.py's runs; many machines join one study via --storage.

    python scripts/tune.py --algo sac --env Foresight/PandaReach-v0 -n 5000 --n-trials 20 \\
        --storage sqlite:///runs/tune.db --study-name reach-sac

All flags: python scripts/tune.py --help. The logic lives in ``agents.runs.cli`` and ``agents.training.tuning``.
"""
import sys

from agents.runs.cli import tune_main

if __name__ == "__main__":
    sys.exit(tune_main())
