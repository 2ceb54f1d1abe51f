"""The only module that imports PyBullet: one physics client per simulator instance.

Robots and tasks get a :class:`Simulator` and call its helpers, so many environments live in one
process (each owns its own ``BulletClient``) and nothing else depends on PyBullet's API. Helpers
that read many joints or links use PyBullet's batched calls (``getJointStates``,
``getLinkStates``): per-call Python overhead is most of what an environment step costs besides
physics.
"""
from __future__ import annotations

import contextlib
import ctypes
import io
import os
import pkgutil
import sys
import weakref
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from envs.sim.camera import CameraSpec, gl_projection_matrix, gl_view_matrix, linearize_depth
from envs.sim.kinematics import damped_least_squares, orientation_error
from envs.sim.urdf import low_poly_urdf
from foresight_base.checks import check_choice


@contextlib.contextmanager
def _silence_banners() -> Iterator[None]:
    """Drop what PyBullet's C code prints while importing and connecting headless.

    Those lines ("pybullet build time", "argv[0]=") are written by C straight to file descriptors
    1 and 2, partly through C stdio's buffer, which is flushed before the descriptors are restored.
    Errors still surface: a failed import or connection raises in Python. Where a stream has no
    file descriptor (some notebooks, pytest's capture), it is left alone.
    """
    with contextlib.ExitStack() as stack:
        for stream in (sys.stdout, sys.stderr):
            stack.enter_context(_redirected_to_devnull(stream))
        yield


@contextlib.contextmanager
def _redirected_to_devnull(stream) -> Iterator[None]:
    try:
        fd = stream.fileno()
        libc = ctypes.CDLL(None)
    except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
        yield
        return
    stream.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), fd)
            try:
                yield
            finally:
                libc.fflush(None)
                os.dup2(saved, fd)
    finally:
        os.close(saved)


with _silence_banners():
    import pybullet
import pybullet_data  # noqa: E402
from pybullet_utils.bullet_client import BulletClient  # noqa: E402

RENDERERS = ("tiny", "egl")
# Where each renderer samples a pixel relative to its centre (window pixels, x right, y up):
# TinyRenderer samples pixel (v, u) at window (u, H - 1 - v) instead of the centre (u + 0.5, H - 0.5 - v).
_SAMPLE_OFFSETS = {"tiny": (-0.5, -0.5), "egl": (0.0, 0.0)}


@dataclass(frozen=True)
class PhysicsConfig:
    """Physics integration settings.

    Attributes:
        timestep: Physics step, seconds. PyBullet recommends 1/240 s; 0.004 s keeps an integer
            number of substeps per 25 Hz control period.
        substeps: Physics steps per environment step; control period = timestep * substeps.
        gravity: Gravity along world z, m/s^2.
        solver_iterations: Constraint solver iterations per physics step (PyBullet's default is 50).
    """

    timestep: float = 0.004
    substeps: int = 10
    gravity: float = -9.81
    solver_iterations: int = 20

    def __post_init__(self) -> None:
        if self.timestep <= 0 or self.substeps < 1 or self.solver_iterations < 1:
            raise ValueError(
                "need timestep > 0, substeps >= 1 and solver_iterations >= 1, "
                f"got {self.timestep}, {self.substeps}, {self.solver_iterations}"
            )


@dataclass(frozen=True)
class Frames:
    """Images from one camera, all [H, W, C] (channel-last like gymnasium's render()).

    Attributes:
        rgb: [H, W, 3] uint8 colour image.
        depth: [H, W, 1] float32 z-depth in metres.
        segmentation: [H, W, 1] int32 body ids, -1 where nothing was hit.
    """

    rgb: np.ndarray
    depth: np.ndarray
    segmentation: np.ndarray


class SimState:
    """A snapshot of the simulator held in PyBullet's memory; freed when this object is."""

    def __init__(self, client: BulletClient) -> None:
        self.state_id = client.saveState()
        self._finalizer = weakref.finalize(self, _remove_state, weakref.ref(client), self.state_id)


def _remove_state(client_ref: weakref.ref, state_id: int) -> None:
    client = client_ref()
    if client is not None and client.isConnected():
        client.removeState(state_id)


