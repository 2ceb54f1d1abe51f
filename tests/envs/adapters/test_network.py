"""The network path on loopback: protocol round trip, timeouts, hostile input, the robot-side watchdog."""
import pickle
import time

import numpy as np
import pytest

pytest.importorskip("zmq")

from envs.adapters.errors import ProtocolError, RobotTimeout, SafetyError  # noqa: E402
from envs.adapters.network import NetworkRobotAdapter  # noqa: E402
from envs.adapters.point import PointRobotAdapter  # noqa: E402
from envs.adapters.protocol import decode, encode  # noqa: E402
from envs.adapters.server import check_endpoint  # noqa: E402
from tests.attacks.serving import serving  # noqa: E402
from tests.helpers import MkdirOnUnpickle  # noqa: E402


@pytest.fixture()
def served():
    """A RobotServer over a PointRobotAdapter in a thread, on a free loopback port; always shut down."""
    robot = PointRobotAdapter()
    with serving(robot, watchdog_s=0.1) as (server, thread):
        yield server, robot
    assert not thread.is_alive()


def test_round_trip(served):
    server, robot = served
    with NetworkRobotAdapter(server.bound_endpoint, timeout_s=1.0) as client:
        assert client.limits.keys == ("velocity", "gripper")
        sent = client.act({"velocity": [0.5, -0.5], "gripper": [1.0]})
        np.testing.assert_allclose(sent["velocity"], [0.5, -0.5])
        obs = client.observe()
        np.testing.assert_allclose(obs.data["position"], [0.01, -0.01])
        assert obs.time_s > 0
        with pytest.raises(SafetyError):
            client.act({"velocity": [np.nan, 0.0], "gripper": [0.0]})
        client.stop()
        assert client.stats()["stop_count"] == 1
    assert robot.stop_count >= 2 and robot.acts == 1  # close() stopped it again


def test_no_server_times_out_without_hanging():
    client = NetworkRobotAdapter("tcp://127.0.0.1:1", timeout_s=0.05, retries=2)
    start = time.monotonic()
    with pytest.raises(RobotTimeout, match="3 x 0.05"):
        client.connect()
    assert time.monotonic() - start < 2.0
    client.close()
    client.close()  # safe twice


def test_remote_endpoints_need_consent():
    with pytest.raises(ValueError, match="loopback"):
        check_endpoint("tcp://0.0.0.0:5555")
    with pytest.raises(ValueError, match="tcp://"):
        check_endpoint("udp://127.0.0.1:5555")
    assert check_endpoint("tcp://10.0.0.2:5555", allow_remote=True)
    assert check_endpoint("tcp://[::1]:5555") and check_endpoint("tcp://localhost:5555")


def test_hostile_requests_get_errors_and_execute_nothing(tmp_path, served):
    server, robot = served
    marker = tmp_path / "pwned"
    evil = pickle.dumps(MkdirOnUnpickle(marker))
    head = b'{"v": 1, "op": "act", "id": 1, "arrays": [["velocity", "float64", [2]], ["gripper", "float64", [1]]]}'
    hostile = [[evil], [b"\xff\xfe"], [b"[1, 2]"], [b'{"v": 2, "op": "hello"}'], [b'{"v": 1, "op": "reboot"}'],
               [head, evil, b"x" * 8], [head, np.zeros(2).tobytes()],
               [b'{"v": 1, "op": "act", "arrays": [["velocity", "object", [2]]]}', b"x" * 16],
               [b'{"v": 1, "op": "act", "arrays": [["v", "float64", [99999999999, 99999999]]]}', b""],
               [head, np.full(2, np.inf).tobytes(), np.zeros(1).tobytes()]]
    for frames in hostile:
        header, _ = decode(server.handle(frames))
        assert header["ok"] is False and header["error"]
    assert not marker.exists() and robot.acts == 0
    header, _ = decode(server.handle(encode({"op": "hello", "id": 2})))
    assert header["ok"] is True


def test_decoder_never_raises_anything_but_protocol_error():
    rng = np.random.default_rng(0)
    good = encode({"op": "act", "id": 3}, {"velocity": np.zeros(2), "gripper": np.ones(1, dtype=np.float32)})
    for _ in range(2000):
        frames = [bytearray(f) for f in good]
        frame = frames[rng.integers(len(frames))]
        for _ in range(rng.integers(1, 4)):
            if frame:
                frame[rng.integers(len(frame))] = rng.integers(256)
        if rng.random() < 0.2:
            frames = frames[: rng.integers(len(frames) + 1)]
        try:
            decode([bytes(f) for f in frames])
        except ProtocolError:
            pass


def test_retried_act_is_not_executed_twice(served):
    server, robot = served
    frames = encode({"op": "act", "id": 7, "session": server.session, "client": "a"},
                    {"velocity": np.array([0.1, 0.1]), "gripper": np.zeros(1)})
    first, again = server.handle(frames), server.handle(frames)
    assert first == again and robot.acts == 1 and server.counts["duplicate_acts"] == 1


@pytest.mark.parametrize("session", [None, "an-earlier-robot-process"])
def test_act_meant_for_another_session_is_refused_and_never_moves_the_robot(served, session):
    server, robot = served
    command = {"velocity": np.array([0.1, 0.1]), "gripper": np.zeros(1)}
    header, _ = decode(server.handle(encode({"op": "act", "id": 3, "session": session}, command)))
    assert not header["ok"] and header["error_type"] == "RobotRestarted" and header["session"] == server.session
    assert robot.acts == 0 and server.counts["act"] == 0 and server.counts["refused_acts"] == 1


def test_robot_side_watchdog_stops_a_silent_client(served):
    server, robot = served
    client = NetworkRobotAdapter(server.bound_endpoint, timeout_s=1.0).connect()
    client.act({"velocity": [0.5, 0.0], "gripper": [0.0]})
    deadline = time.monotonic() + 3.0
    while robot.stop_count == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert robot.stop_count == 1 and server.counts["watchdog_stops"] == 1
    np.testing.assert_array_equal(robot.velocity, 0.0)
    client.close()
