"""Foresight agents package."""
