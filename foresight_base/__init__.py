"""The ground floor under every Foresight package: one device rule, one way to refuse bad choices,
one checkpoint file format.

``envs`` and ``perception`` may import nothing else of ours, and neither may import the other; what
all four packages need to mean the same thing lives here once instead of once per layer:

- ``devices.resolve_device``: what ``device="auto"`` (and ``"cuda"`` without CUDA) means everywhere.
- ``checks.check_choice`` / ``checks.check_keys``: "unknown X 'y'; valid: a, b" errors before any work.
- ``tensor_file.save`` / ``tensor_file.load``: tensors and plain data behind a SHA-256, written
  atomically, read with ``weights_only=True`` after the digest matched (every checkpoint of ours).

It imports nothing of ours, and this ``__init__`` imports nothing at all: ``checks`` needs only the
standard library, so ``import envs`` stays free of torch; ``devices`` loads torch when imported,
``tensor_file`` when it saves or loads.
"""
