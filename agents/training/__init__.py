"""Training runs: one factory over SB3 and our agents, rl-zoo hyperparameters, the run folder, exact resume, tuning."""
