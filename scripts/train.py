#!/usr/bin/env python3
"""Train an agent (default: SAC + HER on Foresight/PandaReach-v0), evaluate it, say where results are.

    python scripts/train.py                       # the default job, a few minutes on a laptop CPU
    python scripts/train.py --algo ppo --env Foresight/PandaReach-v0 -n 50000 --n-envs 4 --vec-env subproc
    python scripts/train.py --resume runs/Foresight_PandaReach-v0/sac/<stamp>_s0

All flags: python scripts/train.py --help. The logic lives in ``agents.runs.cli`` and ``agents.training.run``.
"""
import sys

from agents.runs.cli import train_main

if __name__ == "__main__":
    sys.exit(train_main())
