"""Domain randomisation: one `Appearance` is one look of the world; `FrameEffects` varies frames.

Pixelopolis learnt that a lane model trained on one clean look fails on the table, so
every colour, texture, light and camera-mount parameter the renderer uses lives here.
`Appearance()` is the clean default look; `Appearance.randomised(rng, strength)` blends
from it towards fully random looks. Textures derive from `seed`, per-frame effects
only from the rng handed to `FrameEffects.apply`, so renders are reproducible.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, fields

import cv2
import numpy as np

BGR = tuple[int, int, int]
BACKGROUNDS = ("table", "floor", "grass", "carpet")
BACKDROPS = ("room", "outdoor", "plain")
_NOISE_MARGIN = 96  # the noise tile is this much larger than a frame
_NOISE_BANK = 16  # unit noise tiles kept per frame size; a look scales one of them


@dataclass(frozen=True)
class Appearance:
    """Everything randomisable about how the city looks; one instance is one episode's look."""

    seed: int = 0  # textures, clutter and the noise tile derive from it
    # road surface and markings
    road_bgr: BGR = (58, 58, 60)
    road_grain: float = 5.0  # std of the asphalt texture, grey levels
    marking_bgr: BGR = (235, 235, 235)
    centre_line_bgr: BGR = (235, 235, 235)
    marking_width_m: float = 0.025
    marking_wear: float = 0.0  # 0 crisp, 1 heavily worn (patches missing)
    kerb_bgr: BGR = (175, 175, 178)
    kerb_width_m: float = 0.03
    # what the city stands on, and beyond its texture
    background: str = "table"
    background_bgr: BGR = (70, 115, 160)
    background_grain: float = 8.0
    outer_bgr: BGR = (95, 95, 100)
    # what is seen above the ground
    backdrop: str = "room"
    backdrop_bgr: BGR = (205, 210, 215)
    backdrop_clutter: int = 14
    draw_distance_m: float = 6.0
    # light and sensor
    exposure: float = 1.0
    contrast: float = 1.0
    gamma: float = 1.0
    color_gains: tuple[float, float, float] = (1.0, 1.0, 1.0)  # B, G, R
    flicker: float = 0.0  # per-frame exposure std (relative)
    noise_sigma: float = 0.0
    blur_probability: float = 0.0
    blur_kernels: tuple[int, ...] = (3, 5)
    motion_blur_probability: float = 0.0
    jpeg_quality_range: tuple[int, int] = (85, 85)
    sign_fade: float = 0.0  # 0 new, 1 washed out
    light_azimuth_deg: float = 135.0  # shading of car bodies
    # camera mount: an episode offset plus per-frame uniform jitter of +- the range
    mount_height_m: float = 0.0
    mount_pitch_deg: float = 0.0
    mount_roll_deg: float = 0.0
    jitter_height_m: float = 0.0
    jitter_pitch_deg: float = 0.0
    jitter_roll_deg: float = 0.0

    def __post_init__(self) -> None:
        for name in ("road_bgr", "marking_bgr", "centre_line_bgr", "kerb_bgr", "background_bgr",
                     "outer_bgr", "backdrop_bgr"):  # fmt: skip
            value = getattr(self, name)
            if len(value) != 3 or any(not 0 <= int(c) <= 255 for c in value):
                raise ValueError(f"{name}: must be three values 0-255, got {value}")
        if self.background not in BACKGROUNDS:
            raise ValueError(f"background: must be one of {BACKGROUNDS}, got {self.background!r}")
        if self.backdrop not in BACKDROPS:
            raise ValueError(f"backdrop: must be one of {BACKDROPS}, got {self.backdrop!r}")
        _check_range("road_grain", self.road_grain, 0, 60)
        _check_range("background_grain", self.background_grain, 0, 60)
        _check_range("marking_width_m", self.marking_width_m, 0.005, 0.1)
        _check_range("marking_wear", self.marking_wear, 0, 1)
        _check_range("kerb_width_m", self.kerb_width_m, 0, 0.2)
        _check_range("backdrop_clutter", self.backdrop_clutter, 0, 200)
        _check_range("draw_distance_m", self.draw_distance_m, 0.5, 100)
        _check_range("exposure", self.exposure, 0.1, 4)
        _check_range("contrast", self.contrast, 0.1, 4)
        _check_range("gamma", self.gamma, 0.2, 5)
        if len(self.color_gains) != 3 or any(not 0.2 <= g <= 5 for g in self.color_gains):
            raise ValueError(f"color_gains: must be three gains 0.2-5, got {self.color_gains}")
        _check_range("flicker", self.flicker, 0, 1)
        _check_range("noise_sigma", self.noise_sigma, 0, 60)
        _check_range("blur_probability", self.blur_probability, 0, 1)
        _check_range("motion_blur_probability", self.motion_blur_probability, 0, 1)
        if not self.blur_kernels or any(k < 3 or k % 2 == 0 for k in self.blur_kernels):
            raise ValueError(f"blur_kernels: must be odd sizes >= 3, got {self.blur_kernels}")
        lo, hi = self.jpeg_quality_range
        if not 1 <= lo <= hi <= 100:
            raise ValueError(f"jpeg_quality_range: must be 1 <= low <= high <= 100, got {lo, hi}")
        _check_range("sign_fade", self.sign_fade, 0, 1)
        _check_range("mount_height_m", self.mount_height_m, -0.1, 0.1)
        _check_range("mount_pitch_deg", self.mount_pitch_deg, -30, 30)
        _check_range("mount_roll_deg", self.mount_roll_deg, -20, 20)
        _check_range("jitter_height_m", self.jitter_height_m, 0, 0.1)
        _check_range("jitter_pitch_deg", self.jitter_pitch_deg, 0, 30)
        _check_range("jitter_roll_deg", self.jitter_roll_deg, 0, 20)

    @staticmethod
    def randomised(rng: np.random.Generator, strength: float = 1.0) -> Appearance:
        """A random look, `strength` of the way from the default (0) to fully random (1).

        Always draws the same number of values from `rng`, whatever `strength`.
        """
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"strength: must be 0-1, got {strength}")
        d = Appearance()
        s = strength
        u = rng.random(64)  # one fixed-size draw keeps the rng stream independent of s
        k = iter(range(64))

        def mix(default: float, low: float, high: float) -> float:
            return default + s * (low + (high - low) * float(u[next(k)]) - default)

        def colour(default: BGR, spread: float) -> BGR:
            return tuple(level(mix(c, c - spread, c + spread)) for c in default)  # type: ignore[return-value]

        def pick(default: str, options: tuple[str, ...]) -> str:
            draw, which = float(u[next(k)]), float(u[next(k)])
            return options[int(which * len(options))] if draw < s else default

        def level(value: float) -> int:
            return int(round(min(255.0, max(0.0, value))))

        grey = mix(58.0, 30.0, 105.0)
        road = tuple(level(grey + mix(0.0, -6.0, 6.0)) for _ in range(3))
        white = mix(235.0, 175.0, 247.0)
        seed = int(rng.integers(0, 2**31 - 1))
        values = {
            "seed": seed if s > 0 else 0,
            "road_bgr": road,
            "road_grain": mix(d.road_grain, 1.0, 14.0),
            "marking_bgr": tuple(level(white + mix(0.0, -8.0, 8.0)) for _ in range(3)),
            "centre_line_bgr": (
                (40, 190, 230) if float(u[next(k)]) < 0.3 * s else d.centre_line_bgr
            ),
            "marking_width_m": mix(d.marking_width_m, 0.018, 0.035),
            "marking_wear": mix(0.0, 0.0, 0.6),
            "kerb_bgr": colour(d.kerb_bgr, 70.0),
            "kerb_width_m": mix(d.kerb_width_m, 0.0, 0.06),
            "background": pick(d.background, BACKGROUNDS),
            "background_bgr": colour(d.background_bgr, 90.0),
            "background_grain": mix(d.background_grain, 2.0, 20.0),
            "outer_bgr": colour(d.outer_bgr, 80.0),
            "backdrop": pick(d.backdrop, BACKDROPS),
            "backdrop_bgr": colour(d.backdrop_bgr, 100.0),
            "backdrop_clutter": int(round(mix(d.backdrop_clutter, 0.0, 40.0))),
            "draw_distance_m": mix(d.draw_distance_m, 3.0, 9.0),
            "exposure": math.exp(mix(0.0, -0.5, 0.45)),
            "contrast": mix(1.0, 0.65, 1.35),
            "gamma": math.exp(mix(0.0, -0.35, 0.35)),
            "color_gains": tuple(mix(1.0, 0.8, 1.2) for _ in range(3)),
            "flicker": mix(0.0, 0.0, 0.08),
            "noise_sigma": mix(0.0, 1.0, 9.0),
            "blur_probability": mix(0.0, 0.0, 0.35),
            "motion_blur_probability": mix(0.0, 0.0, 0.15),
            "jpeg_quality_range": (int(round(mix(85.0, 55.0, 85.0))), 85),
            "sign_fade": mix(0.0, 0.0, 0.5),
            "light_azimuth_deg": mix(d.light_azimuth_deg, 0.0, 360.0),
            "mount_height_m": mix(0.0, -0.015, 0.015),
            "mount_pitch_deg": mix(0.0, -4.0, 4.0),
            "mount_roll_deg": mix(0.0, -2.0, 2.0),
            "jitter_height_m": mix(0.0, 0.0, 0.004),
            "jitter_pitch_deg": mix(0.0, 0.0, 1.5),
            "jitter_roll_deg": mix(0.0, 0.0, 1.0),
        }
        if s == 0.0:
            return d
        known = {f.name for f in fields(Appearance)}
        return Appearance(**{name: v for name, v in values.items() if name in known})


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name}: must be {low}-{high}, got {value}")


