"""Sign boards: face images painted once, then warped per frame onto their projected quads."""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np

from city import SignType, get_sign

FACE_SIZES = (16, 32, 64, 128)  # mip levels; a board uses the smallest not below its size
BACK_BGR = (120, 120, 125)
POST_BGR = (110, 110, 115)


def face_image(
    sign: SignType, size_px: int, *, fade: float = 0.0, back: bool = False
) -> np.ndarray:
    """A BGRA face: the coloured shape with a white rim and white symbol; transparent outside.

    `back` paints the grey back of the board (same outline, no colour). `fade` washes
    the colours out towards a pale grey.
    """
    if size_px < 4:
        raise ValueError(f"size_px: must be at least 4, got {size_px}")
    face = _painted(sign, size_px, back).copy()
    if fade > 0 and not back:
        bgr = np.ascontiguousarray(face[:, :, :3])
        grey = np.full_like(bgr, 200)
        face[:, :, :3] = cv2.addWeighted(bgr, 1.0 - 0.7 * fade, grey, 0.7 * fade, 0.0)
    return face


@functools.lru_cache(maxsize=512)
def _painted(sign: SignType, size_px: int, back: bool) -> np.ndarray:
    """The unfaded face, painted large and shrunk so edges are smooth at every size."""
    n = max(256, size_px * 2)
    outline = _shape(sign.shape, n)
    alpha = np.zeros((n, n), np.uint8)
    cv2.fillPoly(alpha, [outline], 255, cv2.LINE_AA)
    bgr = np.zeros((n, n, 3), np.uint8)
    if back:
        bgr[:] = BACK_BGR
    else:
        bgr[:] = (250, 250, 250)
        cv2.fillPoly(bgr, [_shrink(outline, n, 0.86)], sign.color_bgr, cv2.LINE_AA)
        cv2.polylines(bgr, [outline], True, (40, 40, 40), max(1, n // 40), cv2.LINE_AA)
        _symbol(bgr, sign.symbol, n, sign.shape)
    face = cv2.merge((*cv2.split(bgr), alpha))
    face = cv2.resize(face, (size_px, size_px), interpolation=cv2.INTER_AREA)
    face.flags.writeable = False
    return face


def _shape(shape: str, n: int) -> np.ndarray:
    """Outline of a shape filling an n x n square (triangles point up)."""
    c = (n - 1) / 2
    r = n / 2 - 0.5
    if shape == "circle":
        ang = np.linspace(0, math.tau, 64, endpoint=False)
    elif shape == "triangle":
        return np.array([[c, 0], [n - 1, n - 1], [0, n - 1]], np.int32)
    elif shape == "square":
        return np.array([[0, 0], [n - 1, 0], [n - 1, n - 1], [0, n - 1]], np.int32)
    elif shape == "diamond":
        ang = np.arange(4) * math.pi / 2
    elif shape == "octagon":
        ang = np.arange(8) * math.pi / 4 + math.pi / 8
        r = r / math.cos(math.pi / 8)
        pts = np.column_stack((c + r * np.cos(ang), c + r * np.sin(ang)))
        return np.round(np.clip(pts, 0, n - 1)).astype(np.int32)
    else:
        raise ValueError(f"unknown sign shape {shape!r}")
    return np.round(np.column_stack((c + r * np.cos(ang), c + r * np.sin(ang)))).astype(np.int32)


def _shrink(outline: np.ndarray, n: int, factor: float) -> np.ndarray:
    centre = outline.mean(axis=0) if len(outline) == 3 else np.array([(n - 1) / 2] * 2)
    return np.round(centre + (outline - centre) * factor).astype(np.int32)


def _symbol(bgr: np.ndarray, symbol: str, n: int, shape: str) -> None:
    font = cv2.FONT_HERSHEY_DUPLEX
    target = n * (0.38 if shape == "triangle" else 0.5)
    (tw, th), _ = cv2.getTextSize(symbol, font, 1.0, 1)
    scale = target / th
    thick = max(1, round(n / 22))
    (tw, th), _ = cv2.getTextSize(symbol, font, scale, thick)
    cy = n * (0.68 if shape == "triangle" else 0.5)
    org = (round((n - tw) / 2), round(cy + th / 2))
    cv2.putText(bgr, symbol, org, font, scale, (255, 255, 255), thick, cv2.LINE_AA)


@functools.cache
def _corners(size: int) -> np.ndarray:
    """The outer corners of a size x size image, pixel centres on integers."""
    e = size - 0.5
    return np.array([[-0.5, -0.5], [e, -0.5], [e, e], [-0.5, e]], np.float32)


@functools.cache
def outline_weights(shape: str) -> np.ndarray:
    """(K, 4) bilinear weights of a face's outline on its TL, TR, BR, BL corners.

    A small board is drawn as this outline filled (weights @ quad gives its points):
    below a few pixels the bilinear map is as good as the perspective one.
    """
    u, v = _outline_unit(shape).T
    weights = np.column_stack(((1 - u) * (1 - v), u * (1 - v), u * v, (1 - u) * v))
    weights.flags.writeable = False
    return weights


def _outline_unit(shape: str) -> np.ndarray:
    """(K, 2): a face's outline, at most 16 points, in unit-square coordinates (u, v)."""
    n = 256
    outline = _shape(shape, n).astype(np.float64)
    if len(outline) > 16:
        outline = outline[:: len(outline) // 16]
    return (outline + 0.5) / n


@functools.cache
def outline_uv(shape: str) -> np.ndarray:
    """(K, 1, 2) float32: `_outline_unit` as `cv2.perspectiveTransform` takes it."""
    uv = _outline_unit(shape).astype(np.float32).reshape(-1, 1, 2)
    uv.flags.writeable = False
    return uv


_UNIT_SQUARE = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]], np.float32)


