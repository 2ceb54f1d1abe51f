"""``RobotServer``: the program that runs next to a robot's driver and serves the wire protocol.

It owns a local :class:`RobotAdapter` (a real driver, or a simulated robot as its stand-in) and
answers one request at a time on a ZeroMQ REP socket, bound to loopback unless told otherwise.
It keeps its own watchdog: if the control process goes quiet (crash, cable, hung policy) for
``watchdog_s`` after an ``act``, the robot is safe-stopped here, where no network can delay it.

It trusts no client: its socket drops oversized frames before buffering them, no message content
can end it (every failure becomes a typed ``ok: false`` reply), the adapter's own checks refuse
out-of-limit commands and clamp each step's change to ``max_delta`` whatever the client sent, and
a retried act is recognised per client. The session id is not authentication: anyone who can
reach the socket can command the robot (see ``docs/deploy.md`` for running it behind something
that authenticates).
"""
from __future__ import annotations

import hashlib
import ipaddress
import logging
import threading
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import zmq

from envs.adapters.base import RobotAdapter
from envs.adapters.errors import ProtocolError, RobotRestarted
from envs.adapters.protocol import MAX_ARRAYS, MAX_REQUEST_FRAME_BYTES, OPS, decode, encode, reply_header
from foresight_base.checks import check_choice

MAX_CLIENTS_REMEMBERED = 64
"""Clients whose last act is kept for retry detection (least recently seen forgotten first)."""
# A reply that cannot fail to encode: the last resort if building the real error reply fails.
_FALLBACK_REPLY = [b'{"v": 1, "op": "", "id": 0, "session": "", "ok": false, "body": {}, '
                   b'"error": "internal error building the reply", "error_type": "ProtocolError", "arrays": []}']

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
        # client -> (request id, digest of the request frames, reply): replays a retried act
        self._last_acts: OrderedDict[str, tuple[int, bytes, list[bytes]]] = OrderedDict()

    def shutdown(self) -> None:
        self._halt.set()

    def serve(self, max_requests: int | None = None, ready: threading.Event | None = None,
              on_ready: Callable[[], None] | None = None) -> None:
        """Bind, then answer requests; the robot is safe-stopped and closed however this ends."""
        context = zmq.Context.instance()
        socket = context.socket(zmq.REP)
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.MAXMSGSIZE, MAX_REQUEST_FRAME_BYTES)  # a bigger frame drops the peer, unread
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
            request, arrays = decode(frames, max_bytes=(MAX_ARRAYS + 1) * MAX_REQUEST_FRAME_BYTES)
            replay = self._retried_act(request, frames) if request.get("op") == "act" else None
            if replay is not None:
                self.counts["duplicate_acts"] += 1  # a retry of an act already executed: replay the reply
                return replay
            body, out = self._dispatch(request, arrays)
            reply = encode(reply_header(request, self.session, body), out)
        except Exception as err:  # noqa: BLE001 - any failure is reported to the client, who stops
            self.counts["errors"] += 1
            log.warning("request failed: %r", err)
            return self._error_reply(request, err)
        if request["op"] == "act":
            self._remember_act(request, frames, reply)
        return reply

    def _error_reply(self, request: dict[str, Any], err: Exception) -> list[bytes]:
        try:
            return encode(reply_header(request, self.session, error=err))
        except Exception:  # noqa: BLE001 - whatever the request held, the server answers and lives
            return _FALLBACK_REPLY

    def _retried_act(self, request: dict[str, Any], frames: list[bytes]) -> list[bytes] | None:
        """The stored reply if this act repeats the client's last one (same id, same bytes)."""
        self._check_session(request)
        client = request.get("client")
        if client is None:
            raise ProtocolError("an act must name its client (header 'client'), so a retry is told from a new act")
        last = self._last_acts.get(client)
        if last is None or last[0] != request.get("id"):
            return None
        if last[1] != _digest(frames):
            raise ProtocolError(f"act #{request.get('id')} from client {client[:8]} repeats an id with a "
                                "different command; refused")
        self._last_acts.move_to_end(client)
        return last[2]

    def _check_session(self, request: dict[str, Any]) -> None:
        if request.get("session") != self.session:
            # Sent to an earlier robot process (or before hello): executing it would move the robot
            # without the operator's explicit resume after the restart.
            self.counts["refused_acts"] += 1
            raise RobotRestarted(f"act for session {str(request.get('session'))[:8]} refused by session "
                                 f"{self.session[:8]}: say hello, then resume explicitly")

    def _remember_act(self, request: dict[str, Any], frames: list[bytes], reply: list[bytes]) -> None:
        self._last_acts[request["client"]] = (request.get("id"), _digest(frames), reply)
        self._last_acts.move_to_end(request["client"])
        while len(self._last_acts) > MAX_CLIENTS_REMEMBERED:
            self._last_acts.popitem(last=False)

    def _dispatch(self, request: dict[str, Any], arrays: dict[str, np.ndarray]) -> tuple[dict, dict]:
        op = request.get("op")
        check_choice("op", op, OPS, error=ProtocolError)
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


def _digest(frames: list[bytes]) -> bytes:
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(len(frame).to_bytes(8, "little"))
        digest.update(frame)
    return digest.digest()
