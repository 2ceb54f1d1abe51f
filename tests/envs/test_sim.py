"""Simulator helpers that the environments rely on: low-poly URDFs, camera maths, differential IK."""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import numpy as np
import pybullet_data

from envs.robots.panda import EE_LINK, Panda
from envs.sim.bullet import Simulator
from envs.sim.camera import intrinsics, look_at_pose
from envs.sim.urdf import low_poly_urdf


def test_low_poly_urdf_draws_collision_meshes_from_absolute_paths():
    path = low_poly_urdf(os.path.join(pybullet_data.getDataPath(), "franka_panda/panda.urdf"))
    assert low_poly_urdf(os.path.join(pybullet_data.getDataPath(), "franka_panda/panda.urdf")) == path  # cached
    root = ET.parse(path).getroot()
    visual_meshes = [m.get("filename") for m in root.iter("mesh") if "visual" in m.get("filename")]
    assert not visual_meshes
    assert all(os.path.isabs(m.get("filename")) and os.path.exists(m.get("filename")) for m in root.iter("mesh"))
    assert all(link.find("inertial") is not None for link in root.iter("link"))


def test_look_at_pose_is_a_rigid_transform_looking_at_the_target():
    pose = look_at_pose((1.0, 1.0, 1.0), (0.0, 0.0, 0.0), (0.0, 0.0, 1.0))
    np.testing.assert_allclose(pose[:3, :3] @ pose[:3, :3].T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(pose[:3, 2], -np.ones(3) / np.sqrt(3))  # z forward
    assert pose[2, 1] < 0  # image "down" points down in the world
    k = intrinsics(60.0, 64, 64)
    assert k[0, 2] == 32 and k[0, 0] == k[1, 1]


def test_differential_ik_moves_the_gripper_where_asked():
    sim = Simulator()
    try:
        robot = Panda(sim, block_gripper=True)
        robot.reset()
        target = robot.ee_position() + np.array([0.0, 0.15, -0.1])
        for _ in range(25):  # each step aims at most 5 cm from where the gripper is
            robot.apply_action(np.clip((target - robot.ee_position()) / 0.05, -1.0, 1.0))
            sim.step()
            robot.update()
        assert np.linalg.norm(robot.ee_position() - target) < 0.01
        _, orientation, _ = sim.link_pose_velocity(robot.body, EE_LINK)
        assert abs(abs(orientation[0]) - 1.0) < 0.01  # still pointing down
    finally:
        sim.close()
