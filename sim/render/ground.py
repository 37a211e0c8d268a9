"""The ground as one top-down texture of the whole city, painted once per appearance.

Each frame then costs one `cv2.warpPerspective` of this texture into the camera image.
Beyond the texture (the city's table or mat ends `MARGIN_M` past its roads) the ground
shows the appearance's `outer_bgr` floor.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
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
# Rows where the texture is magnified at least this much are warped at 1/factor of the
# resolution and scaled up bilinearly: a bilinear of a bilinear, within a grey level or
# two of the full warp there, at a fraction of the cost (the near road fills half a frame).
COARSE_FACTORS = (4, 2)
_MIN_COARSE_ROWS = 8


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
    image = GroundPainter(layout, frame).paint(look)
    return GroundTexture(image, frame.px_per_m, frame.x0, frame.y0)


class GroundPainter:
    """Paints the ground of one layout for any appearance.

    The masks that depend only on the layout (paving, edge and centre lines at each
    marking width in whole pixels, kerbs at each kerb width) are rasterised once and
    kept; a look then costs a few whole-texture passes, almost all of them on uint8
    masks: wear, the layer weights, one `cv2.transform` that mixes the layer colours,
    and the grain added as two saturating uint8 adds.
    """

    def __init__(self, layout: RoadLayout, frame: GroundFrame) -> None:
        self.layout = layout
        self.frame = frame
        self._road: np.ndarray | None = None
        self._lines: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._kerbs: dict[int, np.ndarray] = {}
        self._fine: np.ndarray | None = None
        self._centre_idx: dict[int, np.ndarray] = {}

    def _to_px(self, points: np.ndarray) -> np.ndarray:
        f = self.frame
        px = (points[:, 0] - f.x0) * f.px_per_m
        py = (f.y0 - points[:, 1]) * f.px_per_m
        return np.round(np.column_stack((px, py)) * (1 << _SHIFT)).astype(np.int32)

    def road(self) -> np.ndarray:
        if self._road is None:
            road = np.zeros((self.frame.height, self.frame.width), np.uint8)
            for polygon in self.layout.paving:  # one by one: overlapping polygons cancel out
                cv2.fillPoly(road, [self._to_px(polygon)], 255, cv2.LINE_AA, _SHIFT)
            self._road = road
        return self._road

    def lines(self, width_px: int) -> tuple[np.ndarray, np.ndarray]:
        """(edge lines, centre lines) masks for markings `width_px` wide."""
        if width_px not in self._lines:
            shape = (self.frame.height, self.frame.width)
            width_m = width_px / self.frame.px_per_m
            edges = np.zeros(shape, np.uint8)
            cv2.polylines(edges, [self._to_px(p) for p in self.layout.edge_line_paths(width_m)],
                          False, 255, width_px, cv2.LINE_AA, _SHIFT)  # fmt: skip
            centre = np.zeros(shape, np.uint8)
            cv2.polylines(centre, [self._to_px(p) for p in self.layout.centre_lines], False, 255,
                          width_px, cv2.LINE_AA, _SHIFT)  # fmt: skip
            self._lines[width_px] = (edges, centre)
        return self._lines[width_px]

    def kerb(self, k: int) -> np.ndarray:
        """The paving grown by `k` px (the outer edge of a kerb `k` px wide)."""
        if k not in self._kerbs:
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
            self._kerbs[k] = cv2.dilate(self.road(), kernel)
        return self._kerbs[k]

    def fine_field(self) -> np.ndarray:
        """Unit gaussian pixel noise a tile larger than the texture, made once per painter.

        A look takes views of it at random offsets (`_FineViews`) instead of drawing new
        pixel noise: the grain still differs per look and per layer, for no draw and no
        copy.
        """
        if self._fine is None:
            f = self.frame
            rng = np.random.default_rng([f.width, f.height, 17])
            self._fine = rng.standard_normal((f.height + _FINE_PAD, f.width + _FINE_PAD),
                                             dtype=np.float32)  # fmt: skip
        return self._fine

    def centre_pixels(self, width_px: int) -> np.ndarray:
        """Flat indices of the centre-line pixels at this marking width (a few % of all)."""
        if width_px not in self._centre_idx:
            self._centre_idx[width_px] = np.flatnonzero(self.lines(width_px)[1])
        return self._centre_idx[width_px]

    def paint(self, look: Appearance) -> np.ndarray:
        """The BGR texture for `look`, before its light."""
        return cv2.merge(self.paint_planes(look))

    def paint_planes(self, look: Appearance) -> list[np.ndarray]:
        """The texture for `look`, before its light, as its B, G and R planes.

        Every pass over the texture is one OpenCV call on uint8 weights or float32 noise;
        the grain's strength rides on the scale of the multiply that weights it.
        """
        rng = np.random.default_rng([look.seed, 1])
        h, w, s = self.frame.height, self.frame.width, self.frame.px_per_m
        fine = _FineViews(self.fine_field(), rng, h, w)
        road = self.road()
        width_px = max(1, round(look.marking_width_m * s))
        edges, centre = self.lines(width_px)
        # Layer weights, 0-255: markings, asphalt, kerb; the background is what is left.
        if look.marking_wear > 0:
            keep = _wear_keep(rng, fine, h, w, 0.05 * s, look.marking_wear)
            edges = cv2.multiply(edges, keep, scale=1 / 255)
            centre = cv2.multiply(centre, keep, scale=1 / 255)
        marks = cv2.add(edges, centre)
        rest = cv2.bitwise_not(marks)
        w_road = cv2.multiply(road, rest, scale=1 / 255)
        k = round(look.kerb_width_m * s) if look.kerb_width_m > 0 else 0
        if k > 0:
            w_kerb = cv2.subtract(self.kerb(max(1, k)), cv2.add(w_road, marks))
        else:
            w_kerb = np.zeros_like(road)
        w_bg = cv2.subtract(cv2.subtract(rest, w_road), w_kerb)

        # Colours: background + sum of weight * (layer colour - background), one transform
        # (3 channels in and out: OpenCV's fast path). A centre line of another colour than
        # the edge lines is shifted afterwards, on its own pixels only.
        bg = np.asarray(look.background_bgr, np.float32)
        mix = np.zeros((3, 4), np.float32)
        for i, colour in enumerate((look.road_bgr, look.kerb_bgr, look.marking_bgr)):
            mix[:, i] = (np.asarray(colour, np.float32) - bg) / 255.0
        mix[:, 3] = bg + 0.5
        base = cv2.transform(cv2.merge((w_road, w_kerb, marks)), mix)

        # Grain: per-layer noise weighted like the colours, added in grey levels.
        grain = _noise(rng, h, w, 0.6 * s, 1.0)
        cv2.add(grain, fine.next(), dst=grain)
        offset = cv2.multiply(grain, w_road, scale=look.road_grain / 255, dtype=cv2.CV_32F)
        if k > 0:
            kerb = cv2.multiply(fine.next(), w_kerb, scale=4.0 / 255, dtype=cv2.CV_32F)
            cv2.add(offset, kerb, dst=offset)
        joints, bg_var, tint = _background(rng, fine, look, h, w, s)
        bg_off = cv2.multiply(bg_var, w_bg, scale=1 / 255, dtype=cv2.CV_32F)
        cv2.add(offset, bg_off, dst=offset)
        planes = list(cv2.split(base))
        for c in range(3):
            o = offset
            if tint[c] != 1.0:
                o = cv2.scaleAdd(bg_off, tint[c] - 1.0, offset)
            # One saturating, rounding add of the float offset to the uint8 plane.
            cv2.add(planes[c], o, dst=planes[c], dtype=cv2.CV_8U)
        centre_shift = np.asarray(look.centre_line_bgr, np.float32) - look.marking_bgr
        if np.any(centre_shift != 0.0):
            _shift_centre(planes, centre, self.centre_pixels(width_px), centre_shift)
        if joints:  # floor tiles: darker joints every `joints` px
            _darken_joints(planes, w_bg, joints, look.background_bgr)
        return planes


_FINE_PAD = 256  # how far a view of the fine field may be offset


class _FineViews:
    """Views of a unit noise field at random offsets, one per layer of a look."""

    def __init__(self, field: np.ndarray, rng: np.random.Generator, h: int, w: int) -> None:
        self._field, self._h, self._w = field, h, w
        self._offsets = rng.integers(0, _FINE_PAD + 1, size=(8, 2)).tolist()
        self._used = 0

    def next(self) -> np.ndarray:
        dy, dx = self._offsets[self._used % len(self._offsets)]
        self._used += 1
        return self._field[dy : dy + self._h, dx : dx + self._w]


def _shift_centre(
    planes: list[np.ndarray], centre: np.ndarray, idx: np.ndarray, shift: np.ndarray
) -> None:
    """Move the centre-line pixels from the marking colour to the centre line's colour."""
    weight = centre.reshape(-1)[idx].astype(np.float32) * np.float32(1 / 255)
    for plane, delta in zip(planes, shift.tolist(), strict=True):
        if delta == 0.0:
            continue
        flat = plane.reshape(-1)
        moved = flat[idx] + np.rint(weight * np.float32(delta))
        flat[idx] = np.clip(moved, 0, 255).astype(np.uint8)


