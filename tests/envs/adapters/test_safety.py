"""The supervisor alone: validation errors, clamps, rate limit, uncertainty gate, latch, counters."""
import numpy as np
import pytest

from envs.adapters.errors import CommandKeyError, CommandShapeError, CommandTypeError, NonFiniteCommand, RobotStopped
from envs.adapters.limits import CommandField, CommandLimits
from envs.adapters.safety import SafetyConfig, SafetySupervisor
from envs.adapters.validation import validate_command
from tests.helpers import FakeClock


def arm_limits() -> CommandLimits:
    return CommandLimits({"ee_delta": CommandField.box(-0.05, 0.05, 0.01, 3),
                          "joints": CommandField.box(-1.0, 1.0, 0.1, 2, hold="last")})


@pytest.mark.parametrize("bad, error", [
    (None, CommandTypeError), ("go", CommandTypeError), (42, CommandTypeError),
    ({"ee_delta": [0, 0, 0]}, CommandKeyError),
    ({"ee_delta": [0, 0, 0], "joints": [0, 0], "extra": [1]}, CommandKeyError),
    ({"ee_delta": [0, 0], "joints": [0, 0]}, CommandShapeError),
    ({"ee_delta": [[0, 0, 0]], "joints": [0, 0]}, CommandShapeError),
    ({"ee_delta": ["a", "b", "c"], "joints": [0, 0]}, CommandShapeError),
    ({"ee_delta": None, "joints": [0, 0]}, CommandShapeError),
    ({"ee_delta": [0, np.nan, 0], "joints": [0, 0]}, NonFiniteCommand),
    ({"ee_delta": [0, 0, 0], "joints": [np.inf, 0]}, NonFiniteCommand),
    (np.zeros(4), CommandShapeError), (np.array(["x"] * 5), CommandShapeError),
    ({"ee_delta": np.array([True, False, True]), "joints": [0, 0]}, CommandShapeError),
])
def test_validation_raises_typed_errors_naming_the_problem(bad, error):
    with pytest.raises(error) as info:
        validate_command(bad, arm_limits())
    assert str(info.value)


def test_flat_action_is_split_in_declared_order():
    command = validate_command(np.arange(5.0), arm_limits())
    np.testing.assert_array_equal(command["ee_delta"], [0, 1, 2])
    np.testing.assert_array_equal(command["joints"], [3, 4])


def test_bad_command_holds_and_is_counted():
    sup = SafetySupervisor(arm_limits(), SafetyConfig(watchdog_s=None))
    sup.supervise({"ee_delta": [0.01, 0, 0], "joints": [0.1, 0.1]})
    decision = sup.supervise({"ee_delta": [np.nan, 0, 0], "joints": [0.5, 0.5]})
    assert isinstance(decision.error, NonFiniteCommand)
    np.testing.assert_array_equal(decision.command["ee_delta"], 0.0)     # velocity-like: zero
    np.testing.assert_array_equal(decision.command["joints"], [0.1, 0.1])  # position-like: hold last
    assert sup.report()["rejected_non_finite"] == 1


def test_clamps_to_bounds_and_rate():
    sup = SafetySupervisor(arm_limits(), SafetyConfig(watchdog_s=None))
    decision = sup.supervise({"ee_delta": [1e30, -1e30, 0.005], "joints": [5.0, -0.05]})
    np.testing.assert_allclose(decision.command["ee_delta"], [0.01, -0.01, 0.005])  # rate from 0
    np.testing.assert_allclose(decision.command["joints"], [0.1, -0.05])
    assert set(decision.interventions) == {"clamped_limits", "clamped_rate"}
    for _ in range(20):
        decision = sup.supervise({"ee_delta": [1.0, 1.0, 1.0], "joints": [5.0, 5.0]})
    np.testing.assert_allclose(decision.command["ee_delta"], 0.05)
    np.testing.assert_allclose(decision.command["joints"], 1.0)


def test_rate_limit_can_be_turned_off_but_bounds_cannot():
    sup = SafetySupervisor(arm_limits(), SafetyConfig(rate_limit=False, watchdog_s=None))
    decision = sup.supervise({"ee_delta": [1.0, 0, 0], "joints": [0.9, 0]})
    np.testing.assert_allclose(decision.command["ee_delta"], [0.05, 0, 0])
    np.testing.assert_allclose(decision.command["joints"], [0.9, 0])
    assert decision.interventions == ("clamped_limits",)


def test_uncertainty_gate_slows_then_stops():
    cfg = SafetyConfig(rate_limit=False, watchdog_s=None, uncertainty_slow=0.1, uncertainty_stop=0.5)
    sup = SafetySupervisor(arm_limits(), cfg)
    command = {"ee_delta": [0.04, 0, 0], "joints": [0.2, 0]}
    np.testing.assert_allclose(sup.supervise(command, 0.01).command["ee_delta"], [0.04, 0, 0])
    slowed = sup.supervise(command, 0.2)
    np.testing.assert_allclose(slowed.command["ee_delta"], [0.02, 0, 0])
    np.testing.assert_allclose(slowed.command["joints"], [0.2, 0])  # halfway from held 0.2 to 0.2
    stopped = sup.supervise(command, 0.9)
    np.testing.assert_allclose(stopped.command["ee_delta"], 0.0)
    assert sup.supervise(command, float("nan")).interventions == ("uncertainty_stopped",)
    report = sup.report()
    assert report["uncertainty_slowed"] == 1 and report["uncertainty_stopped"] == 2


def test_watchdog_latches_until_explicit_resume():
    clock = FakeClock()
    sup = SafetySupervisor(arm_limits(), SafetyConfig(watchdog_s=0.06), clock=clock)
    good = {"ee_delta": [0, 0, 0], "joints": [0, 0]}
    clock.t = 10.0
    assert not sup.watchdog_expired()  # armed by the first valid command, not by construction
    sup.supervise(good)
    clock.t = 10.05
    assert not sup.watchdog_expired()
    sup.supervise({"ee_delta": None})  # invalid commands do not feed the watchdog
    clock.t = 10.061
    assert sup.watchdog_expired() and sup.latch_stop("watchdog")
    assert not sup.latch_stop("watchdog") and not sup.watchdog_expired()
    with pytest.raises(RobotStopped):
        sup.supervise(good)
    sup.resume({"ee_delta": [0, 0, 0], "joints": [0.3, 0.3]})
    np.testing.assert_allclose(sup.supervise({"ee_delta": [0, 0, 0], "joints": [1, 1]}).command["joints"], 0.4)
    assert sup.report()["stop_watchdog"] == 1 and sup.report()["refused_while_stopped"] == 1


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError, match="watchdog_s"):
        SafetyConfig(watchdog_s=0)
    with pytest.raises(ValueError, match="hold"):
        CommandField.box(-1, 1, 0.1, 2, hold="freeze")
    with pytest.raises(ValueError, match="takes 5"):
        arm_limits().split(np.zeros(3))


def test_uncertainty_thresholds_are_checked_when_configured():
    with pytest.raises(ValueError, match="uncertainty_stop must be >= 0"):
        SafetyConfig(uncertainty_stop=-1.0)
    with pytest.raises(ValueError, match=r"uncertainty_slow \(2.0\) must not exceed uncertainty_stop \(1.0\)"):
        SafetyConfig(uncertainty_slow=2.0, uncertainty_stop=1.0)
    assert SafetyConfig(uncertainty_slow=0.0, uncertainty_stop=0.0).uncertainty_stop == 0.0
