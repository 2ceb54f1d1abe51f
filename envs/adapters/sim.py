"""The PyBullet robots behind the ``RobotAdapter`` interface.

The deploy path (export -> control loop -> supervisor -> adapter) runs against these exactly as
against a real robot, optionally behind injected latency, jitter, lost messages and sensor noise
(``make_sim_robot(..., faults=FaultConfig(...))``). Readings use the sim env's keys and units:
``observation`` is the robot's own observation vector, plus what a real robot also reports and
replay needs. One ``act`` advances one control period; ``time_s`` is simulated time.

- :class:`SimPandaAdapter`: the Panda on the table; ``observation`` [7] (end-effector position m,
  velocity m/s, gripper opening m), ``ee_position`` [3] m, ``joint_positions`` [9] rad / m, and
  with ``image_size`` the env's camera: ``rgb`` [H, W, 3] uint8 and ``depth`` [H, W, 1] metres.
- ``sim_mobile.SimMobileBaseAdapter``: the wheeled base (see that module).
"""
from __future__ import annotations

from abc import abstractmethod
from typing import Any, Mapping

import numpy as np

from envs.adapters.base import Command, Observation, RobotAdapter
from envs.adapters.faults import FaultConfig, FaultyAdapter
from envs.adapters.gym_env import GoalSpec
from envs.adapters.limits import CommandField, CommandLimits
from envs.panda_envs import ARM_CAMERA
from envs.robots import panda as panda_robot
from envs.sim.bullet import PhysicsConfig, Simulator
from envs.sim.camera import look_at_pose
from envs.tasks import reach
from envs.tasks.base import check_reward_type, goal_reward, goal_success
from envs.tasks.scene import build_table_scene

ROBOTS = ("panda", "mobile")
CONTROLS = panda_robot.CONTROLS
PANDA_JOINTS = list(panda_robot.JOINTS)
PANDA_FORCES = list(panda_robot.FORCES)


class SimRobotAdapter(RobotAdapter):
    """What every simulated robot shares: its own simulator, stepping one control period per ``act``.

    Subclasses build the scene and robot (``_build``), hold still (``_hold``), read
    (``_readings``) and restore a logged state (``reset_to``); the robot object follows the
    ``envs.robots`` interface (``reset``, ``update``, ``observation``, ``apply_action``).
    """

    def __init__(self, limits: CommandLimits, physics: PhysicsConfig) -> None:
        super().__init__(limits)
        self.physics = physics
        self.period_s = physics.timestep * physics.substeps
        self.sim: Simulator | None = None
        self.robot: Any = None
        self.sim_time_s = 0.0

    @abstractmethod
    def _build(self, sim: Simulator) -> Any:
        """Create the scene and return the robot."""

    @abstractmethod
    def _hold(self) -> None:
        """Motor targets that keep the robot where it is (the safe stop)."""

    @abstractmethod
    def _readings(self) -> dict[str, np.ndarray]: ...

    @abstractmethod
    def reset_to(self, observation: Mapping[str, np.ndarray]) -> None:
        """Put the robot in a logged state (its readings), holding still."""

    def _connect(self) -> None:
        self.sim = Simulator(self.physics)
        try:
            self.robot = self._build(self.sim)
        except Exception:
            self.sim.close()
            raise
        self.home()

    def home(self) -> None:
        """The robot's reset pose, holding still."""
        self.robot.reset()
        self._hold()

    def _observe(self) -> Observation:
        return Observation(self.sim_time_s, self._readings())

    def _act(self, command: Command) -> Command:
        self.robot.apply_action(self.limits.join(command))
        self.sim.step()
        self.robot.update()
        self.sim_time_s += self.period_s
        return command

    def _stop(self) -> None:
        self._hold()

    def _close(self) -> None:
        if self.sim is not None:
            self.sim.close()


