"""The robot server against clients it must not trust: malformed messages, oversized frames,
colliding request ids, and commands that jump; plus the supervisor's own change limit."""
import json

import numpy as np
import pytest

zmq = pytest.importorskip("zmq")

from envs.adapters.errors import ProtocolError  # noqa: E402
from envs.adapters.network import NetworkRobotAdapter  # noqa: E402
from envs.adapters.point import PointRobotAdapter  # noqa: E402
from envs.adapters.protocol import MAX_REQUEST_FRAME_BYTES, decode, encode  # noqa: E402
from envs.adapters.safety import SafetyConfig, SafetySupervisor  # noqa: E402
from tests.attacks.serving import serving  # noqa: E402
from tests.attacks.wire import GOOD_ACT, malformed_requests  # noqa: E402
from tests.envs.adapters.hostile_commands import hostile_command  # noqa: E402


class RecordingPoint(PointRobotAdapter):
    """The point robot, remembering every command its driver received."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[np.ndarray] = []

    def _act(self, command):
        self.received.append(self.limits.join(command))
        return super()._act(command)


@pytest.fixture()
def served():
    robot = RecordingPoint()
    with serving(robot) as (server, thread):
        yield server, robot, thread


def raw_socket(endpoint: str):
    socket = zmq.Context.instance().socket(zmq.REQ)
    socket.setsockopt(zmq.LINGER, 0)
    socket.connect(endpoint)
    return socket


def ask(socket, frames, timeout_s: float = 2.0):
    socket.send_multipart(frames)
    if not socket.poll(int(timeout_s * 1000)):
        return None
    return decode(socket.recv_multipart())[0]


def test_every_malformed_message_gets_a_typed_reply_and_the_server_lives(served):
    server, robot, thread = served
    socket = raw_socket(server.bound_endpoint)
    cases = malformed_requests(server.session)
    assert len(cases) >= 60
    for name, frames in cases.items():
        header = ask(socket, frames)
        assert header is not None and header["ok"] is False, name
        assert header["error_type"] in ("ProtocolError", "SafetyError", "NonFiniteCommand", "CommandKeyError",
                                        "CommandShapeError", "RobotRestarted"), (name, header)
        assert thread.is_alive(), name
    assert ask(socket, encode({"op": "hello", "id": 1}))["ok"] and robot.acts == 0
    assert server.counts["errors"] == len(cases)


def test_the_nan_message_of_issue_13_is_answered(served):
    server, _, thread = served
    header = ask(raw_socket(server.bound_endpoint), [b'{"v":1,"op":NaN,"id":1}'])
    assert header == {**header, "ok": False, "op": "", "id": 0, "error_type": "ProtocolError"}
    assert "NaN" in header["error"] and thread.is_alive()


def test_an_oversized_frame_is_dropped_before_it_is_buffered(served):
    server, _, thread = served
    big = raw_socket(server.bound_endpoint)
    assert ask(big, [b"x" * (4 * MAX_REQUEST_FRAME_BYTES)], timeout_s=0.5) is None  # peer dropped, no reply
    assert thread.is_alive() and server.counts["requests"] == 0  # the handler never saw it
    assert ask(raw_socket(server.bound_endpoint), encode({"op": "hello", "id": 1}))["ok"]
    frame = b"\0" * (1 << 21)
    with pytest.raises(ProtocolError, match="exceeds"):  # 32 x 2 MiB: every array fits, the total does not
        decode([json.dumps({"v": 1, "arrays": [[f"a{i}", "uint8", [1 << 21]] for i in range(32)]}).encode(),
                *[frame] * 32])


def test_two_clients_whose_ids_both_start_at_one_are_both_executed(served):
    server, robot, _ = served
    first = NetworkRobotAdapter(server.bound_endpoint, timeout_s=1.0).connect()
    first.act({"velocity": [0.3, 0.0], "gripper": [0.0]})
    second = NetworkRobotAdapter(server.bound_endpoint, timeout_s=1.0).connect()
    sent = second.act({"velocity": [0.0, 0.3], "gripper": [0.0]})  # act #2 from both clients (hello was #1)
    np.testing.assert_allclose(sent["velocity"], [0.0, 0.3])  # executed, not another client's reply
    assert robot.acts == 2 and server.counts["duplicate_acts"] == 0
    frames = encode({"op": "act", "id": 9, "session": server.session, "client": "c"}, GOOD_ACT)
    again = encode({"op": "act", "id": 9, "session": server.session, "client": "c"},
                   {**GOOD_ACT, "velocity": np.array([0.2, 0.2])})
    socket = raw_socket(server.bound_endpoint)
    assert ask(socket, frames)["ok"] and ask(socket, frames)["ok"] and robot.acts == 3  # a true retry
    assert ask(socket, again)["error_type"] == "ProtocolError" and robot.acts == 3  # same id, new command


def test_the_robot_limits_each_step_whatever_the_client_sends(served):
    """A client of its own (no supervisor, no limit of ours): full reversals every step."""
    server, robot, _ = served
    socket = raw_socket(server.bound_endpoint)
    for t in range(200):
        command = {"velocity": np.array([(-1.0) ** t, 1.0 - 2 * (t % 3 == 0)]), "gripper": np.zeros(1)}
        assert ask(socket, encode({"op": "act", "id": t, "session": server.session, "client": "raw"}, command))["ok"]
    ask(socket, encode({"op": "stop", "id": 200}))
    last = {"velocity": np.array([1.0, -1.0]), "gripper": np.zeros(1)}
    ask(socket, encode({"op": "act", "id": 201, "session": server.session, "client": "raw"}, last))
    steps = np.abs(np.diff(np.vstack([np.zeros(3), *robot.received[:200]]), axis=0))
    max_delta = np.concatenate([f.max_delta for f in robot.limits.fields.values()])
    assert np.all(steps <= max_delta + 1e-12) and robot.rate_clamps > 100
    np.testing.assert_allclose(robot.received[-1][:2], [0.5, -0.5])  # after a stop: from rest again


def test_after_a_refused_command_the_next_ramps_from_what_was_sent():
    """Issue 13's bypass: hold at 0 after a refusal, then a jump back to the last valid value."""
    robot = PointRobotAdapter().connect()
    supervisor = SafetySupervisor(robot.limits, SafetyConfig(watchdog_s=None))
    rng = np.random.default_rng(0)
    sent = []
    for t in range(3000):
        command = hostile_command(rng, robot.limits) if t % 3 else {"velocity": [1.0, -1.0], "gripper": [1.0]}
        sent.append(robot.limits.join(robot.act(supervisor.supervise(command).command)))
    steps = np.abs(np.diff(np.vstack([np.zeros(3), *sent]), axis=0))
    max_delta = np.concatenate([f.max_delta for f in robot.limits.fields.values()])
    assert np.all(steps <= max_delta + 1e-12) and robot.rate_clamps == 0  # the supervisor alone kept it
    assert supervisor.report()["rejected_non_finite"] > 0
    for score in ("high", None, [1.0, 2.0], object(), b"x"):
        decision = supervisor.supervise({"velocity": [0.0, 0.0], "gripper": [1.0]}, uncertainty=score)
        assert score is None or decision.interventions == ("uncertainty_stopped",)
