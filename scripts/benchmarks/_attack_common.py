"""Shared pieces of the attack run: a tally per class, and running a case with a deadline.

Every case ends in one outcome; ``HELD`` outcomes are the ones the issue asks for (refused with a
typed, clear error, or harmless), everything else is a failure, named so the report says how it
failed (code ran, silent corruption, untyped error, hang, crash, server died...).
"""
from __future__ import annotations

import collections
import dataclasses
import multiprocessing
import pathlib
import queue
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

HELD = {"refused", "harmless", "typed error", "accepted", "answered", "within limit", "executed"}


@dataclasses.dataclass
class Tally:
    """Outcomes of one attack class: counts per outcome and a few examples of each failure."""

    name: str
    outcomes: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    examples: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    def add(self, outcome: str, case: str = "") -> None:
        self.outcomes[outcome] += 1
        if outcome not in HELD and len(self.examples.setdefault(outcome, [])) < 4:
            self.examples[outcome].append(case)

    @property
    def tried(self) -> int:
        return sum(self.outcomes.values())

    @property
    def held(self) -> int:
        return sum(n for outcome, n in self.outcomes.items() if outcome in HELD)

    def as_dict(self) -> dict[str, Any]:
        return {"class": self.name, "tried": self.tried, "held": self.held, "failed": self.tried - self.held,
                "outcomes": dict(self.outcomes), "examples": self.examples}


def _child(work: Callable[[Any], str], items: list, start: int, results: Any) -> None:
    for index in range(start, len(items)):
        try:
            outcome = work(items[index])
        except BaseException as err:  # noqa: BLE001 - the parent records it; a case must not end the run
            outcome = f"harness error: {type(err).__name__}: {str(err)[:80]}"
            traceback.print_exc()
        results.put((index, outcome))


def run_with_deadline(work: Callable[[Any], str], items: Iterable, timeout_s: float = 10.0) -> list[str]:
    """``work(item)`` for every item in a forked child; a case that exceeds ``timeout_s`` is a
    ``hang`` and one that kills the child a ``crash``; the child restarts after either."""
    items = list(items)
    context = multiprocessing.get_context("fork")
    outcomes: list[str | None] = [None] * len(items)
    start = 0
    while start < len(items):
        results = context.Queue()
        child = context.Process(target=_child, args=(work, items, start, results), daemon=True)
        child.start()
        while start < len(items):
            try:
                index, outcome = results.get(timeout=timeout_s)
            except queue.Empty:
                outcomes[start] = "hang" if child.is_alive() else "crash"
                start += 1
                child.kill()
                break
            outcomes[index] = outcome
            start = index + 1
        child.join(5)
    return [o or "crash" for o in outcomes]


def marker_ran(marker: pathlib.Path, wait_s: float = 0.0) -> bool:
    """True (and the marker removed for the next case) if the case's payload ran; ``wait_s`` gives
    a payload that started a shell (``subprocess.Popen``) time to finish."""
    deadline = time.monotonic() + wait_s
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    if marker.exists():
        marker.rmdir()
        return True
    return False
