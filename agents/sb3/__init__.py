"""Adapters to Stable-Baselines3's types: a VecEnv over batched worlds, feature extractors over perception encoders."""
