"""A tiny exact ray caster (ground plane + spheres) giving depth and segmentation with known geometry."""
import numpy as np

W, H, F = 128, 96, 120.0
K = np.array([[F, 0, W / 2], [0, F, H / 2], [0, 0, 1]])  # origin at the top-left pixel corner


def look_at(eye, target, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """4x4 world_from_camera in the OpenCV convention (x right, y down, z forward)."""
    eye, target = np.asarray(eye, float), np.asarray(target, float)
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, up)
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    pose = np.eye(4)
    pose[:3, :3] = np.stack([right, down, forward], axis=1)
    pose[:3, 3] = eye
    return pose


def render(pose: np.ndarray, spheres: dict[int, tuple[tuple[float, float, float], float]]):
    """Ray-cast the plane z=0 (id 0) and spheres {id: (centre, radius)}: z-depth [H, W], ids [H, W]."""
    v, u = np.mgrid[0:H, 0:W]
    rays_cam = np.stack([(u + 0.5 - K[0, 2]) / F, (v + 0.5 - K[1, 2]) / F, np.ones_like(u, float)], -1)
    rays = rays_cam @ pose[:3, :3].T  # a step of 1 along a ray is 1 m of z-depth
    origin = pose[:3, 3]
    depth = np.full((H, W), np.inf)
    ids = np.full((H, W), -1)
    t_plane = -origin[2] / rays[..., 2]
    hit = t_plane > 0
    depth[hit], ids[hit] = t_plane[hit], 0
    for body, (centre, radius) in spheres.items():
        oc = origin - np.asarray(centre)
        a = (rays**2).sum(-1)
        b = 2 * (rays @ oc)
        c = oc @ oc - radius**2
        disc = b**2 - 4 * a * c
        t = np.where(disc >= 0, (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a), np.inf)
        nearer = (t > 0) & (t < depth)
        depth[nearer], ids[nearer] = t[nearer], body
    return depth, ids
