"""Other cars as shaded boxes: a dark chassis, the coloured body and a cabin.

The boxes are centred on the car's pose point (its axle centre) and sized from
`CarGeometry`. Faces turned towards the camera are filled in far-to-near order;
polygons crossing the near plane are clipped in camera space first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from city import CarGeometry

NEAR_M = 0.02
# (box, shade part): chassis, body, cabin; boxes as (x0, x1, y0, y1, z0, z1) fractions
# of length, width and height.
_BOXES = (
    ((-0.42, 0.42, -0.44, 0.44, 0.0, 0.28), "chassis"),
    ((-0.5, 0.5, -0.46, 0.46, 0.2, 0.62), "body"),
    ((-0.38, 0.16, -0.4, 0.4, 0.62, 1.0), "cabin"),
)
# Faces as corner indices of a box's 8 vertices (bit 0: x, bit 1: y, bit 2: z), with normals.
_FACES = (
    ((1, 3, 7, 5), (1.0, 0.0, 0.0)),  # front
    ((0, 4, 6, 2), (-1.0, 0.0, 0.0)),  # back
    ((2, 6, 7, 3), (0.0, 1.0, 0.0)),  # left
    ((0, 1, 5, 4), (0.0, -1.0, 0.0)),  # right
    ((4, 5, 7, 6), (0.0, 0.0, 1.0)),  # top
)


class CarModel:
    """Vertices (car frame) of one car's boxes and their faces, from its geometry."""

    def __init__(self, geometry: CarGeometry) -> None:
        dims = np.array([geometry.length_m, geometry.width_m, geometry.height_m])
        verts, faces = [], []
        for k, (box, part) in enumerate(_BOXES):
            lo = np.array(box[0::2]) * dims
            hi = np.array(box[1::2]) * dims
            for i in range(8):
                verts.append([hi[0] if i & 1 else lo[0], hi[1] if i & 2 else lo[1],
                              hi[2] if i & 4 else lo[2]])  # fmt: skip
            for idx, normal in _FACES:
                faces.append((tuple(8 * k + j for j in idx), normal, part))
        self.vertices = np.asarray(verts)
        self.vertex_list = [tuple(float(c) for c in v) for v in verts]
        self.faces = faces
        # Per face: its corner indices, and its normal and first corner for the facing test.
        self.face_index = [np.array(idx) for idx, _, _ in faces]
        self.face_normals = np.array([normal for _, normal, _ in faces])
        self.face_first = np.array([idx[0] for idx, _, _ in faces])
        self.radius = 0.5 * math.hypot(geometry.length_m, geometry.width_m)
        self.height = geometry.height_m


def face_colours(
    body_bgr: tuple[int, int, int], light_azimuth_deg: float
) -> dict[tuple[str, tuple[float, float, float]], tuple[int, int, int]]:
    """Shaded colour of each (part, car-frame normal): lit top, sides by a fixed sun azimuth.

    The sun is fixed in the car frame here, a cheap stand-in that still varies per look.
    """
    az = math.radians(light_azimuth_deg)
    sun = np.array([math.cos(az) * 0.6, math.sin(az) * 0.6, 0.8])
    out = {}
    for _, normal, part in _faces_once():
        shade = 0.45 + 0.55 * max(0.0, float(np.dot(normal, sun)))
        if part == "chassis":
            base = (35, 35, 38)
        elif part == "cabin":
            base = tuple(int(0.35 * c + 40) for c in body_bgr)  # tinted windows
        else:
            base = body_bgr
        out[(part, normal)] = tuple(int(min(255, c * shade)) for c in base)
    return out


def _faces_once():
    for _, part in _BOXES:
        for _, normal in _FACES:
            yield None, normal, part


def clip_near(poly: np.ndarray, near: float = NEAR_M) -> np.ndarray:
    """Sutherland-Hodgman clip of a camera-space polygon (N, 3) to depth >= near."""
    out = []
    n = len(poly)
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        ina, inb = a[2] >= near, b[2] >= near
        if ina:
            out.append(a)
        if ina != inb:
            t = (near - a[2]) / (b[2] - a[2])
            out.append(a + t * (b - a))
    return np.asarray(out) if out else np.zeros((0, 3))


def draw_car(
    frame: np.ndarray,
    model: CarModel,
    colours: dict,
    pose: tuple[float, float, float],
    cam_pos: tuple[float, float, float],
    rot: Sequence[Sequence[float]],
    k_mat: np.ndarray,
    ids: np.ndarray | None,
    obj: int,
) -> tuple[np.ndarray, bool] | None:
    """Fill the faces of the car at `pose` (x, y, heading) that look at the camera at
    `cam_pos` with world-to-camera rotation `rot`; returns (pixel points drawn, clipped).

    The 24 vertices are transformed and projected together, in numpy; only the faces
    turned towards the camera are then filled, one by one.
    """
    x, y, heading = pose
    ch, sh = math.cos(heading), math.sin(heading)
    fx, fy, cx, cy = k_mat[0, 0], k_mat[1, 1], k_mat[0, 2], k_mat[1, 2]
    (r00, r01, r02), (r10, r11, r12), (r20, r21, r22) = rot
    px0, py0, pz0 = cam_pos
    # All 24 vertices at once (the same arithmetic, element by element, as one at a time).
    lx, ly, lz = model.vertices[:, 0], model.vertices[:, 1], model.vertices[:, 2]
    wx, wy = x + ch * lx - sh * ly, y + sh * lx + ch * ly
    dx, dy, dz = wx - px0, wy - py0, lz - pz0
    cu = r00 * dx + r01 * dy + r02 * dz
    cv = r10 * dx + r11 * dy + r12 * dz
    cz = r20 * dx + r21 * dy + r22 * dz
    # Faces turned towards the camera.
    n = model.face_normals
    first = model.face_first
    facing = (ch * n[:, 0] - sh * n[:, 1]) * (px0 - wx[first]) + (sh * n[:, 0] + ch * n[:, 1]) * (
        py0 - wy[first]
    ) + n[:, 2] * (pz0 - lz[first]) > 0
    if not facing.any():
        return None
    in_front = bool(cz.min() >= NEAR_M)
    with np.errstate(divide="ignore", invalid="ignore"):
        pu, pv = fx * cu / cz + cx, fy * cv / cz + cy
    pixels = np.stack((pu, pv), axis=1)
    fixed = np.rint(pixels * 16).astype(np.int32) if in_front else None
    cam = np.stack((cu, cv, cz), axis=1)
    drawn: list[np.ndarray] = []
    clipped = False
    for f in np.flatnonzero(facing).tolist():
        _, normal, part = model.faces[f]
        idx = model.face_index[f]
        if fixed is not None or cz[idx].min() >= NEAR_M:
            face_px = pixels[idx]
            pts = fixed[idx] if fixed is not None else np.rint(face_px * 16).astype(np.int32)
        else:
            clipped = True
            poly = clip_near(cam[idx])
            if len(poly) < 3:
                continue
            face_px = np.stack(
                (fx * poly[:, 0] / poly[:, 2] + cx, fy * poly[:, 1] / poly[:, 2] + cy), axis=1
            )
            pts = np.rint(face_px * 16).astype(np.int32)
        cv2.fillConvexPoly(frame, pts, colours[(part, normal)], cv2.LINE_AA, 4)
        if ids is not None:
            cv2.fillConvexPoly(ids, pts, obj, cv2.LINE_8, 4)
        drawn.append(face_px)
    if not drawn:
        return None
    return np.concatenate(drawn), clipped
