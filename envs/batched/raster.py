"""A batched tensor rasterizer: N small images drawn at once on the worlds' device.

Shapes are given in world units (metres) as tensors with one row per world, ``[N]`` or ``[N, K]``
for K shapes per world. Each shape becomes a pixel mask by broadcasting a row of pixel x-coordinates
``[W]`` against a column of y-coordinates ``[H]``, so there is no loop over worlds or pixels, and
every later shape paints over the earlier ones. The result is ``uint8 [N, 3, H, W]``, channel first
as SB3's ``CnnPolicy`` and torchvision expect; row 0 is the top of the view (largest y).
"""
from __future__ import annotations

import torch

Colour = tuple[int, int, int]
Scalar = float | torch.Tensor


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
        x_min, x_max, y_min, y_max = view
        self.n = n
        self.image = torch.empty((n, 3, height, width), dtype=torch.uint8, device=device)
        for channel, value in enumerate(background):
            self.image[:, channel].fill_(value)
        pixel_w, pixel_h = (x_max - x_min) / width, (y_max - y_min) / height
        self.xs = x_min + (torch.arange(width, device=device) + 0.5) * pixel_w  # [W], metres
        self.ys = y_max - (torch.arange(height, device=device) + 0.5) * pixel_h  # [H], metres

    def circles(self, cx: torch.Tensor, cy: torch.Tensor, radius: Scalar, colour: Colour) -> Canvas:
        """Filled discs centred at ``(cx, cy)`` ``[N]`` or ``[N, K]`` with ``radius`` metres."""
        dx, dy = self._offsets(cx, cy)
        r2 = self._per_shape(radius, dx) ** 2
        return self._paint(dy[..., :, None] ** 2 + dx[..., None, :] ** 2 <= r2[..., None, None], colour)

    def boxes(
        self, cx: torch.Tensor, cy: torch.Tensor, half_w: Scalar, half_h: Scalar, colour: Colour
    ) -> Canvas:
        """Axis-aligned filled rectangles centred at ``(cx, cy)``, half sizes in metres."""
        dx, dy = self._offsets(cx, cy)
        inside_x = dx.abs() <= self._per_shape(half_w, dx)[..., None]  # [N, K, W]
        inside_y = dy.abs() <= self._per_shape(half_h, dy)[..., None]  # [N, K, H]
        return self._paint(inside_y[..., :, None] & inside_x[..., None, :], colour)

    def segments(
        self,
        x0: torch.Tensor,
        y0: torch.Tensor,
        x1: torch.Tensor,
        y1: torch.Tensor,
        width: float,
        colour: Colour,
    ) -> Canvas:
        """Thick line segments (capsules) from ``(x0, y0)`` to ``(x1, y1)``, ``width`` metres."""
        ax, ay = self._offsets(x0, y0)  # pixel minus start, [N, K, W] and [N, K, H]
        dx, dy = self._rows(x1) - self._rows(x0), self._rows(y1) - self._rows(y0)  # [N, K]
        dx, dy = dx[..., None, None], dy[..., None, None]
        along = (ay[..., :, None] * dy + ax[..., None, :] * dx) / (dx * dx + dy * dy + 1e-12)
        along = along.clamp(0.0, 1.0)  # [N, K, H, W], 0 at the start, 1 at the end
        ex, ey = ax[..., None, :] - along * dx, ay[..., :, None] - along * dy
        return self._paint(ex * ex + ey * ey <= (width / 2) ** 2, colour)

    def _rows(self, value: torch.Tensor) -> torch.Tensor:
        """``[N]`` or ``[N, K]`` -> ``[N, K]`` in the canvas's dtype and device."""
        return value.detach().reshape(self.n, -1).to(self.xs)

    def _offsets(self, cx: torch.Tensor, cy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pixel coordinates minus shape centres: ``[N, K, W]`` (x) and ``[N, K, H]`` (y)."""
        return self.xs - self._rows(cx)[..., None], self.ys - self._rows(cy)[..., None]

    def _per_shape(self, value: Scalar, like: torch.Tensor) -> torch.Tensor:
        """A size given once, per world ``[N]`` or per shape ``[N, K]`` -> ``[N, K]``."""
        value = torch.as_tensor(value, dtype=like.dtype, device=like.device).detach()
        if value.dim() == 0:
            return value.expand(like.shape[:2])
        return value.reshape(self.n, -1).expand(like.shape[:2])

    def _paint(self, mask: torch.Tensor, colour: Colour) -> Canvas:
        """Paint ``colour`` where any of a world's shapes covers a pixel; ``mask [N, K, H, W]``."""
        covered = mask.any(dim=1)
        for channel, value in enumerate(colour):
            self.image[:, channel].masked_fill_(covered, value)
        return self
