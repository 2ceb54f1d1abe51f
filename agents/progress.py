"""Progress of long work that reads right on a terminal and in a log file.

On a terminal it is a tqdm bar. Redirected to a file (``> train.log 2>&1``, a batch job, CI) a bar
writes only carriage returns, and SB3's rich bar nothing until the end; there it is a plain line
every ``every_s`` seconds instead, with the rate and the time left, so a 20-minute job shows it is
alive from its first minute.

Example:
    >>> import io
    >>> log = io.StringIO()                      # not a terminal: lines, not a bar
    >>> with Progress(3, "fit", unit="update", stream=log, every_s=0) as bar:
    ...     for _ in range(3):
    ...         bar.update()
    >>> log.getvalue().splitlines()[-1].startswith("fit: 3/3 updates (100%)")
    True
"""
from __future__ import annotations

import os
import sys
import time
from typing import IO, Any

EVERY_S = float(os.environ.get("FORESIGHT_PROGRESS_EVERY_S", 30.0))
"""Seconds between progress lines when the output is not a terminal (``FORESIGHT_PROGRESS_EVERY_S``)."""


def is_terminal(stream: IO[str]) -> bool:
    """Whether ``stream`` is an interactive terminal (a bar can redraw itself there)."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def _clock(seconds: float) -> str:
    seconds = int(max(0.0, seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
    """Counts ``done`` out of ``total`` and shows it (a bar on a terminal, lines in a log).

    Args:
        total: Units of work expected; ``done`` may end above it (then the line says so).
        desc: What is being done, e.g. ``"train sac"``.
        unit: Name of one unit (``"step"``, ``"episode"``); pluralised with an ``s``.
        stream: Where to write (default ``sys.stderr``, so stdout stays the script's result).
        every_s: Seconds between lines when ``stream`` is not a terminal (0: a line per update;
            ``None``: :data:`EVERY_S`, read from the environment when this is made).
        enabled: False shows nothing (``--no-progress``).
        initial: Units already done before this start (a resumed run); the rate counts only new ones.
    """

    def __init__(self, total: int, desc: str, unit: str = "step", stream: IO[str] | None = None,
                 every_s: float | None = None, enabled: bool = True, initial: int = 0) -> None:
        self.total, self.desc, self.unit = int(total), desc, unit
        self.stream = stream if stream is not None else sys.stderr
        self.every_s = every_s if every_s is not None else float(os.environ.get("FORESIGHT_PROGRESS_EVERY_S", EVERY_S))
        self.enabled = enabled
        self.done = self.initial = int(initial)
        self.start = time.monotonic()
        self._last_line = -float("inf")
        self._shown = -1  # ``done`` as of the last line written
        self._bar: Any = None
        if enabled and is_terminal(self.stream):
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, desc=desc, unit=unit, file=self.stream, dynamic_ncols=True,
                             unit_scale=self.total >= 10_000, initial=self.initial)
        elif enabled:
            self._line()

    def update(self, n: int = 1) -> None:
        """``n`` more units are done."""
        self.set(self.done + n)

    def set(self, done: int) -> None:
        """``done`` units are done in all (e.g. an agent's ``num_timesteps``)."""
        step, self.done = done - self.done, int(done)
        if not self.enabled:
            return
        if self._bar is not None:
            if self.done > self._bar.total:
                self._bar.total = self.done  # never print 32,768/25,000
            self._bar.update(step)
        elif time.monotonic() - self._last_line >= self.every_s:
            self._line()

    def _line(self) -> None:
        self._last_line = now = time.monotonic()
        self._shown = self.done
        elapsed = now - self.start
        share = self.done / self.total if self.total else 1.0
        units = self.unit if self.total == 1 else f"{self.unit}s"
        text = f"{self.desc}: {self.done:,}/{self.total:,} {units} ({min(share, 1.0):.0%}), {_clock(elapsed)} elapsed"
        if self.initial < self.done < self.total:  # a rate from no new units would be noise
            rate = (self.done - self.initial) / max(elapsed, 1e-9)
            text += f", {rate:.3g} {units}/s, ~{_clock((self.total - self.done) / rate)} left"
        print(text, file=self.stream, flush=True)

    def close(self) -> None:
        """Finish the bar, or write the final line."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self._shown != self.done:
            self._line()
        self.enabled = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