def panda_limits(control: str = "ee", block_gripper: bool = False, max_delta: float = 0.5) -> CommandLimits:
    """The Panda's commands in its action units ([-1, 1], scaled by the robot to metres/radians).

    Args:
        control: ``"ee"`` -> ``ee_delta`` [3]; ``"joints"`` -> ``joint_delta`` [7].
        block_gripper: drop the ``gripper`` [1] command (reaching tasks).
        max_delta: largest change of any entry between consecutive commands (action units).
    """
    if control not in CONTROLS:
        raise ValueError(f"unknown control {control!r}; valid: {CONTROLS}")
    arm = ("ee_delta", 3) if control == "ee" else ("joint_delta", len(panda_robot.ARM_JOINTS))
    fields = {arm[0]: CommandField.box(-1.0, 1.0, max_delta, arm[1])}
    if not block_gripper:
        fields["gripper"] = CommandField.box(-1.0, 1.0, 2 * max_delta, 1)
    return CommandLimits(fields)


class SimPandaAdapter(SimRobotAdapter):
    """The simulated Panda on the table scene.

    Args:
        control: ``"ee"`` or ``"joints"``.
        block_gripper: keep the gripper closed (matches ``PandaReach``).
        physics: timestep and substeps; the control period is ``timestep * substeps``.
        max_delta: per-step change limit declared to the supervisor (action units).
        image_size: also read the sim env's observation camera at this many pixels square.
    """

    def __init__(self, control: str = "ee", block_gripper: bool = False,
                 physics: PhysicsConfig = PhysicsConfig(), max_delta: float = 0.5,
                 image_size: int | None = None) -> None:
        super().__init__(panda_limits(control, block_gripper, max_delta), physics)
        if image_size is not None and not (isinstance(image_size, int) and image_size > 0):
            raise ValueError(f"image_size must be a positive number of pixels or None, got {image_size!r}")
        self.control, self.block_gripper, self.image_size = control, block_gripper, image_size

    def _build(self, sim: Simulator) -> panda_robot.Panda:
        build_table_scene(sim)
        return panda_robot.Panda(sim, control=self.control, block_gripper=self.block_gripper)

    def _hold(self) -> None:
        positions, _ = self.sim.joint_states(self.robot.body, PANDA_JOINTS)
        self.sim.set_joint_targets(self.robot.body, PANDA_JOINTS, positions, PANDA_FORCES)

    def _readings(self) -> dict[str, np.ndarray]:
        positions, _ = self.sim.joint_states(self.robot.body, PANDA_JOINTS)
        readings = {"observation": self.robot.observation(), "joint_positions": positions,
                    "ee_position": self.robot.ee_position()}
        if self.image_size is not None:  # the sim env's observation camera, channel-last like the env
            pose = look_at_pose(ARM_CAMERA.eye, ARM_CAMERA.target, ARM_CAMERA.up)
            frames = self.sim.render(ARM_CAMERA, pose, self.image_size, self.image_size)
            readings.update(rgb=frames.rgb, depth=frames.depth)
        return readings

    def reset_to(self, observation: Mapping[str, np.ndarray]) -> None:
        positions = np.asarray(observation["joint_positions"], dtype=np.float64)
        if positions.shape != (len(PANDA_JOINTS),):
            raise ValueError(f"joint_positions must have shape ({len(PANDA_JOINTS)},), got {positions.shape}")
        self.sim.reset_joints(self.robot.body, PANDA_JOINTS, positions)
        self.robot.update()
        self._hold()


def make_sim_robot(robot: str = "panda", control: str = "ee", block_gripper: bool = False,
                   faults: FaultConfig | None = None, physics: PhysicsConfig = PhysicsConfig(),
                   max_delta: float = 0.5, image_size: int | None = None) -> RobotAdapter:
    """A simulated robot by name (``control``/``block_gripper``/``image_size`` apply to the
    Panda), behind a faulty link when ``faults`` is given."""
    if robot not in ROBOTS:
        raise ValueError(f"unknown robot {robot!r}; valid: {ROBOTS}")
    if robot == "panda":
        adapter: SimRobotAdapter = SimPandaAdapter(control, block_gripper, physics, max_delta, image_size)
    else:
        from envs.adapters.sim_mobile import SimMobileBaseAdapter

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


def panda_reach_goal(distance_threshold: float = 0.05, reward_type: str = "sparse") -> GoalSpec:
    """``PandaReach``'s goal on robot readings: reach a point above the table with the gripper."""
    check_reward_type(reward_type)
    return GoalSpec(achieved=lambda data: np.asarray(data["ee_position"]), sample=reach.sample_goal,
                    reward=lambda a, d: goal_reward(a, d, reward_type, distance_threshold),
                    success=lambda a, d: goal_success(a, d, distance_threshold))