def _wear_keep(
    rng: np.random.Generator, fine: _FineViews, h: int, w: int, scale_px: float, wear: float
) -> np.ndarray:
    """How much of the markings survives (0-255): blotches about `scale_px` across."""
    noise = _noise(rng, h, w, scale_px, 1.0)
    cv2.scaleAdd(fine.next(), 0.5, noise, dst=noise)
    # 510 * (noise + 1.6 - 3.2 wear), saturated to 0..255, in one pass.
    return cv2.addWeighted(noise, 510.0, noise, 0.0, (1.6 - 3.2 * wear) * 510.0, dtype=cv2.CV_8U)


def _noise(rng: np.random.Generator, h: int, w: int, scale_px: float, sigma: float) -> np.ndarray:
    """Smooth gaussian noise with features about `scale_px` pixels across."""
    scale = max(1.0, scale_px)
    sh, sw = max(2, math.ceil(h / scale) + 1), max(2, math.ceil(w / scale) + 1)
    small = rng.standard_normal((sh, sw), dtype=np.float32) * np.float32(sigma)
    if scale <= 1.0:
        return small[:h, :w]
    if scale >= 16.0:  # cubic to a quarter of the size, then linear: smooth and cheap
        small = cv2.resize(small, (w // 4, h // 4), interpolation=cv2.INTER_CUBIC)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _background(
    rng: np.random.Generator, fine: _FineViews, look: Appearance, h: int, w: int, s: float
) -> tuple[int, np.ndarray, tuple[float, float, float]]:
    """(tile size of darker joints or 0, additive variation, per-channel tint of the
    variation) of the background."""
    g = look.background_grain
    joints = 0
    tint = (1.0, 1.0, 1.0)
    if look.background == "table":  # wood: long streaks along x, fine grain
        streaks = rng.standard_normal((max(2, h // 3), 8), dtype=np.float32) * np.float32(g)
        var = cv2.resize(streaks, (w, h))
        cv2.scaleAdd(fine.next(), g * 0.4, var, dst=var)
    elif look.background == "floor":  # tiles with darker joints
        tile = max(4, round(s * (0.25 + 0.35 * rng.random())))
        shade = rng.normal(0.0, g, size=(h // tile + 2, w // tile + 2)).astype(np.float32)
        var = cv2.resize(shade, None, fx=tile, fy=tile, interpolation=cv2.INTER_NEAREST)[:h, :w]
        var = cv2.scaleAdd(fine.next(), g * 0.3, var)
        joints = tile
    elif look.background == "grass":
        tint = (0.6, 1.0, 0.7)
        var = _noise(rng, h, w, 0.3 * s, g)
        cv2.scaleAdd(fine.next(), g, var, dst=var)
    else:  # carpet: fine fibres and soft blotches
        var = _noise(rng, h, w, 0.5 * s, g * 0.6)
        cv2.scaleAdd(fine.next(), g, var, dst=var)
    return joints, var, tint


def _darken_joints(planes: list[np.ndarray], w_bg: np.ndarray, tile: int, bgr) -> None:
    """The background at 70 % on every `tile`-th row and column (the tile joints)."""
    for plane, level in zip(planes, bgr, strict=True):
        dark = np.float32(level * 0.3 / 255)
        for sl in ((slice(None, None, tile), slice(None)), (slice(None), slice(None, None, tile))):
            less = w_bg[sl] * dark
            plane[sl] = np.clip(plane[sl] - less, 0, 255).astype(np.uint8)


def warp_ground(
    texture: np.ndarray,
    to_image: np.ndarray,
    out: np.ndarray,
    top: int,
    border: tuple[int, int, int, int],
    bands: Sequence[tuple[int, int, int]] = (),
) -> None:
    """Warp a BGRA ground `texture` into rows `top:` of the BGRA image `out`.

    `to_image` maps texture pixels to image pixels. `bands` (from `coarse_bands`) are
    row ranges warped at 1/f of the resolution and scaled up with `cv2.resize`
    (bilinear); the other rows at full resolution.
    """
    h, w = out.shape[:2]
    if top >= h:
        return
    bands = [b for b in bands if b[0] >= top]
    first = bands[0][0] if bands else h
    if first > top:
        shift = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, -top], [0.0, 0.0, 1.0]])
        cv2.warpPerspective(
            texture,
            shift @ to_image,
            (w, first - top),
            dst=out[top:first],
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=border,
        )
    for start, end, f in bands:
        # Coarse pixel (i, j) sits at image pixel (f i + (f-1)/2, start + f j + (f-1)/2),
        # which is where cv2.resize puts it when scaling up by f.
        o = (f - 1) / 2
        to_coarse = np.array([[1 / f, 0.0, -o / f], [0.0, 1 / f, -(start + o) / f], [0, 0, 1]])
        size = (-(-w // f), (end - start) // f)
        small = cv2.warpPerspective(
            texture,
            to_coarse @ to_image,
            size,
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=border,
        )
        if size[0] * f == w:
            cv2.resize(small, (w, end - start), dst=out[start:end], interpolation=cv2.INTER_LINEAR)
        else:
            big = cv2.resize(small, (size[0] * f, end - start), interpolation=cv2.INTER_LINEAR)
            out[start:end] = big[:, :w]


def coarse_bands(to_texture: np.ndarray, w: int, h: int) -> list[tuple[int, int, int]]:
    """(first row, end row, factor) of the rows that may be warped coarsely, top to bottom.

    `to_texture` maps image pixels to texture pixels (for any pose: a pose moves the
    ground rigidly, so the magnification depends on the camera mount alone). A row
    qualifies for factor f when, at both ends of the row, one pixel right or one pixel
    down moves at most 1/f texel; the magnification only grows further down.
    """
    rows = np.arange(h, dtype=np.float64)
    step = np.zeros(h)
    for col in (0.0, w - 1.0):
        p = to_texture @ np.vstack((np.full_like(rows, col), rows, np.ones_like(rows)))
        bad = p[2] <= 0
        z = np.where(bad, 1.0, p[2])
        for k in (0, 1):  # d(texel)/d(col), d(texel)/d(row)
            dx = (to_texture[0, k] * z - p[0] * to_texture[2, k]) / (z * z)
            dy = (to_texture[1, k] * z - p[1] * to_texture[2, k]) / (z * z)
            np.maximum(step, np.hypot(dx, dy), out=step)
        step[bad] = np.inf
    bands: list[tuple[int, int, int]] = []
    end = h
    for f in COARSE_FACTORS:
        coarse = np.flatnonzero(step[:end] > 1.0 / f)
        first = int(coarse[-1]) + 1 if len(coarse) else 0
        first = end - ((end - first) // f) * f  # a whole number of coarse rows
        if end - first >= max(_MIN_COARSE_ROWS, 2 * f):
            bands.insert(0, (first, end, f))
            end = first
    return bands
