"""Foresight world_models package."""
