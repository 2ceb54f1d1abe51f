"""The control loop's promises: fixed-rate grid, safe stop right after any exception or signal
(before anything else runs, mid-sleep for signals), and a stalled policy stopped by the watchdog
(fake clock) with no goals after it."""
import signal
import threading
import time

import numpy as np
import pytest

from agents.deploy.control_loop import ControlLoop, LoopConfig
from envs.adapters.base import SignalStop
from envs.adapters.errors import RobotStopped
from envs.adapters.point import PointRobotAdapter
from envs.adapters.safety import SafetyConfig, SafetySupervisor
from envs.adapters.watchdog import Watchdog
from tests.helpers import FakeClock

PERIOD = 0.02


def toward_origin(obs):
    return np.concatenate([-obs["position"], [0.5]])


def test_steps_start_on_a_fixed_grid_and_overruns_skip():
    clock = FakeClock(start=100.0)
    slow_steps = {3}

    def policy(obs):
        if len(loop.stats.starts_s) in slow_steps:
            clock.sleep(3 * PERIOD)  # compute took three periods: no burst of catch-up steps after it
        return toward_origin(obs)

    robot = PointRobotAdapter().connect()
    loop = ControlLoop(robot, policy, SafetySupervisor(robot.limits, clock=clock), LoopConfig(50.0, max_steps=8),
                       clock=clock, sleep=clock.sleep)
    stats = loop.run()
    starts = np.asarray(stats.starts_s) - 100.0
    np.testing.assert_allclose(starts[:4], [0, 0.02, 0.04, 0.06], atol=1e-9)
    np.testing.assert_allclose(np.diff(starts[4:]), PERIOD, atol=1e-9)
    assert stats.overruns == 1 and stats.summary()["steps"] == 8 and robot.acts == 8


class Boom(RuntimeError):
    pass


SITES = ["observe", "policy", "uncertainty", "supervise", "act", "recorder", "sleep"]


@pytest.mark.parametrize("site", SITES)
def test_exception_at_every_call_site_stops_the_robot_before_anything_else(site):
    """The order of events, not wall time: the stop comes right after the raise, before any other
    part of the loop runs again (no command, no sleep, no log write), however loaded the machine."""
    clock = FakeClock(start=100.0)
    robot = PointRobotAdapter().connect()
    supervisor = SafetySupervisor(robot.limits, SafetyConfig(watchdog_s=None), clock=clock)
    parts = {"observe": robot.observe, "policy": toward_origin, "uncertainty": lambda o, a: 0.0,
             "supervise": supervisor.supervise, "act": robot.act, "recorder": lambda record: None,
             "sleep": clock.sleep}
    events: list[str] = []

    def logged(name, fn):
        def wrapped(*args, **kwargs):
            events.append(name)
            if name == site and events.count(name) == 3:
                events.append("raise")
                raise Boom(f"injected at {name}")
            return fn(*args, **kwargs)
        return wrapped

    wrapped = {name: logged(name, fn) for name, fn in parts.items()}
    robot.observe, robot.act, supervisor.supervise = wrapped["observe"], wrapped["act"], wrapped["supervise"]
    robot.stop = logged("stop", robot.stop)
    recorder = type("Recorder", (), {"append": staticmethod(wrapped["recorder"])})()
    loop = ControlLoop(robot, wrapped["policy"], supervisor, LoopConfig(200.0, max_steps=20),
                       uncertainty=wrapped["uncertainty"], recorder=recorder, clock=clock, sleep=wrapped["sleep"])
    with pytest.raises(Boom):
        loop.run()
    assert events[events.index("raise"):] == ["raise", "stop"]
    np.testing.assert_array_equal(robot.velocity, 0.0)
    assert supervisor.stopped == "loop_error"


