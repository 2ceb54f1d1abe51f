"""URDF rewriting: a low-polygon variant whose visuals are the (simplified) collision meshes.

Links without inertial data get PyBullet's defaults written out, which silences its warnings.

TinyRenderer's cost grows with triangles, not pixels: the Panda's visual meshes hold ~100k
triangles, its collision meshes ~3k, so observation cameras render several times faster.
"""
from __future__ import annotations

import copy
import hashlib
import os
import pathlib
import tempfile
import xml.etree.ElementTree as ET

CACHE_DIR = pathlib.Path(tempfile.gettempdir()) / "foresight_urdf_cache"
REWRITE_VERSION = 2  # bump when the rewriting changes, so stale cached copies are not reused


def _absolute_mesh_paths(root: ET.Element, urdf_dir: pathlib.Path) -> None:
    for mesh in root.iter("mesh"):
        name = mesh.get("filename", "")
        relative = name.removeprefix("package://")
        mesh.set("filename", str((urdf_dir / relative).resolve()))


def _visuals_from_collisions(root: ET.Element) -> None:
    for link in root.iter("link"):
        collision, visual = link.find("collision"), link.find("visual")
        if collision is None or visual is None or collision.find("geometry") is None:
            continue
        visual.remove(visual.find("geometry"))
        visual.insert(0, copy.deepcopy(collision.find("geometry")))
        origin = collision.find("origin")
        if visual.find("origin") is not None:
            visual.remove(visual.find("origin"))
        if origin is not None:
            visual.insert(0, copy.deepcopy(origin))


def _explicit_default_inertia(root: ET.Element) -> None:
    """Write PyBullet's default (mass 1 kg, unit inertia) where a link has none: same dynamics, no warning."""
    for link in root.iter("link"):
        if link.find("inertial") is None:
            inertial = ET.SubElement(link, "inertial")
            ET.SubElement(inertial, "mass", value="1")
            ET.SubElement(inertial, "inertia", ixx="1", ixy="0", ixz="0", iyy="1", iyz="0", izz="1")


def low_poly_urdf(path: str | os.PathLike) -> str:
    """Path of a cached copy of the URDF at ``path`` that draws its collision meshes.

    Mesh paths become absolute, so the copy loads from anywhere. Written atomically, so
    processes building it at once do not read half a file.
    """
    source = pathlib.Path(path).resolve()
    text = source.read_text()
    digest = hashlib.sha1(f"{REWRITE_VERSION}\n{source}\n{text}".encode()).hexdigest()[:16]
    target = CACHE_DIR / f"{source.stem}_lowpoly_{digest}.urdf"
    if target.exists():
        return str(target)
    root = ET.fromstring(text)
    _absolute_mesh_paths(root, source.parent)
    _visuals_from_collisions(root)
    _explicit_default_inertia(root)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=CACHE_DIR, suffix=".urdf")
    with os.fdopen(handle, "w") as file:
        file.write(ET.tostring(root, encoding="unicode"))
    os.replace(temporary, target)
    return str(target)
