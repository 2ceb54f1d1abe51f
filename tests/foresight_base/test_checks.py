"""The one way every package refuses a bad choice: the value, then what would be valid."""
import pytest

from foresight_base.checks import check_choice, check_keys


def test_a_valid_choice_comes_back_unchanged():
    assert check_choice("control", "joints", ("ee", "joints")) == "joints"
    assert check_choice("render_mode", None, (None, "rgb_array")) is None


def test_a_bad_choice_names_itself_and_the_valid_ones_in_order():
    with pytest.raises(ValueError, match=r"^unknown obs_mode 'dept'; valid: state, goal, rgb$"):
        check_choice("obs_mode", "dept", ("state", "goal", "rgb"))
    with pytest.raises(ValueError, match=r"^unknown control 'ee' for the mobile base; valid: velocity$"):
        check_choice("control", "ee", ("velocity",), context=" for the mobile base")


def test_a_caller_may_raise_its_own_error_class():
    class WireError(RuntimeError):
        pass

    with pytest.raises(WireError, match="unknown op 'fly'; valid: hello, act"):
        check_choice("op", "fly", ("hello", "act"), error=WireError)


def test_unknown_keys_are_listed_with_the_valid_ones_sorted():
    check_keys("planner option", {"horizon": 5}, ("iterations", "horizon"))
    with pytest.raises(ValueError,
                       match=r"^unknown planner option\(s\) \['horizn', 'z'\]; valid: \['horizon', 'iterations'\]$"):
        check_keys("planner option", ["z", "horizon", "horizn"], ("iterations", "horizon"))
