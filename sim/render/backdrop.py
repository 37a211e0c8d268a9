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

    def __init__(self, look: Appearance, camera: PinholeCamera) -> None:
        cfg = camera.config
        self._f = camera.fx
        self._width = max(cfg.width + 1, round(math.tau * camera.fx))
        self._height = 3 * cfg.height
        self._horizon = self._height // 2
        self._out_w, self._out_h = cfg.width, cfg.height
        pano = _paint(look, self._width, self._height, self._horizon, camera)
        self.image = np.concatenate((pano, pano[:, : cfg.width]), axis=1)

    def view(self, heading: float, horizon_row: float) -> np.ndarray:
        """The (height, width, 4) slice seen at `heading` with the horizon at `horizon_row`."""
        centre = (-heading * self._f) % self._width
        c0 = int(round(centre - self._out_w / 2)) % self._width
        r0 = int(round(self._horizon - horizon_row))
        r0 = min(max(r0, 0), self._height - self._out_h)
        return self.image[r0 : r0 + self._out_h, c0 : c0 + self._out_w]


def _paint(look: Appearance, w: int, h: int, horizon: int, camera: PinholeCamera) -> np.ndarray:
    rng = np.random.default_rng([look.seed, 2])
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
    image = np.repeat(np.clip(column, 0, 255).astype(np.uint8)[:, None, :], w, axis=1)
    image = np.ascontiguousarray(image)

    def colour() -> tuple[int, int, int]:
        return tuple(int(c) for c in rng.integers(20, 236, size=3))  # type: ignore[return-value]

    n = look.backdrop_clutter
    if look.backdrop == "room":
        skirting = tuple(int(c * 0.6) for c in look.backdrop_bgr)
        cv2.rectangle(image, (0, floor_row - 6), (w, floor_row), skirting, -1)
        for _ in range(n):  # windows, doors, posters, cupboards, boxes on the floor
            kind = rng.random()
            x0 = int(rng.integers(0, w))
            bw = int(rng.integers(15, 160))
            if kind < 0.25:
                top = horizon - int(rng.integers(60, 200))
                bh = int(rng.integers(30, 120))
                cv2.rectangle(image, (x0, top), (x0 + bw, top + bh), (235, 230, 220), -1)
                cv2.rectangle(image, (x0, top), (x0 + bw, top + bh), colour(), 3)
            elif kind < 0.5:
                top = horizon - int(rng.integers(20, 150))
                bh = int(rng.integers(15, 90))
                cv2.rectangle(image, (x0, top), (x0 + bw, top + bh), colour(), -1)
            else:
                bh = int(rng.integers(10, 150))
                cv2.rectangle(image, (x0, floor_row - bh), (x0 + bw, floor_row), colour(), -1)
                cv2.line(image, (x0, floor_row - bh), (x0 + bw, floor_row - bh), (30, 30, 30), 1)
    elif look.backdrop == "outdoor":
        for _ in range(n):  # buildings and trees on the skyline
            x0 = int(rng.integers(0, w))
            if rng.random() < 0.5:
                bw, bh = int(rng.integers(30, 180)), int(rng.integers(20, 150))
                grey = int(rng.integers(70, 200))
                cv2.rectangle(image, (x0, floor_row - bh), (x0 + bw, floor_row), (grey,) * 3, -1)
                for wy in range(floor_row - bh + 6, floor_row - 8, 14):
                    cv2.line(image, (x0 + 4, wy), (x0 + bw - 4, wy), (grey // 2,) * 3, 3)
            else:
                r = int(rng.integers(10, 50))
                green = (
                    int(rng.integers(20, 70)),
                    int(rng.integers(80, 150)),
                    int(rng.integers(20, 80)),
                )
                cv2.line(image, (x0, floor_row), (x0, floor_row - r), (30, 50, 70), 4)
                cv2.circle(image, (x0, floor_row - r - r // 2), r, green, -1, cv2.LINE_AA)
    else:
        for _ in range(n):  # soft blobs on a plain wall
            centre = (int(rng.integers(0, w)), horizon - int(rng.integers(-5, 200)))
            axes = (int(rng.integers(10, 120)), int(rng.integers(5, 60)))
            cv2.ellipse(image, centre, axes, 0, 0, 360, colour(), -1, cv2.LINE_AA)
    # Below the wall's foot: the floor beyond the city, as the ground shows past its texture.
    image[floor_row:] = look.outer_bgr
    return cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
