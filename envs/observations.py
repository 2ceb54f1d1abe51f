"""Observation modes chosen at ``make`` time: their spaces and how observations are assembled.

Images are channel-last ``[H, W, C]`` like gymnasium's ``render()``; SB3 transposes uint8 images
for its CNNs by itself. Modes:

=================  =========================================================================
``state``          Box [S] float32: robot, objects, desired goal.
``goal``           Dict ``observation`` [S - G], ``achieved_goal`` [G], ``desired_goal`` [G] (HER).
``rgb``            Box [H, W, 3] uint8.
``depth``          Box [H, W, 1] float32, metres.
``segmentation``   Box [H, W, 1] int32 body ids (-1: background); see ``segmentation_ids``.
``rgbd``           Dict ``rgb`` [H, W, 3] uint8, ``depth`` [H, W, 1] float32.
``rgb+state``      Dict ``image`` [H, W, 3] uint8, ``state`` [P + G] float32.
``depth+state``    Dict ``image`` [H, W, 1] float32, ``state`` [P + G] float32.
``rgbd+state``     Dict ``rgb``, ``depth``, ``state``.
=================  =========================================================================

``state`` in the image dicts is proprioception (robot observation, P values) plus the desired goal:
the policy never sees privileged object state in pixel modes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from gymnasium import spaces

from foresight_base.checks import check_choice

OBS_MODES = ("state", "goal", "rgb", "depth", "segmentation", "rgbd", "rgb+state", "depth+state", "rgbd+state")
_IMAGE_PARTS = {"rgb": ("rgb",), "depth": ("depth",), "segmentation": ("segmentation",), "rgbd": ("rgb", "depth")}
MAX_SEGMENTATION_ID = 2**16


@dataclass(frozen=True)
class ObsLayout:
    """What one observation mode contains.

    Attributes:
        mode: The mode name, one of ``OBS_MODES``.
        images: Image parts to render, e.g. ``("rgb", "depth")``; empty for state modes.
        with_state: Whether a ``state`` vector rides along with the images.
    """

    mode: str
    images: tuple[str, ...]
    with_state: bool

    @classmethod
    def parse(cls, mode: str) -> ObsLayout:
        check_choice("obs_mode", mode, OBS_MODES)
        base, _, extra = mode.partition("+")
        return cls(mode=mode, images=_IMAGE_PARTS.get(base, ()), with_state=extra == "state")

    def image_keys(self) -> tuple[str, ...]:
        """Dict keys of the image parts: ``image`` when a single image rides with state."""
        if self.with_state and len(self.images) == 1:
            return ("image",)
        return self.images


STATE_BOUND = 10.0  # metres, m/s, rad/s: generous physical bounds for every state entry


def _vector(size: int) -> spaces.Box:
    return spaces.Box(-STATE_BOUND, STATE_BOUND, shape=(size,), dtype=np.float32)


def image_space(part: str, size: int, far: float) -> spaces.Box:
    """Space of one image part at ``size`` x ``size`` pixels (``far``: depth clip, metres)."""
    if part == "rgb":
        return spaces.Box(0, 255, shape=(size, size, 3), dtype=np.uint8)
    if part == "depth":
        return spaces.Box(0.0, far, shape=(size, size, 1), dtype=np.float32)
    return spaces.Box(-1, MAX_SEGMENTATION_ID, shape=(size, size, 1), dtype=np.int32)


def observation_space(layout: ObsLayout, sizes: dict[str, int], image_size: int, far: float) -> spaces.Space:
    """The space of a mode. ``sizes`` holds ``robot``, ``task`` and ``goal`` vector lengths."""
    if layout.mode == "state":
        return _vector(sizes["robot"] + sizes["task"] + sizes["goal"])
    if layout.mode == "goal":
        goal = _vector(sizes["goal"])
        return spaces.Dict({"observation": _vector(sizes["robot"] + sizes["task"]), "achieved_goal": goal,
                            "desired_goal": goal})
    parts = {key: image_space(part, image_size, far) for key, part in zip(layout.image_keys(), layout.images,
                                                                          strict=True)}
    if layout.with_state:
        parts["state"] = _vector(sizes["robot"] + sizes["goal"])
    if len(parts) == 1:
        return next(iter(parts.values()))
    return spaces.Dict(parts)


def assemble(layout: ObsLayout, robot: np.ndarray, task: np.ndarray, achieved: np.ndarray, desired: np.ndarray,
             frames=None):
    """One observation of ``layout`` from vectors and rendered ``frames`` (``Frames`` or None)."""
    if layout.mode == "state":
        return np.concatenate((robot, task, desired)).astype(np.float32)
    if layout.mode == "goal":
        return {
            "observation": np.concatenate((robot, task)).astype(np.float32),
            "achieved_goal": achieved.astype(np.float32),
            "desired_goal": desired.astype(np.float32),
        }
    parts = {key: getattr(frames, part) for key, part in zip(layout.image_keys(), layout.images, strict=True)}
    if layout.with_state:
        parts["state"] = np.concatenate((robot, desired)).astype(np.float32)
    if len(parts) == 1:
        return next(iter(parts.values()))
    return parts
