"""``NetworkRobotAdapter``: a robot in another process (``scripts/robot_server.py``) over ZeroMQ.

Every call has a deadline (``timeout_s``) and a bounded number of retries; after a timeout the
socket is thrown away and a fresh one connects (the "lazy pirate" pattern: a REQ socket that missed
a reply is stuck otherwise), so a robot process that restarts is reached again without restarting
us. A restart is detected by the server's session id: the adapter then refuses to go on
(``RobotRestarted``) until :meth:`reconnect` is called explicitly, and a retried ``act`` reuses its
request id so the server never executes it twice.
"""
from __future__ import annotations

import itertools
import logging
import uuid
from typing import Any

import numpy as np
import zmq

from envs.adapters.base import Command, Observation, RobotAdapter
from envs.adapters.errors import (
    CommandKeyError,
    CommandShapeError,
    CommandTypeError,
    NonFiniteCommand,
    ProtocolError,
    RobotError,
    RobotRestarted,
    RobotTimeout,
    SafetyError,
)
from envs.adapters.limits import CommandLimits
from envs.adapters.protocol import MAX_ARRAY_BYTES, decode, encode
from envs.adapters.server import DEFAULT_ENDPOINT, check_endpoint

log = logging.getLogger(__name__)

_REMOTE_ERRORS = {cls.__name__: cls for cls in (SafetyError, NonFiniteCommand, CommandShapeError, CommandKeyError,
                                                CommandTypeError, ProtocolError)}


class NetworkRobotAdapter(RobotAdapter):
    """Client side of the robot protocol.

    Args:
        endpoint: the robot server's address (loopback by default).
        timeout_s: deadline for one reply (seconds).
        retries: further attempts after a timeout before ``RobotTimeout``.
        allow_remote: permit a non-loopback endpoint.
    """

    def __init__(self, endpoint: str = DEFAULT_ENDPOINT, timeout_s: float = 0.25, retries: int = 2,
                 allow_remote: bool = False) -> None:
        super().__init__(CommandLimits())
        if not timeout_s > 0 or retries < 0:
            raise ValueError(f"need timeout_s > 0 and retries >= 0, got {timeout_s}, {retries}")
        self.endpoint = check_endpoint(endpoint, allow_remote)
        self.timeout_s, self.retries = timeout_s, retries
        self.session: str | None = None
        self.client = uuid.uuid4().hex  # the server tells this client's retried acts from anyone else's
        self._restarted = False
        self._ids = itertools.count(1)
        self._context = zmq.Context.instance()
        self._socket: zmq.Socket | None = None

    # ------------------------------------------------------------------ transport
    def _fresh_socket(self) -> zmq.Socket:
        if self._socket is not None:
            self._socket.close(linger=0)
        self._socket = self._context.socket(zmq.REQ)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.setsockopt(zmq.MAXMSGSIZE, MAX_ARRAY_BYTES)  # no reply frame is ever bigger
        self._socket.connect(self.endpoint)
        return self._socket

    def _call(self, op: str, arrays: dict[str, np.ndarray] | None = None,
              attempts: int | None = None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Send one request and wait for its reply; retry on timeout with a new socket."""
        request_id = next(self._ids)
        # The session this request is meant for: a restarted robot process refuses an act
        # addressed to its predecessor (a retry queued in ZeroMQ reaches whoever serves next).
        request = encode({"op": op, "id": request_id, "session": self.session, "client": self.client}, arrays)
        attempts = self.retries + 1 if attempts is None else attempts
        for attempt in range(attempts):
            socket = self._socket or self._fresh_socket()
            socket.send_multipart(request)
            if socket.poll(int(self.timeout_s * 1000), zmq.POLLIN):
                return self._check_reply(op, request_id, *decode(socket.recv_multipart()))
            log.warning("robot %s: no reply to %s within %.3f s (attempt %d/%d)", self.endpoint, op,
                        self.timeout_s, attempt + 1, attempts)
            self._fresh_socket()
        raise RobotTimeout(f"robot at {self.endpoint} did not answer {op!r} in {attempts} x {self.timeout_s} s")

    def _check_reply(self, op: str, request_id: int, header: dict[str, Any], arrays: dict[str, np.ndarray]):
        session = header.get("session")
        if self.session is not None and session != self.session:
            self._restarted = True
        if self._restarted and op != "hello":
            raise RobotRestarted(f"robot at {self.endpoint} restarted (session {str(session)[:8]}); "
                                 "call reconnect() and resume explicitly")
        if not header.get("ok", False):
            kind = _REMOTE_ERRORS.get(header.get("error_type"), RobotError)
            raise kind(f"robot refused {op!r}: {header.get('error_type')}: {header.get('error')}")
        if header.get("id") != request_id or header.get("op") != op:
            raise ProtocolError(f"reply {header.get('op')!r} #{header.get('id')} does not answer {op!r} #{request_id}")
        return header, arrays

    # ------------------------------------------------------------------ adapter hooks
    def _connect(self) -> None:
        self._fresh_socket()
        self._hello()

    def _hello(self) -> None:
        header, _ = self._call("hello")
        body = header.get("body", {})
        if not isinstance(body.get("limits"), dict):
            raise ProtocolError(f"hello reply carries no limits: {str(body)[:200]}")
        self.limits = CommandLimits.from_dict(body["limits"])
        self.period_s = _period(body.get("period_s"))
        self.session, self._restarted = header["session"], False

    def reconnect(self) -> None:
        """The explicit step after ``RobotRestarted`` or a timeout: talk to whoever serves now."""
        with self._io:
            self._fresh_socket()
            self._hello()
            self._connected = True
            self._last_sent = self.limits.zero_command()  # a fresh robot process starts at rest

    def _observe(self) -> Observation:
        header, arrays = self._call("observe")
        return Observation(float(header["body"]["time_s"]), arrays)

    def _act(self, command: Command) -> Command:
        return self._call("act", command)[1]

    def _stop(self) -> None:
        """One attempt only: a stop must be fast; the server's own watchdog covers a lost stop."""
        self._call("stop", attempts=1)

    def stats(self) -> dict[str, Any]:
        with self._io:
            return self._call("stats")[0]["body"]

    def _close(self) -> None:
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None


def _period(value: Any) -> float | None:
    """The robot's declared seconds per command from ``hello`` (None: it runs in real time)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 10:
        raise ProtocolError(f"hello reply declares period_s {value!r}; expected seconds in (0, 10) or null")
    return float(value)
