"""A ``RobotServer`` in a thread on a free loopback port, for tests and the attack run."""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from envs.adapters.base import RobotAdapter
from envs.adapters.server import RobotServer


@contextlib.contextmanager
def serving(robot: RobotAdapter, watchdog_s: float = 5.0) -> Iterator[tuple[RobotServer, threading.Thread]]:
    """Serve ``robot`` until the block ends (then shut down and joined, also on errors)."""
    server = RobotServer(robot, "tcp://127.0.0.1:*", watchdog_s=watchdog_s)
    ready = threading.Event()
    thread = threading.Thread(target=server.serve, kwargs={"ready": ready}, daemon=True)
    thread.start()
    if not ready.wait(5.0):
        raise RuntimeError("robot server did not start within 5 s")
    try:
        yield server, thread
    finally:
        server.shutdown()
        thread.join(5.0)
