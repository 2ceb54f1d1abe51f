"""``RobotServer``: the program that runs next to a robot's driver and serves the wire protocol.

It owns a local :class:`RobotAdapter` (a real driver, or a simulated robot as its stand-in) and
answers one request at a time on a ZeroMQ REP socket, bound to loopback unless told otherwise.
It keeps its own watchdog: if the control process goes quiet (crash, cable, hung policy) for
``watchdog_s`` after an ``act``, the robot is safe-stopped here, where no network can delay it.
"""
from __future__ import annotations

import ipaddress
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import zmq

from envs.adapters.base import RobotAdapter
from envs.adapters.errors import ProtocolError, RobotRestarted
from envs.adapters.protocol import OPS, decode, encode, reply_header
from foresight_base.checks import check_choice

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "tcp://127.0.0.1:5555"


def check_endpoint(endpoint: str, allow_remote: bool = False) -> str:
    """Refuse a non-loopback TCP endpoint unless ``allow_remote`` (a robot port open to a network
    is a decision, not a default). ``ipc://`` and ``inproc://`` are always local."""
    if not endpoint.startswith("tcp://"):
        if endpoint.startswith(("ipc://", "inproc://")):
            return endpoint
        raise ValueError(f"endpoint {endpoint!r} must start with tcp://, ipc:// or inproc://")
    host = endpoint[len("tcp://"):].rpartition(":")[0].strip("[]")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not allow_remote:
        raise ValueError(f"endpoint {endpoint!r} is not loopback (127.0.0.1, ::1, localhost); "
                         "pass allow_remote=True (--allow-remote) to serve a network")
    return endpoint


class RobotServer:
    """Serves ``adapter`` over ZeroMQ until :meth:`shutdown` (thread-safe) or ``max_requests``.

    Args:
        adapter: the local robot; connected by :meth:`serve` and closed when serving ends.
        endpoint: where to bind, loopback by default; port ``*`` picks a free one (see ``bound_endpoint``).
        watchdog_s: safe-stop after this long without a request following an ``act`` (seconds).
        allow_remote: permit binding a non-loopback address.
    """

    def __init__(self, adapter: RobotAdapter, endpoint: str = DEFAULT_ENDPOINT, watchdog_s: float = 0.25,
                 allow_remote: bool = False, clock: Callable[[], float] = time.monotonic) -> None:
        self.adapter = adapter
        self.endpoint = check_endpoint(endpoint, allow_remote)
        self.bound_endpoint: str | None = None  # the real address once bound (a ``:*`` port resolved)
        self.watchdog_s = watchdog_s
        self.session = uuid.uuid4().hex
        self.counts: Counter[str] = Counter()
        self.clock = clock
        self._halt = threading.Event()
        self._moving_since: float | None = None  # time of the last act not yet followed by a stop
        self._last_act: tuple[int, list[bytes]] | None = None

    def shutdown(self) -> None:
        self._halt.set()

    def serve(self, max_requests: int | None = None, ready: threading.Event | None = None,
              on_ready: Callable[[], None] | None = None) -> None:
        """Bind, then answer requests; the robot is safe-stopped and closed however this ends."""
        context = zmq.Context.instance()
        socket = context.socket(zmq.REP)
        socket.setsockopt(zmq.LINGER, 0)
        try:
            with self.adapter:
                socket.bind(self.endpoint)
                self.bound_endpoint = socket.getsockopt_string(zmq.LAST_ENDPOINT)
                log.info("robot server %s on %s", self.session[:8], self.bound_endpoint)
                if ready is not None:
                    ready.set()
                if on_ready is not None:
                    on_ready()
                self._loop(socket, max_requests)
        finally:
            socket.close(linger=0)

    def _loop(self, socket: zmq.Socket, max_requests: int | None) -> None:
        poll_ms = max(1, int(min(self.watchdog_s / 4, 0.05) * 1000))
        while not self._halt.is_set() and (max_requests is None or self.counts["requests"] < max_requests):
            if socket.poll(poll_ms, zmq.POLLIN):
                socket.send_multipart(self.handle(socket.recv_multipart()))
            self._check_watchdog()

    def _check_watchdog(self) -> None:
        if self._moving_since is not None and self.clock() - self._moving_since > self.watchdog_s:
            log.warning("no command for %.3f s: safe stop", self.watchdog_s)
            self.adapter.stop()
            self.counts["watchdog_stops"] += 1
            self._moving_since = None

    def handle(self, frames: list[bytes]) -> list[bytes]:
        """One request -> reply frames; errors become ``ok: false`` replies, never a dead server."""
        self.counts["requests"] += 1
        request: dict[str, Any] = {}
        try:
            request, arrays = decode(frames)
            if request.get("op") == "act" and self._last_act and self._last_act[0] == request.get("id"):
                self.counts["duplicate_acts"] += 1  # a retry of an act already executed: replay the reply
                return self._last_act[1]
            body, out = self._dispatch(request, arrays)
            reply = encode(reply_header(request, self.session, body), out)
        except Exception as err:  # noqa: BLE001 - any failure is reported to the client, who stops
            self.counts["errors"] += 1
            log.warning("request failed: %r", err)
            return encode(reply_header(request, self.session, error=err))
        if request["op"] == "act":
            self._last_act = (request.get("id"), reply)
        return reply

    def _dispatch(self, request: dict[str, Any], arrays: dict[str, np.ndarray]) -> tuple[dict, dict]:
        op = request.get("op")
        check_choice("op", op, OPS, error=ProtocolError)
        if op == "act" and request.get("session") != self.session:
            # Sent to an earlier robot process (or before hello): executing it would move the robot
            # without the operator's explicit resume after the restart.
            self.counts["refused_acts"] += 1
            raise RobotRestarted(f"act for session {str(request.get('session'))[:8]} refused by session "
                                 f"{self.session[:8]}: say hello, then resume explicitly")
        self.counts[op] += 1
        if op == "hello":
            return {"limits": self.adapter.limits.to_dict(), "session": self.session,
                    "period_s": self.adapter.period_s}, {}
        if op == "observe":
            obs = self.adapter.observe()
            return {"time_s": obs.time_s}, dict(obs.data)
        if op == "act":
            sent = self.adapter.act(arrays)
            self._moving_since = self.clock()
            return {}, sent
        if op == "stop":
            self.adapter.stop()
            self._moving_since = None
            return {}, {}
        return {"counts": dict(self.counts), "stop_count": self.adapter.stop_count}, {}
