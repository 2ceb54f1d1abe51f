"""Typed errors of the deploy path, so callers can tell a bad command from a lost robot."""
from __future__ import annotations


class SafetyError(ValueError):
    """A command the safety supervisor refused; the robot holds instead of executing it."""

    reason = "invalid"


class NonFiniteCommand(SafetyError):
    """The command holds NaN or +-inf."""

    reason = "non_finite"


class CommandShapeError(SafetyError):
    """A command entry has the wrong shape or is not numeric."""

    reason = "wrong_shape"


class CommandKeyError(SafetyError):
    """The command is missing keys or has keys the robot does not declare."""

    reason = "wrong_keys"


class CommandTypeError(SafetyError):
    """The command is not a mapping of key -> numeric array (e.g. None, a string)."""

    reason = "wrong_type"


class RobotStopped(RuntimeError):
    """The robot was safe-stopped (watchdog, fault, disconnect) and waits for an explicit resume."""


class RobotError(RuntimeError):
    """The robot (or the link to it) failed; the caller must safe-stop."""


class RobotTimeout(RobotError):
    """No reply within the deadline after every retry."""


class RobotRestarted(RobotError):
    """The robot process restarted (its session id changed): nothing sent before holds any more."""


class ProtocolError(RobotError):
    """A message that does not follow the wire protocol (bad header, dtype, size)."""