def light_lut(appearance: Appearance) -> np.ndarray | None:
    """The 256x1x3 table for exposure, gamma, contrast and colour cast; None if identity."""
    a = appearance
    gains = np.asarray(a.color_gains, dtype=np.float32) * a.exposure
    if a.contrast == 1.0 and a.gamma == 1.0 and np.all(gains == 1.0):
        return None
    x = np.arange(256, dtype=np.float32)[:, None] / 255.0
    y = np.power(x, a.gamma) * gains[None, :]
    y = (y - 0.5) * a.contrast + 0.5
    return np.clip(y * 255.0 + 0.5, 0, 255).astype(np.uint8).reshape(256, 1, 3)


class FrameEffects:
    """Cheap per-frame randomisation drawn only from an rng: light flicker (`to_bgr`), then
    blur or motion blur and sensor noise (`apply`, in place).

    The look's steady light (`light_lut`) is not applied here: the renderer bakes it into
    its textures and colours once per appearance, which costs nothing per frame. The
    noise is a random crop of a tile made once from the appearance's seed, split into
    positive and negative parts so that two saturating adds apply it.
    """

    def __init__(self, appearance: Appearance, *, width: int, height: int) -> None:
        self.appearance = appearance
        self._noise_pos: np.ndarray | None = None
        self._noise_neg: np.ndarray | None = None
        if appearance.noise_sigma > 0:
            unit = _unit_noise(appearance.seed % _NOISE_BANK, width, height)
            noise = cv2.multiply(unit, float(appearance.noise_sigma))
            self._noise_pos = cv2.convertScaleAbs(cv2.max(noise, 0.0))
            self._noise_neg = cv2.convertScaleAbs(cv2.min(noise, 0.0))

    def to_bgr(self, canvas: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        """The BGR image of a BGRA `canvas`, with a random light flicker if the look has one.

        The flicker is a diagonal 3x3 `cv2.transform` (a fast path; a 3x4 one from BGRA
        is twenty times slower).
        """
        image = cv2.cvtColor(canvas, cv2.COLOR_BGRA2BGR)
        if rng is None or self.appearance.flicker <= 0:
            return image
        u = rng.random(3)
        flicker = self.appearance.flicker
        gain = math.exp(flicker * (2.0 * u[0] - 1.0) * 1.7)
        tint = 1.0 + 0.3 * flicker * (2.0 * u[1:] - 1.0)
        matrix = np.diag([gain * tint[0], gain, gain * tint[1]]).astype(np.float32)
        return cv2.transform(image, matrix, dst=image)

    def apply(self, image: np.ndarray, rng: np.random.Generator | None) -> None:
        """Blur and sensor noise on a BGR `image`, in place, drawn from `rng`; none without."""
        if rng is None:
            return
        a = self.appearance
        u = rng.random(4)
        if u[1] < a.blur_probability:
            k = a.blur_kernels[int(u[2] * len(a.blur_kernels))]
            cv2.GaussianBlur(image, (k, k), 0, dst=image)
        elif u[1] < a.blur_probability + a.motion_blur_probability:
            kernel = _motion_kernel(int(u[2] * 4), 3 + 2 * int(u[3] * 2))
            cv2.filter2D(image, -1, kernel, dst=image)
        if self._noise_pos is not None and self._noise_neg is not None:
            h, w = image.shape[:2]
            y = int(rng.integers(0, self._noise_pos.shape[0] - h + 1))
            x = int(rng.integers(0, self._noise_pos.shape[1] - w + 1))
            cv2.add(image, self._noise_pos[y : y + h, x : x + w], dst=image)
            cv2.subtract(image, self._noise_neg[y : y + h, x : x + w], dst=image)


def _unit_noise(which: int, width: int, height: int) -> np.ndarray:
    """A unit-sigma BGR noise tile, the frame plus a margin; one of a small fixed bank.

    The bank's tiles are views at `which`'s offset into one field twice the tile's size,
    drawn once per frame size: a short run pays for one draw, not one per tile.
    Mostly luminance noise with a little chroma, as a phone sensor shows.
    """
    tile_w, tile_h = width + _NOISE_MARGIN, height + _NOISE_MARGIN
    field = _noise_field(tile_w, tile_h)
    side = math.isqrt(_NOISE_BANK)
    row, col = divmod(which % _NOISE_BANK, side)
    dy, dx = row * tile_h // side, col * tile_w // side
    return field[dy : dy + tile_h, dx : dx + tile_w]


@functools.lru_cache(maxsize=4)
def _noise_field(tile_w: int, tile_h: int) -> np.ndarray:
    rng = np.random.default_rng([tile_w, tile_h, 7])
    shape = (2 * tile_h, 2 * tile_w)
    noise = rng.standard_normal((*shape, 1), dtype=np.float32)
    chroma = rng.standard_normal((*shape, 3), dtype=np.float32) * np.float32(0.35)
    out = noise + chroma
    out.flags.writeable = False
    return out


_MOTION_KERNELS: dict[tuple[int, int], np.ndarray] = {}


def _motion_kernel(direction: int, size: int) -> np.ndarray:
    """A line kernel: horizontal, vertical or one of the diagonals."""
    key = (direction, size)
    if key not in _MOTION_KERNELS:
        kernel = np.zeros((size, size), np.float32)
        if direction == 0:
            kernel[size // 2, :] = 1
        elif direction == 1:
            kernel[:, size // 2] = 1
        elif direction == 2:
            np.fill_diagonal(kernel, 1)
        else:
            np.fill_diagonal(np.fliplr(kernel), 1)
        _MOTION_KERNELS[key] = kernel / kernel.sum()
    return _MOTION_KERNELS[key]
