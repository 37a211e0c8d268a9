"""What the camera sees above the ground: a cylindrical panorama that turns with the car.

One BGRA strip covers 360 degrees at the camera's focal length (one column per
1/f radian), so the view is a plain slice: the column from the heading, the row from
the horizon. The strip has `wrap` extra columns so a slice never wraps around.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from sim.appearance import Appearance
from sim.camera import PinholeCamera


class Backdrop:
    """The panorama for one appearance and camera."""

    def __init__(
        self, look: Appearance, camera: PinholeCamera, *, lut: np.ndarray | None = None
    ) -> None:
        """`lut` (the look's light table, 256x1x3) is applied to every colour painted."""
        cfg = camera.config
        self._f = camera.fx
        self._width = max(cfg.width + 1, round(math.tau * camera.fx))
        self._height = 3 * cfg.height
        self._horizon = self._height // 2
        self._out_w, self._out_h = cfg.width, cfg.height
        self.image = _paint(look, self._width, self._height, self._horizon, camera, lut)
        # The wrap: the first columns again (shapes drawn past the seam are overwritten).
        self.image[:, self._width :] = self.image[:, : cfg.width]

    def view(self, heading: float, horizon_row: float) -> np.ndarray:
        """The (height, width, 4) slice seen at `heading` with the horizon at `horizon_row`."""
        centre = (-heading * self._f) % self._width
        c0 = int(round(centre - self._out_w / 2)) % self._width
        r0 = int(round(self._horizon - horizon_row))
        r0 = min(max(r0, 0), self._height - self._out_h)
        return self.image[r0 : r0 + self._out_h, c0 : c0 + self._out_w]


def _paint(
    look: Appearance,
    w: int,
    h: int,
    horizon: int,
    camera: PinholeCamera,
    lut: np.ndarray | None,
) -> np.ndarray:
    """The BGRA panorama, lit, with `camera.config.width` spare columns for the wrap.

    The light is applied to the colours before they are drawn (the same as lighting the
    image after, but at the anti-aliased edges).
    """
    rng = np.random.default_rng([look.seed, 2])

    def lit(bgr) -> tuple[int, int, int, int]:
        b, g, r = (int(c) for c in bgr)
        if lut is None:
            return (b, g, r, 255)
        return (int(lut[b, 0, 0]), int(lut[g, 0, 1]), int(lut[r, 0, 2]), 255)

    floor_row = horizon + max(1, round(camera.fy * camera.config.height_m / look.draw_distance_m))
    wall = np.asarray(look.backdrop_bgr, np.float32)
    ramp = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    if look.backdrop == "outdoor":
        sky_top = np.asarray((200, 140, 90), np.float32) * 0.5 + wall * 0.5
        sky_low = np.asarray((235, 225, 215), np.float32)
        t = np.clip(ramp * h / horizon, 0.0, 1.0)
        column = sky_top * (1 - t) + sky_low * t
    else:
        column = wall * (1.1 - 0.25 * ramp)
    column = np.clip(column, 0, 255).astype(np.uint8)
    if lut is not None:
        column = np.take_along_axis(lut[:, 0, :], column.astype(np.intp), axis=0)
    column = np.concatenate((column, np.full((h, 1), 255, np.uint8)), axis=1)
    # Filled as one uint32 per pixel: much faster than broadcasting 4-byte pixels.
    image = np.empty((h, w + camera.config.width, 4), np.uint8)
    pixels = image.view(np.uint32)[:, :, 0]
    pixels[:floor_row] = column[:floor_row].copy().view(np.uint32)

    def colour() -> tuple[int, int, int, int]:
        return lit(rng.integers(20, 236, size=3))

    n = look.backdrop_clutter
    if look.backdrop == "room":
        skirting = lit(int(c * 0.6) for c in look.backdrop_bgr)
        cv2.rectangle(image, (0, floor_row - 6), (w, floor_row), skirting, -1)
        for _ in range(n):  # windows, doors, posters, cupboards, boxes on the floor
            kind = rng.random()
            x0 = int(rng.integers(0, w))
            bw = int(rng.integers(15, 160))
            if kind < 0.25:
                top = horizon - int(rng.integers(60, 200))
                bh = int(rng.integers(30, 120))
                cv2.rectangle(image, (x0, top), (x0 + bw, top + bh), lit((235, 230, 220)), -1)
                cv2.rectangle(image, (x0, top), (x0 + bw, top + bh), colour(), 3)
            elif kind < 0.5:
                top = horizon - int(rng.integers(20, 150))
                bh = int(rng.integers(15, 90))
                cv2.rectangle(image, (x0, top), (x0 + bw, top + bh), colour(), -1)
            else:
                bh = int(rng.integers(10, 150))
                cv2.rectangle(image, (x0, floor_row - bh), (x0 + bw, floor_row), colour(), -1)
                cv2.line(image, (x0, floor_row - bh), (x0 + bw, floor_row - bh), lit((30,) * 3), 1)
    elif look.backdrop == "outdoor":
        for _ in range(n):  # buildings and trees on the skyline
            x0 = int(rng.integers(0, w))
            if rng.random() < 0.5:
                bw, bh = int(rng.integers(30, 180)), int(rng.integers(20, 150))
                grey = int(rng.integers(70, 200))
                wall_colour = lit((grey,) * 3)
                cv2.rectangle(image, (x0, floor_row - bh), (x0 + bw, floor_row), wall_colour, -1)
                for wy in range(floor_row - bh + 6, floor_row - 8, 14):
                    cv2.line(image, (x0 + 4, wy), (x0 + bw - 4, wy), lit((grey // 2,) * 3), 3)
            else:
                r = int(rng.integers(10, 50))
                green = lit(
                    (
                        int(rng.integers(20, 70)),
                        int(rng.integers(80, 150)),
                        int(rng.integers(20, 80)),
                    )
                )
                cv2.line(image, (x0, floor_row), (x0, floor_row - r), lit((30, 50, 70)), 4)
                cv2.circle(image, (x0, floor_row - r - r // 2), r, green, -1, cv2.LINE_AA)
    else:
        for _ in range(n):  # soft blobs on a plain wall
            centre = (int(rng.integers(0, w)), horizon - int(rng.integers(-5, 200)))
            axes = (int(rng.integers(10, 120)), int(rng.integers(5, 60)))
            cv2.ellipse(image, centre, axes, 0, 0, 360, colour(), -1, cv2.LINE_AA)
    # Below the wall's foot: the floor beyond the city, as the ground shows past its texture.
    pixels[floor_row:] = np.array(lit(look.outer_bgr), np.uint8).view(np.uint32)[0]
    return image
