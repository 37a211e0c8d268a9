"""The ground as one top-down texture of the whole city, painted once per appearance.

Each frame then costs one `cv2.warpPerspective` of this texture into the camera image.
Beyond the texture (the city's table or mat ends `MARGIN_M` past its roads) the ground
shows the appearance's `outer_bgr` floor.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import cv2
import numpy as np

from sim.appearance import Appearance
from sim.render.layout import RoadLayout

log = logging.getLogger(__name__)

DEFAULT_PX_PER_M = 100.0
MAX_TEXTURE_SIDE = 6000
MARGIN_M = 2.0
_SHIFT = 4  # fixed-point bits for sub-pixel polygon drawing


@dataclass(frozen=True)
class GroundTexture:
    """A top-down BGR image; pixel (col, row) centres sit at world (x0 + col/s, y0 - row/s)."""

    image: np.ndarray
    px_per_m: float
    x0: float
    y0: float

    def world_to_pixel(self) -> np.ndarray:
        s = self.px_per_m
        return np.array([[s, 0.0, -s * self.x0], [0.0, -s, s * self.y0], [0.0, 0.0, 1.0]])

    def pixel_to_world(self) -> np.ndarray:
        s = self.px_per_m
        return np.array([[1 / s, 0.0, self.x0], [0.0, -1 / s, self.y0], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class GroundFrame:
    """Where the texture lies in the world and its resolution (independent of the look)."""

    x0: float
    y0: float
    width: int
    height: int
    px_per_m: float


def ground_frame(
    bounds: tuple[float, float, float, float], px_per_m: float = DEFAULT_PX_PER_M
) -> GroundFrame:
    """The texture's placement: the city's bounds plus a margin, at most MAX_TEXTURE_SIDE px."""
    xmin, ymin, xmax, ymax = bounds
    span = max(xmax - xmin, ymax - ymin) + 2 * MARGIN_M
    if span * px_per_m > MAX_TEXTURE_SIDE:
        px_per_m = MAX_TEXTURE_SIDE / span
        log.info("large city: ground texture at %.1f px/m", px_per_m)
    width = math.ceil((xmax - xmin + 2 * MARGIN_M) * px_per_m)
    height = math.ceil((ymax - ymin + 2 * MARGIN_M) * px_per_m)
    return GroundFrame(xmin - MARGIN_M, ymax + MARGIN_M, width, height, px_per_m)


def paint_ground(layout: RoadLayout, frame: GroundFrame, look: Appearance) -> GroundTexture:
    """Background, kerbs, asphalt and markings for one appearance (deterministic from its seed)."""
    rng = np.random.default_rng([look.seed, 1])
    h, w, s = frame.height, frame.width, frame.px_per_m

    def to_px(points: np.ndarray) -> np.ndarray:
        px = (points[:, 0] - frame.x0) * s
        py = (frame.y0 - points[:, 1]) * s
        return np.round(np.column_stack((px, py)) * (1 << _SHIFT)).astype(np.int32)

    road = np.zeros((h, w), np.uint8)
    for polygon in layout.paving:  # one by one: overlapping polygons in one call cancel out
        cv2.fillPoly(road, [to_px(polygon)], 255, cv2.LINE_AA, _SHIFT)
    width_px = max(1, round(look.marking_width_m * s))
    edges = np.zeros((h, w), np.uint8)
    cv2.polylines(edges, [to_px(p) for p in layout.edge_line_paths(look.marking_width_m)],
                  False, 255, width_px, cv2.LINE_AA, _SHIFT)  # fmt: skip
    centre = np.zeros((h, w), np.uint8)
    cv2.polylines(centre, [to_px(p) for p in layout.centre_lines], False, 255, width_px,
                  cv2.LINE_AA, _SHIFT)  # fmt: skip

    # Every layer is one channel of weights; colours mix per channel at the end.
    mark_edge = edges.astype(np.float32) * np.float32(1 / 255)
    mark_centre = centre.astype(np.float32) * np.float32(1 / 255)
    if look.marking_wear > 0:
        wear = _noise(rng, h, w, 0.05 * s, 1.0) + _fine(rng, h, w, 0.5)
        keep = np.clip((wear + 1.6 - 3.2 * look.marking_wear) * 2.0, 0.0, 1.0)
        mark_edge *= keep
        mark_centre *= keep
    w_road = road.astype(np.float32) * np.float32(1 / 255)
    rest = 1.0 - np.minimum(mark_edge + mark_centre, 1.0)
    w_road *= rest
    if look.kerb_width_m > 0:
        k = max(1, round(look.kerb_width_m * s))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
        w_kerb = cv2.dilate(road, kernel).astype(np.float32) * np.float32(1 / 255)
        w_kerb = (w_kerb - w_road - mark_edge - mark_centre).clip(0.0, 1.0)
    else:
        w_kerb = np.zeros_like(w_road)
    w_bg = (rest - w_road - w_kerb).clip(0.0, 1.0)
    grain = _fine(rng, h, w, look.road_grain) + _noise(rng, h, w, 0.6 * s, look.road_grain)
    offset = w_road * grain + w_kerb * _fine(rng, h, w, 4.0)
    bg_mul, bg_var, tint = _background(rng, look, h, w, s)
    w_bg_mul = w_bg * bg_mul
    offset += w_bg * bg_var
    channels = []
    for c in range(3):
        value = (
            w_bg_mul * look.background_bgr[c]
            + w_road * look.road_bgr[c]
            + w_kerb * look.kerb_bgr[c]
            + mark_edge * look.marking_bgr[c]
            + mark_centre * look.centre_line_bgr[c]
        )
        value += offset if tint[c] == 1.0 else offset + w_bg * bg_var * (tint[c] - 1.0)
        channels.append(value)
    texture = cv2.merge(channels)
    texture = np.clip(texture, 0, 255, out=texture).astype(np.uint8)
    return GroundTexture(texture, s, frame.x0, frame.y0)


def _fine(rng: np.random.Generator, h: int, w: int, sigma: float) -> np.ndarray:
    """Pixel-scale noise: a random 256 px tile repeated (cheap, and the repeat is not seen)."""
    tile = rng.standard_normal((256, 256), dtype=np.float32) * np.float32(sigma)
    return np.tile(tile, (h // 256 + 1, w // 256 + 1))[:h, :w]


def _noise(rng: np.random.Generator, h: int, w: int, scale_px: float, sigma: float) -> np.ndarray:
    """Smooth gaussian noise with features about `scale_px` pixels across."""
    scale = max(1.0, scale_px)
    sh, sw = max(2, math.ceil(h / scale) + 1), max(2, math.ceil(w / scale) + 1)
    small = rng.standard_normal((sh, sw), dtype=np.float32) * np.float32(sigma)
    if scale <= 1.0:
        return small[:h, :w]
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _background(
    rng: np.random.Generator, look: Appearance, h: int, w: int, s: float
) -> tuple[np.ndarray | float, np.ndarray, tuple[float, float, float]]:
    """(multiplier, additive variation, per-channel tint of the variation) of the background."""
    g = look.background_grain
    mul: np.ndarray | float = 1.0
    tint = (1.0, 1.0, 1.0)
    if look.background == "table":  # wood: long streaks along x, fine grain
        streaks = rng.standard_normal((max(2, h // 3), 8), dtype=np.float32)
        var = cv2.resize(streaks, (w, h)) * np.float32(g) + _fine(rng, h, w, g * 0.4)
    elif look.background == "floor":  # tiles with darker joints
        tile = max(4, round(s * (0.25 + 0.35 * rng.random())))
        shade = rng.normal(0.0, g, size=(h // tile + 2, w // tile + 2)).astype(np.float32)
        var = np.repeat(np.repeat(shade, tile, axis=0), tile, axis=1)[:h, :w]
        var = var + _fine(rng, h, w, g * 0.3)
        mul = np.ones((h, w), np.float32)
        mul[::tile] = 0.7
        mul[:, ::tile] = 0.7
    elif look.background == "grass":
        tint = (0.6, 1.0, 0.7)
        var = _noise(rng, h, w, 0.3 * s, g) + _fine(rng, h, w, g)
    else:  # carpet: fine fibres and soft blotches
        var = _fine(rng, h, w, g) + _noise(rng, h, w, 0.5 * s, g * 0.6)
    return mul, var, tint
