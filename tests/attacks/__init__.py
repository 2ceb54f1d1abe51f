"""Hostile inputs shared by the tests and ``scripts/benchmarks/attack.py`` (issue 13)."""
