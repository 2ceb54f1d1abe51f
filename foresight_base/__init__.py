"""The ground floor under every Foresight package: one device rule and one way to refuse bad choices.

``envs`` and ``perception`` may import nothing else of ours, and neither may import the other; what
all four packages need to mean the same thing lives here once instead of once per layer:

- ``devices.resolve_device``: what ``device="auto"`` (and ``"cuda"`` without CUDA) means everywhere.
- ``checks.check_choice`` / ``checks.check_keys``: "unknown X 'y'; valid: a, b" errors before any work.

It imports nothing of ours, and this ``__init__`` imports nothing at all: ``checks`` needs only the
standard library, so ``import envs`` stays free of torch; ``devices`` loads torch when imported.
"""
