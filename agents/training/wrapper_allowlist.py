"""Which env wrappers a config may name: a file never chooses the code we import and call.

rl-zoo's ``env_wrapper`` key names classes by dotted path, and the value travels in a run folder's
``config.yaml``: exactly what people download and share. A path resolves only if it is one of
:data:`KNOWN_WRAPPERS` (wrappers whose keyword arguments are plain data: no callables, no file
paths, no windows) or the person running the command trusted it by name (``--trust-wrapper
pkg.module.Name`` on the command line, :func:`trust_wrappers` in code), and the object found must
be a ``gymnasium.Wrapper`` subclass either way. Keyword arguments come from YAML's safe loader, so
they are numbers, strings, lists and dicts only.

Example:
    >>> resolve_wrapper("gymnasium.wrappers.TimeLimit").__name__
    'TimeLimit'
    >>> resolve_wrapper("pydoc.pipepager")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    UntrustedWrapperError: env_wrapper 'pydoc.pipepager' is not a known wrapper and was not trusted...
"""
from __future__ import annotations

import importlib
from collections.abc import Iterable

import gymnasium as gym

_GYMNASIUM = ("AtariPreprocessing", "DelayObservation", "DtypeObservation", "DiscretizeObservation",
              "FilterObservation", "FlattenObservation", "FrameStackObservation", "GrayscaleObservation",
              "MaxAndSkipObservation", "NormalizeObservation", "AddRenderObservation", "ResizeObservation",
              "ReshapeObservation", "RescaleObservation", "TimeAwareObservation", "ClipAction", "DiscretizeAction",
              "RescaleAction", "StickyAction", "RepeatAction", "ClipReward", "NormalizeReward", "TimeLimit",
              "RecordEpisodeStatistics", "AddWhiteNoise", "ObstructView")
KNOWN_WRAPPERS = frozenset(
    [f"gymnasium.wrappers.{name}" for name in _GYMNASIUM]
    + ["stable_baselines3.common.atari_wrappers.AtariWrapper", "sb3_contrib.common.wrappers.TimeFeatureWrapper"]
)
"""Wrappers a config may name without being trusted (all take plain-data keyword arguments)."""

_trusted: set[str] = set()


class UntrustedWrapperError(ValueError):
    """A config names a wrapper that is neither known nor trusted by the person running the command."""


def trust_wrappers(paths: Iterable[str]) -> None:
    """Allow these dotted paths too, for this process (the ``--trust-wrapper`` flag's effect)."""
    for path in paths:
        if not isinstance(path, str) or "." not in path:
            raise ValueError(f"--trust-wrapper {path!r} must be a dotted path such as 'my_pkg.wrappers.MyWrapper'")
        _trusted.add(path)


def clear_trusted() -> None:
    """Forget every path trusted so far (for tests and long-lived processes)."""
    _trusted.clear()


def allowed_wrappers() -> frozenset[str]:
    """Known plus trusted paths."""
    return KNOWN_WRAPPERS | _trusted


def resolve_wrapper(path: object) -> type[gym.Wrapper]:
    """The wrapper class at an allowed dotted ``path``; nothing is imported for any other path.

    Raises:
        UntrustedWrapperError: ``path`` is neither known nor trusted, or is not a gymnasium wrapper.
    """
    if not isinstance(path, str) or path not in allowed_wrappers():
        raise UntrustedWrapperError(
            f"env_wrapper {path!r} is not a known wrapper and was not trusted; known: "
            f"{', '.join(sorted(KNOWN_WRAPPERS))}. If you trust the code it names, pass "
            f"--trust-wrapper {path} (or call agents.training.wrapper_allowlist.trust_wrappers)")
    module_name, _, name = path.rpartition(".")
    obj = getattr(importlib.import_module(module_name), name, None)
    if not (isinstance(obj, type) and issubclass(obj, gym.Wrapper)):
        raise UntrustedWrapperError(f"env_wrapper {path!r} is {obj!r}, not a gymnasium.Wrapper subclass")
    return obj