def draw_board_back(
    frame: np.ndarray,
    colour: tuple[int, int, int, int],
    shape: str,
    quad: np.ndarray,
    origin: tuple[int, int],
) -> None:
    """The plain grey back of a board: its outline mapped onto `quad` (TL, TR, BR, BL as
    seen from the front; float32 pixels relative to `origin`) and filled, anti-aliased.

    Nearly the same pixels as warping a uniform back image, in fewer OpenCV calls.
    """
    corners = (quad + np.asarray(origin, np.float32)) * np.float32(16)  # 1/16 px
    m = cv2.getPerspectiveTransform(_UNIT_SQUARE, corners)
    pts = cv2.perspectiveTransform(outline_uv(shape), m)
    cv2.fillConvexPoly(frame, np.rint(pts).astype(np.int32), colour, cv2.LINE_AA, 4)


class FaceBank:
    """Face and back images of every sign type at each mip size, for one appearance.

    `lut` (the look's light table) is baked into the colours.
    """

    def __init__(self, fade: float, lut: np.ndarray | None = None) -> None:
        self.fade = fade
        self._lut = lut
        self._faces: dict[tuple[str, int, bool], np.ndarray] = {}
        self._flat: dict[tuple[str, int, bool], tuple[tuple[int, int, int, int], np.ndarray]] = {}

    def flat(self, name: str, back: bool = False) -> tuple[tuple[int, int, int, int], np.ndarray]:
        """(mean BGRA colour of the face over its shape, outline weights) for tiny boards."""
        key = (name, 0, back)
        flat = self._flat.get(key)
        if flat is None:
            face = self.get(name, FACE_SIZES[0], back).astype(np.float64)
            alpha = face[:, :, 3:] / 255.0
            mean = (face[:, :, :3] * alpha).sum(axis=(0, 1)) / max(1e-9, float(alpha.sum()))
            colour = (*(int(round(c)) for c in mean), 255)
            flat = (colour, outline_weights(get_sign(name).shape))  # type: ignore[assignment]
            self._flat[key] = flat  # type: ignore[assignment]
        return flat  # type: ignore[return-value]

    def get(self, name: str, size_px: float, back: bool = False) -> np.ndarray:
        level = next((s for s in FACE_SIZES if s >= size_px), FACE_SIZES[-1])
        key = (name, level, back)
        face = self._faces.get(key)
        if face is None:
            face = face_image(get_sign(name), level, fade=self.fade, back=back)
            if self._lut is not None:
                face[:, :, :3] = cv2.LUT(np.ascontiguousarray(face[:, :, :3]), self._lut)
            self._faces[key] = face
        return face


def draw_quad_image(
    frame: np.ndarray,
    image: np.ndarray,
    quad: np.ndarray,
    bbox: tuple[int, int, int, int],
    ids: np.ndarray | None,
    obj: int,
) -> None:
    """Warp a BGRA `image` onto `quad` (TL, TR, BR, BL; float32 pixels relative to the
    bbox's corner) of a BGRA `frame`, alpha-blended.

    Only `bbox` (x0, y0, x1, y1 exclusive, inside the frame) is warped. Marks the pixels
    the image covers with `obj` in `ids`.
    """
    x0, y0, x1, y1 = bbox
    m = cv2.getPerspectiveTransform(_corners(image.shape[0]), quad)
    warped = cv2.warpPerspective(image, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)
    alpha = warped[:, :, 3].astype(np.float32) * np.float32(1 / 255)
    roi = frame[y0:y1, x0:x1]
    cv2.blendLinear(warped, roi, alpha, 1.0 - alpha, dst=roi)
    if ids is not None:
        ids[y0:y1, x0:x1][warped[:, :, 3] > 127] = obj


def draw_small_board(
    frame: np.ndarray,
    colour: tuple[int, int, int, int],
    weights: np.ndarray,
    quad: np.ndarray,
    ids: np.ndarray | None,
    obj: int,
) -> None:
    """A board a few pixels across: its outline on `quad` (TL, TR, BR, BL; frame pixels)
    filled with the face's mean colour, anti-aliased; marks it with `obj` in `ids`."""
    pts = np.round(weights @ quad * 16).astype(np.int32)
    cv2.fillConvexPoly(frame, pts, colour, cv2.LINE_AA, 4)
    if ids is not None:
        cv2.fillConvexPoly(ids, pts, obj, cv2.LINE_8, 4)
