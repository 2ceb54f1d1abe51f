"""A batched tensor rasterizer: N small images drawn at once on the worlds' device.

Shapes are given in world units (metres) as tensors with one row per world, ``[N]`` or ``[N, K]``
for K shapes per world, and every later shape paints over the earlier ones. Each shape is tested
only on a fixed-size pixel window around it (sized from a static bound on its extent, so shapes
stay fixed and nothing waits on the device), as a row of window x-coordinates ``[N, K, w]``
broadcast against a column of y-coordinates ``[N, K, h]``; covered pixels are scattered into the
images. There is no loop over worlds or pixels. The canvas holds channel planes, ``uint8 [N, 3, H, W]``
(a shape's pixels are scattered into three contiguous planes); the envs hand images out channel-last,
``[N, H, W, 3]`` like every Foresight env, as a view of those planes. Row 0 is the top of the view
(largest y).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch

Colour = tuple[int, int, int]
Size = float | torch.Tensor


class _Window(NamedTuple):
    """Pixel window of each shape ``[N, K, h]`` / ``[N, K, w]``: indices, offsets from the shape's
    centre (metres) and whether each index lies inside the image."""

    rows: torch.Tensor
    cols: torch.Tensor
    dx: torch.Tensor
    dy: torch.Tensor
    row_ok: torch.Tensor
    col_ok: torch.Tensor


class Canvas:
    """N RGB images over the world rectangle ``view = (x_min, x_max, y_min, y_max)``, metres."""

    def __init__(
        self,
        n: int,
        view: tuple[float, float, float, float],
        size: tuple[int, int] = (64, 64),
        device: torch.device | str = "cpu",
        background: Colour = (0, 0, 0),
    ):
        height, width = size
        if height < 1 or width < 1:
            raise ValueError(f"image size must be positive (height, width), got {size}")
        self.n, self.height, self.width, self.device = n, height, width, torch.device(device)
        self.x_min, x_max, y_min, self.y_max = view
        self.pixel_w, self.pixel_h = (x_max - self.x_min) / width, (self.y_max - y_min) / height
        # One spare pixel past the end takes the scattered writes of uncovered window pixels.
        self._pixels = torch.empty((n, 3, height * width + 1), dtype=torch.uint8, device=self.device)
        for channel, value in enumerate(background):
            self._pixels[:, channel].fill_(value)

    @property
    def image(self) -> torch.Tensor:
        """The images drawn so far, ``uint8 [N, 3, H, W]``."""
        return self._pixels[:, :, :-1].view(self.n, 3, self.height, self.width)

    def circles(
        self, cx: torch.Tensor, cy: torch.Tensor, radius: Size, colour: Colour, max_radius: float | None = None
    ) -> Canvas:
        """Filled discs centred at ``(cx, cy)`` ``[N]`` or ``[N, K]``; ``radius`` metres.

        A per-world ``radius`` tensor needs ``max_radius`` for a tight window (else the whole image).
        """
        bound = radius if isinstance(radius, float | int) else max_radius
        window = self._window(cx, cy, bound, bound)
        r2 = radius**2 if isinstance(radius, float | int) else self._rows(radius)[..., None, None] ** 2
        inside = window.dy[..., :, None] ** 2 + window.dx[..., None, :] ** 2 <= r2
        return self._paint(window, inside, colour)

    def boxes(self, cx: torch.Tensor, cy: torch.Tensor, half_w: float, half_h: float, colour: Colour) -> Canvas:
        """Axis-aligned filled rectangles centred at ``(cx, cy)``, half sizes in metres."""
        window = self._window(cx, cy, half_w, half_h)
        inside_x, inside_y = window.dx.abs() <= half_w, window.dy.abs() <= half_h
        return self._paint(window, inside_y[..., :, None] & inside_x[..., None, :], colour)

    def segments(
        self,
        x0: torch.Tensor,
        y0: torch.Tensor,
        x1: torch.Tensor,
        y1: torch.Tensor,
        width: float,
        colour: Colour,
        max_length: float | None = None,
    ) -> Canvas:
        """Thick line segments (capsules) from ``(x0, y0)`` to ``(x1, y1)``, ``width`` metres.

        ``max_length`` (metres) bounds every segment's length for a tight window (else the whole image).
        """
        x0, y0, x1, y1 = (self._rows(v) for v in (x0, y0, x1, y1))
        half = None if max_length is None else (max_length + width) / 2
        window = self._window((x0 + x1) / 2, (y0 + y1) / 2, half, half)
        ax, ay = window.dx + (x1 - x0)[..., None] / 2, window.dy + (y1 - y0)[..., None] / 2  # from start
        dx, dy = (x1 - x0)[..., None, None], (y1 - y0)[..., None, None]
        along = (ay[..., :, None] * dy + ax[..., None, :] * dx) / (dx * dx + dy * dy + 1e-12)
        along = along.clamp(0.0, 1.0)  # 0 at the start, 1 at the end
        ex, ey = ax[..., None, :] - along * dx, ay[..., :, None] - along * dy
        return self._paint(window, ex * ex + ey * ey <= (width / 2) ** 2, colour)

    # -- windows -----------------------------------------------------------------------------------

    def _rows(self, value: torch.Tensor) -> torch.Tensor:
        """``[N]`` or ``[N, K]`` -> ``[N, K]`` float32 on the canvas's device, without gradient."""
        return value.detach().reshape(self.n, -1).to(device=self.device, dtype=torch.float32)

    def _axis(
        self, centre: torch.Tensor, half: float | None, pixel: float, count: int, flip: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Window pixel indices ``[N, K, w]``, their offsets from ``centre`` (m) and in-image flags."""
        size = count if half is None else min(count, math.ceil(2 * half / pixel) + 2)
        steps = torch.arange(size, device=self.device)
        if size == count:
            index = steps.expand(*centre.shape, size)
        else:
            position = (self.y_max - centre) / pixel if flip else (centre - self.x_min) / pixel
            index = torch.floor(position - size / 2 + 0.5).long()[..., None] + steps
        coordinate = (index + 0.5) * pixel
        offset = (self.y_max - coordinate if flip else self.x_min + coordinate) - centre[..., None]
        return index, offset, (index >= 0) & (index < count)

    def _window(self, cx: torch.Tensor, cy: torch.Tensor, half_x: float | None, half_y: float | None) -> _Window:
        cx, cy = self._rows(cx), self._rows(cy)
        cols, dx, col_ok = self._axis(cx, half_x, self.pixel_w, self.width, flip=False)
        rows, dy, row_ok = self._axis(cy, half_y, self.pixel_h, self.height, flip=True)
        return _Window(rows, cols, dx, dy, row_ok, col_ok)

    def _paint(self, window: _Window, inside: torch.Tensor, colour: Colour) -> Canvas:
        """Scatter ``colour`` into the pixels where ``inside [N, K, h, w]`` holds."""
        inside = inside & window.row_ok[..., :, None] & window.col_ok[..., None, :]
        flat = window.rows[..., :, None] * self.width + window.cols[..., None, :]
        target = torch.where(inside, flat, self.height * self.width).reshape(self.n, -1)
        for channel, value in enumerate(colour):
            self._pixels[:, channel].scatter_(1, target, value)
        return self

