"""Videos and plots of runs (headless: imageio-ffmpeg and matplotlib's Agg backend)."""
from __future__ import annotations

import pathlib
from collections.abc import Sequence
from typing import Any

import numpy as np


def write_mp4(frames: Sequence[np.ndarray], path: pathlib.Path, fps: int = 25) -> pathlib.Path:
    """Encode ``[H, W, 3]`` uint8 frames as H.264 MP4 (sizes padded to even by ffmpeg)."""
    import imageio.v2 as imageio

    if not frames:
        raise ValueError("no frames to write")
    with imageio.get_writer(path, fps=fps, codec="libx264", macro_block_size=2, quality=7) as writer:
        for frame in frames:
            writer.append_data(np.asarray(frame, dtype=np.uint8)[..., :3])
    return path


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
