"""Foresight perception package."""
