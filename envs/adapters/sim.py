"""The PyBullet robots behind the ``RobotAdapter`` interface, by name.

The deploy path (export -> control loop -> supervisor -> adapter) runs against these exactly as
against a real robot, optionally behind injected latency, jitter, lost messages and sensor noise
(``make_sim_robot(..., faults=FaultConfig(...))``). Readings use the sim env's keys and units:
``observation`` is the robot's own observation vector, plus what a real robot also reports and
replay needs. One ``act`` advances one control period; ``time_s`` is simulated time.

- ``sim_panda.SimPandaAdapter``: the Panda on the table (see that module).
- ``sim_mobile.SimMobileBaseAdapter``: the wheeled base (see that module).
- ``sim_base.SimRobotAdapter``: what both share, the base for another simulated robot.
"""
from __future__ import annotations

from collections.abc import Mapping

from envs.adapters.base import RobotAdapter
from envs.adapters.faults import FaultConfig, FaultyAdapter
from envs.adapters.sim_base import SimRobotAdapter
from envs.adapters.sim_mobile import SimMobileBaseAdapter
from envs.adapters.sim_panda import CONTROLS, SimPandaAdapter
from envs.sim.bullet import PhysicsConfig
from foresight_base.checks import check_choice

ROBOTS = ("panda", "mobile")
__all__ = ["CONTROLS", "ROBOTS", "make_sim_robot", "physics_for_rate", "sim_robot_for_commands"]


def make_sim_robot(robot: str = "panda", control: str = "ee", block_gripper: bool = False,
                   faults: FaultConfig | None = None, physics: PhysicsConfig = PhysicsConfig(),
                   max_delta: float = 0.5, image_size: int | None = None) -> RobotAdapter:
    """A simulated robot by name (``control``/``block_gripper``/``image_size`` apply to the
    Panda), behind a faulty link when ``faults`` is given."""
    check_choice("robot", robot, ROBOTS)
    if robot == "panda":
        adapter: SimRobotAdapter = SimPandaAdapter(control, block_gripper, physics, max_delta, image_size)
    else:
        adapter = SimMobileBaseAdapter(physics, max_delta)
    return adapter if faults is None or not faults.active else FaultyAdapter(adapter, faults, adapter.period_s)


def sim_robot_for_commands(command_keys: Mapping[str, int]) -> tuple[str, str, bool]:
    """(robot name, Panda control, block_gripper) of the simulated robot taking these commands.

    Lets a log from any robot (also one across the network) be replayed on its simulated twin.
    """
    keys = set(command_keys)
    if keys == {"base_velocity"}:
        return "mobile", "ee", False
    for control, arm in (("ee", "ee_delta"), ("joints", "joint_delta")):
        if keys in ({arm}, {arm, "gripper"}):
            return "panda", control, "gripper" not in keys
    raise ValueError(f"no simulated robot takes commands {sorted(keys)}; known: panda (ee_delta | joint_delta "
                     "[+ gripper]) and mobile (base_velocity)")


def physics_for_rate(rate_hz: float, timestep: float = PhysicsConfig().timestep) -> PhysicsConfig:
    """Physics whose control period (``timestep * substeps``) equals ``1 / rate_hz``."""
    substeps = max(1, int(round(1.0 / (rate_hz * timestep))))
    if abs(substeps * timestep * rate_hz - 1.0) > 0.01:
        raise ValueError(f"rate {rate_hz} Hz is not a whole number of {timestep} s physics steps; "
                         f"try {1.0 / (substeps * timestep):.3g} Hz")
    return PhysicsConfig(timestep=timestep, substeps=substeps)