@pytest.mark.parametrize("signum, error", [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, SignalStop)])
def test_signals_stop_the_robot_mid_sleep(signum, error):
    """A signal that lands on another thread while the loop sleeps through a long (0.5 s) period
    stops the robot at once: well under the ~0.45 s of sleep left, which a loop that noticed the
    signal only when its sleep ended would take. The 0.25 s bound leaves room for a loaded machine."""
    period = 0.5
    handlers_before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    robot = PointRobotAdapter()
    sent_at: list[float] = []
    stopped_at: list[float] = []
    real_stop = robot.stop
    robot.stop = lambda: (stopped_at.append(time.monotonic()), real_stop())[1]
    first_step_done = threading.Event()

    def policy(obs):
        first_step_done.set()
        return toward_origin(obs)

    def send():  # delivered to this thread, as the kernel may do, while the main thread sleeps
        first_step_done.wait(5.0)
        time.sleep(0.05)
        sent_at.append(time.monotonic())
        signal.pthread_kill(threading.get_ident(), signum)

    sender = threading.Thread(target=send)
    with pytest.raises(error):
        with robot:
            supervisor = SafetySupervisor(robot.limits, SafetyConfig(watchdog_s=None))
            loop = ControlLoop(robot, policy, supervisor, LoopConfig(1.0 / period, duration_s=5.0))
            sender.start()
            loop.run()
    sender.join()
    assert robot.acts == 1, "the signal should arrive during the first period's sleep"
    assert robot.stop_count >= 1 and stopped_at[0] - sent_at[0] < period / 2  # then __exit__ and close() stop again
    # handlers restored to what they were (SIG_IGN, not Python's default, under nohup or `cmd &`)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers_before


def _stalled_trial(rng: np.random.Generator, poll_s: float = 0.005) -> tuple[float, int]:
    """One stalled-policy run on a fake clock; returns (stop latency s, commands sent after the stop)."""
    clock = FakeClock(start=100.0)
    robot = PointRobotAdapter().connect()
    supervisor = SafetySupervisor(robot.limits, SafetyConfig(watchdog_s=0.06), clock=clock)
    watchdog = Watchdog(supervisor, robot, poll_s=poll_s)
    stall_at, stalled, release = int(rng.integers(1, 6)), threading.Event(), threading.Event()

    def policy(obs):
        if robot.acts == stall_at:
            stalled.set()
            release.wait(5.0)
        return toward_origin(obs)

    loop = ControlLoop(robot, policy, supervisor, LoopConfig(50.0, max_steps=stall_at + 5), clock=clock,
                       sleep=clock.sleep)
    errors: list[BaseException] = []
    worker = threading.Thread(target=lambda: _capture(loop.run, errors))
    worker.start()
    assert stalled.wait(5.0)
    last_valid = clock.t - PERIOD  # the last command went out one period before the policy was called
    clock.sleep(rng.uniform(0, poll_s))  # the watchdog thread's phase is arbitrary
    while not watchdog.check():
        clock.sleep(poll_s)
    latency, sent_at_stop = clock.t - last_valid, robot.acts
    release.set()
    worker.join(5.0)
    assert isinstance(errors[0], RobotStopped)
    return latency, robot.acts - sent_at_stop


def _capture(fn, errors):
    try:
        fn()
    except BaseException as err:  # noqa: BLE001 - handed to the test thread
        errors.append(err)


def test_stalled_policy_is_stopped_by_the_watchdog_p99_under_100ms():
    rng = np.random.default_rng(0)
    results = [_stalled_trial(rng) for _ in range(100)]
    latencies = np.array([r[0] for r in results])
    assert np.percentile(latencies, 99) <= 0.100
    assert sum(r[1] for r in results) == 0  # no new goal reached the robot after the stop


def test_watchdog_thread_stops_a_stalled_policy_in_real_time():
    robot = PointRobotAdapter().connect()
    supervisor = SafetySupervisor(robot.limits, SafetyConfig(watchdog_s=0.06))
    release = threading.Event()

    def policy(obs):
        if robot.acts == 3:
            release.wait(5.0)
        return toward_origin(obs)

    stopped_during_stall: list[tuple[int, float | None]] = []

    def end_stall():
        stopped_during_stall.append((robot.stop_count, robot.last_stop_time_s))
        release.set()

    loop = ControlLoop(robot, policy, supervisor, LoopConfig(50.0, max_steps=10))
    with Watchdog(supervisor, robot) as watchdog:
        threading.Timer(0.5, end_stall).start()
        with pytest.raises(RobotStopped):
            loop.run()
    count, stop_time = stopped_during_stall[0]
    assert count == 1 and len(watchdog.trip_times_s) == 1 and robot.acts == 3
    assert stop_time - watchdog.trip_times_s[0] < 0.1  # stopped right after the trip, mid-stall
