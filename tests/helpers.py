"""Helpers many test files need: the repository root for subprocesses, a fake clock, and a pickle
payload that proves code execution. One copy here, so a fix reaches every test."""
from __future__ import annotations

import os
import pathlib
import threading

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"


def pythonpath_with_root() -> str:
    """``PYTHONPATH`` with the repository root first and the caller's entries kept (no empty entry)."""
    entries = [str(ROOT), *os.environ.get("PYTHONPATH", "").split(os.pathsep)]
    return os.pathsep.join(entry for entry in entries if entry)


def subprocess_env() -> dict[str, str]:
    """This process's environment for a child Python that must import the repository's packages."""
    return {**os.environ, "PYTHONPATH": pythonpath_with_root()}


class FakeClock:
    """Seconds that move only when told: set ``t``, or ``sleep`` (thread-safe) advances it.

    Pass it as ``clock=`` (and its ``sleep`` as ``sleep=``) so waits cost no wall time and
    deadlines are exact.
    """

    def __init__(self, start: float = 0.0) -> None:
        self.t = start
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.t

    def sleep(self, dt: float) -> None:
        with self.lock:
            self.t += dt


class MkdirOnUnpickle:
    """A pickle payload that creates directory ``path`` when unpickled: if ``path`` exists after a
    load, the loader ran code from the file."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = str(path)

    def __reduce__(self):
        return os.mkdir, (self.path,)
