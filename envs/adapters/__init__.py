"""Robot adapters: the deploy side of the world.

- :class:`RobotAdapter` (``base``): connect / observe / act / stop / close, declared limits, a
  context manager that safe-stops on any exception or SIGINT/SIGTERM.
- :class:`SafetySupervisor` (``safety``) and :class:`Watchdog` (``watchdog``): the one safety layer
  shared by simulated evaluation and real deployment.
- ``sim_panda.SimPandaAdapter``, ``sim_mobile.SimMobileBaseAdapter`` (on ``sim_base.SimRobotAdapter``):
  the PyBullet robots behind the same interface, by name with ``sim.make_sim_robot``, with injected
  faults (``faults``).
- ``network.NetworkRobotAdapter`` / ``server.RobotServer``: a robot in another process over ZeroMQ
  (``protocol`` documents the wire format).
- ``gym_env.AdapterEnv``: a gymnasium env over any adapter; ``gym_env.SupervisedEnv`` puts the
  supervisor in front of a simulated env for evaluation.
- :class:`PointRobotAdapter` (``point``): a dependency-free point robot for dry runs, and the
  template for writing a driver.
- ``replay.replay_divergence``: sim-vs-real divergence and latency from a deployment log.

Only numpy-level modules are imported here; PyBullet and ZeroMQ load with their own modules.
"""
from envs.adapters.base import Observation, RobotAdapter, SignalStop, stop_on_signals
from envs.adapters.errors import (
    CommandKeyError,
    CommandShapeError,
    CommandTypeError,
    NonFiniteCommand,
    ProtocolError,
    RobotError,
    RobotRestarted,
    RobotStopped,
    RobotTimeout,
    SafetyError,
)
from envs.adapters.limits import CommandField, CommandLimits
from envs.adapters.point import PointRobotAdapter
from envs.adapters.safety import Decision, SafetyConfig, SafetySupervisor
from envs.adapters.watchdog import Watchdog

__all__ = [
    "CommandField", "CommandKeyError", "CommandLimits", "CommandShapeError", "CommandTypeError", "Decision",
    "NonFiniteCommand", "Observation", "PointRobotAdapter", "ProtocolError", "RobotAdapter", "RobotError",
    "RobotRestarted",
    "RobotStopped", "RobotTimeout", "SafetyConfig", "SafetyError", "SafetySupervisor", "SignalStop",
    "Watchdog", "stop_on_signals",
]