def display_available() -> bool:
    """Whether a PyBullet GUI window can open here (on Linux: an X display is set)."""
    return not sys.platform.startswith("linux") or bool(os.environ.get("DISPLAY"))


class Simulator:
    """One PyBullet world: physics stepping, bodies, joints, state snapshots and cameras.

    Args:
        physics: Timestep and substeps.
        gui: Open PyBullet's GUI window (``render_mode="human"``) instead of running headless.
        renderer: ``"tiny"`` (TinyRenderer, CPU, default) or ``"egl"`` (EGL plugin, fast on a GPU).
    """

    def __init__(self, physics: PhysicsConfig = PhysicsConfig(), gui: bool = False, renderer: str = "tiny") -> None:
        check_choice("renderer", renderer, RENDERERS)
        if gui and not display_available():
            raise RuntimeError("render_mode='human' opens a PyBullet window, but this machine has no display "
                               "(DISPLAY is unset); use render_mode='rgb_array' for frames (videos, images), "
                               "or run under a display (e.g. xvfb-run)")
        self.physics = physics
        with contextlib.nullcontext() if gui else _silence_banners():
            self.client = BulletClient(connection_mode=pybullet.GUI if gui else pybullet.DIRECT)
        self._plugin = self._load_egl() if renderer == "egl" else None
        self._render_flags = pybullet.ER_BULLET_HARDWARE_OPENGL if renderer == "egl" else pybullet.ER_TINY_RENDERER
        self._sample_offset = _SAMPLE_OFFSETS[renderer]
        self.client.setAdditionalSearchPath(pybullet_data.getDataPath())
        self.client.setTimeStep(physics.timestep)
        self.client.setGravity(0.0, 0.0, physics.gravity)
        # Same seed, same episode: contact pairs in a fixed order whatever happened before.
        self.client.setPhysicsEngineParameter(deterministicOverlappingPairs=1,
                                              numSolverIterations=physics.solver_iterations)
        if gui:
            self.client.configureDebugVisualizer(pybullet.COV_ENABLE_GUI, 0)

    def _load_egl(self) -> int:
        """The EGL plugin must be loaded before any body exists, or cameras render an empty scene."""
        loader = pkgutil.get_loader("eglRenderer")
        path = loader.get_filename() if loader is not None else "eglRendererPlugin"
        plugin = self.client.loadPlugin(path, "_eglRendererPlugin")
        if plugin < 0:
            raise RuntimeError("could not load PyBullet's EGL renderer plugin; use renderer='tiny'")
        return plugin

    @property
    def dt(self) -> float:
        """Control period in seconds (one environment step)."""
        return self.physics.timestep * self.physics.substeps

    def step(self) -> None:
        """Advance physics by one control period."""
        step = self.client.stepSimulation
        for _ in range(self.physics.substeps):
            step()

    def close(self) -> None:
        if self.client.isConnected():
            self.client.disconnect()

    # --- bodies ---------------------------------------------------------------------------------
    def load_urdf(self, path: str, position=(0.0, 0.0, 0.0), orientation=(0.0, 0.0, 0.0, 1.0), fixed: bool = False,
                  low_poly: bool = False) -> int:
        """Load a URDF (absolute, or relative to pybullet_data) and return its body id.

        ``low_poly`` draws the collision meshes instead of the visual ones: cameras get much faster.
        """
        if low_poly:
            local = os.path.join(pybullet_data.getDataPath(), path)
            path = low_poly_urdf(local if os.path.exists(local) else path)
        flags = pybullet.URDF_ENABLE_CACHED_GRAPHICS_SHAPES
        return self.client.loadURDF(path, position, orientation, useFixedBase=fixed, flags=flags)

    def create_box(self, half_extents, position, rgba, mass: float = 0.0, ghost: bool = False) -> int:
        """A box body; ``ghost`` bodies are visual only (targets), ``mass=0`` makes it static."""
        visual = self.client.createVisualShape(pybullet.GEOM_BOX, halfExtents=half_extents, rgbaColor=rgba)
        collision = -1 if ghost else self.client.createCollisionShape(pybullet.GEOM_BOX, halfExtents=half_extents)
        return self._create_body(visual, collision, position, mass)

    def create_sphere(self, radius: float, position, rgba, mass: float = 0.0, ghost: bool = False) -> int:
        visual = self.client.createVisualShape(pybullet.GEOM_SPHERE, radius=radius, rgbaColor=rgba)
        collision = -1 if ghost else self.client.createCollisionShape(pybullet.GEOM_SPHERE, radius=radius)
        return self._create_body(visual, collision, position, mass)

    def create_cylinder(self, radius: float, height: float, position, rgba, mass: float = 0.0) -> int:
        visual = self.client.createVisualShape(pybullet.GEOM_CYLINDER, radius=radius, length=height, rgbaColor=rgba)
        collision = self.client.createCollisionShape(pybullet.GEOM_CYLINDER, radius=radius, height=height)
        return self._create_body(visual, collision, position, mass)

    def _create_body(self, visual: int, collision: int, position, mass: float) -> int:
        return self.client.createMultiBody(
            baseMass=mass, baseCollisionShapeIndex=collision, baseVisualShapeIndex=visual, basePosition=position
        )

    def remove_body(self, body: int) -> None:
        self.client.removeBody(body)

    def set_base_pose(self, body: int, position, orientation=(0.0, 0.0, 0.0, 1.0)) -> None:
        """Teleport a body and zero its velocity."""
        self.client.resetBasePositionAndOrientation(body, position, orientation)
        self.client.resetBaseVelocity(body, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))

    def base_pose(self, body: int) -> tuple[np.ndarray, np.ndarray]:
        """Position [3] (metres) and quaternion [4] (x, y, z, w) of a body's base."""
        position, orientation = self.client.getBasePositionAndOrientation(body)
        return np.array(position), np.array(orientation)

    def base_velocity(self, body: int) -> tuple[np.ndarray, np.ndarray]:
        """Linear [3] (m/s) and angular [3] (rad/s) velocity of a body's base."""
        linear, angular = self.client.getBaseVelocity(body)
        return np.array(linear), np.array(angular)

    def base_kinematics(self, body: int) -> np.ndarray:
        """[13] position, quaternion, linear and angular velocity of a body's base in one array."""
        position, orientation = self.client.getBasePositionAndOrientation(body)
        linear, angular = self.client.getBaseVelocity(body)
        return np.array((*position, *orientation, *linear, *angular))

    def euler_from_quaternion(self, quaternion) -> np.ndarray:
        """Roll, pitch, yaw [3] (radians) of an (x, y, z, w) quaternion."""
        return np.array(self.client.getEulerFromQuaternion(quaternion))

    # --- joints and links -----------------------------------------------------------------------
    def joint_count(self, body: int) -> int:
        return self.client.getNumJoints(body)

    def joint_states(self, body: int, joints) -> tuple[np.ndarray, np.ndarray]:
        """Positions and velocities [J] of the given joints, read in one PyBullet call."""
        states = self.client.getJointStates(body, joints)
        return np.array([s[0] for s in states]), np.array([s[1] for s in states])

    def joint_positions(self, body: int, joints) -> list[float]:
        """Positions [J] (radians or metres) of the given joints, read in one PyBullet call."""
        return [state[0] for state in self.client.getJointStates(body, joints)]

    def reset_joints(self, body: int, joints, positions) -> None:
        """Teleport joints to positions (radians or metres) with zero velocity."""
        for joint, position in zip(joints, positions, strict=True):
            self.client.resetJointState(body, joint, position, 0.0)

    def set_joint_targets(self, body: int, joints, positions, forces) -> None:
        """Position-control motor targets for several joints in one call."""
        self.client.setJointMotorControlArray(
            body, joints, pybullet.POSITION_CONTROL, targetPositions=positions, forces=forces
        )

    def set_joint_velocities(self, body: int, joints, velocities, forces) -> None:
        """Velocity-control motor targets (rad/s) for several joints in one call."""
        self.client.setJointMotorControlArray(
            body, joints, pybullet.VELOCITY_CONTROL, targetVelocities=velocities, forces=forces
        )

    def link_pose_velocity(self, body: int, link: int) -> tuple[tuple, tuple, tuple]:
        """World position (metres), quaternion (x, y, z, w) and linear velocity (m/s) of a link's frame.

        Tuples of floats, as PyBullet returns them: this runs every step.
        """
        state = self.client.getLinkState(body, link, computeLinkVelocity=1, computeForwardKinematics=1)
        return state[4], state[5], state[6]

    def jacobian(self, body: int, link: int, joint_positions) -> np.ndarray:
        """[6, J] linear (rows 0-2) and angular (rows 3-5) Jacobian of a link's frame origin.

        ``joint_positions`` lists every movable joint of ``body`` (J values).
        """
        positions = list(joint_positions)
        zeros = [0.0] * len(positions)
        linear, angular = self.client.calculateJacobian(body, link, (0.0, 0.0, 0.0), positions, zeros, zeros)
        return np.array(linear + angular)

    def inverse_kinematics(self, body: int, link: int, position, orientation, joint_positions,
                           link_pose) -> list[float]:
        """Joint targets [J] that move ``link`` to a pose: one damped least-squares step.

        Args:
            position: Target position [3], metres.
            orientation: Target quaternion (x, y, z, w).
            joint_positions: Current positions of all J movable joints.
            link_pose: Current (position [3], quaternion [4]) of the link, as the caller last read it.

        For moves of a few centimetres per control step, one step from the current joints is
        accurate to millimetres and the closed loop removes the rest; it costs one Jacobian query,
        a fraction of PyBullet's iterative ``calculateInverseKinematics``.
        """
        current_position, current_orientation = link_pose
        error = np.array((*(p - c for p, c in zip(position, current_position, strict=True)),
                          *orientation_error(orientation, current_orientation)))
        step = damped_least_squares(self.jacobian(body, link, joint_positions), error).tolist()
        return [q + d for q, d in zip(joint_positions, step, strict=True)]

    def couple_joints(self, body: int, joint_a: int, joint_b: int, max_force: float) -> None:
        """Make two joints move as mirror images (a gear), like the Panda's mechanically coupled fingers."""
        constraint = self.client.createConstraint(
            body, joint_a, body, joint_b, pybullet.JOINT_GEAR, (1.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)
        )
        self.client.changeConstraint(constraint, gearRatio=-1, erp=0.1, maxForce=max_force)

    def set_dynamics(self, body: int, link: int = -1, **kwargs) -> None:
        """Change dynamics (``lateralFriction``, ``mass``, ``spinningFriction`` ...) of one link."""
        self.client.changeDynamics(body, link, **kwargs)

    def mass(self, body: int, link: int = -1) -> float:
        """Mass in kg (0 for static bodies)."""
        return float(self.client.getDynamicsInfo(body, link)[0])

    def lateral_friction(self, body: int, link: int = -1) -> float:
        return float(self.client.getDynamicsInfo(body, link)[1])

    def set_color(self, body: int, rgba, link: int = -1) -> None:
        self.client.changeVisualShape(body, link, rgbaColor=list(rgba))

    # --- state snapshots ------------------------------------------------------------------------
    def save_state(self) -> SimState:
        """Snapshot positions, velocities and contacts; restore with :meth:`restore_state`."""
        return SimState(self.client)

    def restore_state(self, state: SimState) -> None:
        self.client.restoreState(stateId=state.state_id)

    # --- cameras --------------------------------------------------------------------------------
    def render(self, spec: CameraSpec, pose: np.ndarray, width: int, height: int, light_direction=None) -> Frames:
        """RGB, depth (metres) and segmentation (body ids) from a camera at ``pose`` (OpenCV axes).

        Every renderer draws as a pinhole camera with ``camera.intrinsics(spec.fov_deg, width, height)``:
        pixel (v, u) shows what projects to its centre ``(u + 0.5, v + 0.5)``.
        """
        kwargs = {} if light_direction is None else {"lightDirection": list(light_direction)}
        _, _, rgba, depth, seg = self.client.getCameraImage(
            width,
            height,
            viewMatrix=gl_view_matrix(pose),
            projectionMatrix=gl_projection_matrix(spec.fov_deg, width, height, spec.near, spec.far,
                                                  self._sample_offset),
            shadow=0,
            renderer=self._render_flags,
            **kwargs,
        )
        rgb = np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[..., :3]
        depth = linearize_depth(np.asarray(depth, dtype=np.float64).reshape(height, width, 1), spec.near, spec.far)
        seg = np.asarray(seg, dtype=np.int32).reshape(height, width, 1)
        return Frames(rgb=np.ascontiguousarray(rgb), depth=depth, segmentation=seg)
