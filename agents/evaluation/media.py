"""Videos and plots of runs (headless: imageio-ffmpeg and matplotlib's Agg backend), failing soft.

A video or a plot is the optional end of long work: :func:`optional_output` turns its failure (a
renderer that needs pygame, MuJoCo without an OpenGL platform on a headless box, no ffmpeg) into
a warning that says how to get the file, so the run it illustrates is never lost to it.
"""
from __future__ import annotations

import contextlib
import logging
import pathlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


def how_to_get(err: BaseException) -> str:
    """A hint for the usual reasons a frame or a file could not be made (or ``""``)."""
    text = f"{type(err).__name__}: {err}"
    if "pygame" in text:
        return "pip install pygame (gymnasium's classic-control and Box2D renderers need it)"
    if any(word in text for word in ("OpenGL", "MUJOCO_GL", "EGL", "GLFW", "gladLoadGL")):
        return ("MuJoCo on a machine without a display: set MUJOCO_GL=egl (with a GPU) or MUJOCO_GL=osmesa "
                "(CPU; needs libosmesa)")
    if "ffmpeg" in text.lower():
        return "pip install imageio-ffmpeg"
    if isinstance(err, ModuleNotFoundError) and err.name:
        return f"pip install {err.name}"
    return ""


@contextlib.contextmanager
def optional_output(name: str, redo: str = "") -> Iterator[None]:
    """Run the block that writes ``name``; on failure log a warning saying how to get it, and go on.

    Args:
        name: The file, as the user knows it (``video.mp4``, ``curve.png``).
        redo: The command that makes it later, once fixed (the work it shows is already saved).
    """
    try:
        yield
    except Exception as err:  # noqa: BLE001 - an optional file must never lose the work before it
        hint = how_to_get(err)
        steps = "; ".join(part for part in (hint, f"then: {redo}" if redo else "") if part)
        log.warning("%s not written (%s: %s)%s", name, type(err).__name__, str(err).strip().splitlines()[0]
                    if str(err).strip() else "", f"; to get it: {steps}" if steps else "")
        log.debug("%s failed", name, exc_info=True)


def write_mp4(frames: Sequence[np.ndarray], path: pathlib.Path, fps: int = 25) -> pathlib.Path:
    """Encode ``[H, W, 3]`` uint8 frames as H.264 MP4 (sizes padded to even by ffmpeg)."""
    import imageio.v2 as imageio

    if not frames:
        raise ValueError("no frames to write")
    with imageio.get_writer(path, fps=fps, codec="libx264", macro_block_size=2, quality=7) as writer:
        for frame in frames:
            writer.append_data(np.asarray(frame, dtype=np.uint8)[..., :3])
    return path


def record_video(make_env: Callable[[str], Any], policy: Callable[[Any], np.ndarray], episodes: int, seed: int,
                 path: pathlib.Path) -> pathlib.Path:
    """MP4 of ``episodes`` seeded episodes (``seed, seed + 1, ...``) of ``policy``.

    Args:
        make_env: ``render_mode -> env``; called with ``"rgb_array"``.
        policy: ``obs -> action`` (a :class:`~agents.evaluation.episodes.ModelPolicy` is reset per episode).
    """
    from agents.evaluation.episodes import evaluate

    env = make_env("rgb_array")
    try:
        _, frames = evaluate(env, policy, episodes, seed, episodes)
        fps = int(env.metadata.get("render_fps") or 25)
    finally:
        env.close()
    return write_mp4(frames, path, fps=fps)


def headless_pyplot():
    """``matplotlib.pyplot`` on the file-only Agg backend (no display needed), imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curve(history: list[dict[str, Any]], path: pathlib.Path, title: str = "") -> pathlib.Path:
    """Learning curve from evaluation history rows (``step``, ``return_mean``, ``success_rate``)."""
    plt = headless_pyplot()
    steps = [row["step"] for row in history]
    has_success = any(row.get("success_rate") is not None for row in history)
    fig, axes = plt.subplots(1, 2 if has_success else 1, figsize=(10 if has_success else 5, 3.5), squeeze=False)
    ret = np.array([row["return_mean"] for row in history])
    std = np.array([row["return_std"] for row in history])
    axes[0, 0].plot(steps, ret, marker="o")
    axes[0, 0].fill_between(steps, ret - std, ret + std, alpha=0.2)
    axes[0, 0].set(xlabel="environment steps", ylabel="evaluation return")
    if has_success:
        rate = [row["success_rate"] for row in history]
        low = [row["success_ci"][0] for row in history]
        high = [row["success_ci"][1] for row in history]
        axes[0, 1].plot(steps, rate, marker="o")
        axes[0, 1].fill_between(steps, low, high, alpha=0.2)
        axes[0, 1].set(xlabel="environment steps", ylabel="success rate (95% CI)", ylim=(-0.02, 1.02))
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
