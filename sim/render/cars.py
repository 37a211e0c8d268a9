"""Other cars as shaded boxes: a dark chassis, the coloured body and a cabin.

The boxes are centred on the car's pose point (its axle centre) and sized from
`CarGeometry`. Faces turned towards the camera are filled in far-to-near order;
polygons crossing the near plane are clipped in camera space first.
"""

from __future__ import annotations

import math

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
        self.faces = faces
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
    world_verts: np.ndarray,
    cam_verts: np.ndarray,
    cam_pos: np.ndarray,
    heading: float,
    k_mat: np.ndarray,
    ids: np.ndarray | None,
    obj: int,
) -> tuple[np.ndarray, bool] | None:
    """Fill the car's faces that look at the camera; returns (pixel points drawn, clipped)."""
    ch, sh = math.cos(heading), math.sin(heading)
    fx, fy, cx, cy = k_mat[0, 0], k_mat[1, 1], k_mat[0, 2], k_mat[1, 2]
    drawn: list[np.ndarray] = []
    clipped = False
    for idx, normal, part in model.faces:
        wn = (ch * normal[0] - sh * normal[1], sh * normal[0] + ch * normal[1], normal[2])
        p0 = world_verts[idx[0]]
        if (
            wn[0] * (cam_pos[0] - p0[0])
            + wn[1] * (cam_pos[1] - p0[1])
            + wn[2] * (cam_pos[2] - p0[2])
            <= 0
        ):
            continue
        poly = cam_verts[list(idx)]
        if poly[:, 2].min() < NEAR_M:
            clipped = True
            poly = clip_near(poly)
            if len(poly) < 3:
                continue
        px = np.column_stack((fx * poly[:, 0] / poly[:, 2] + cx, fy * poly[:, 1] / poly[:, 2] + cy))
        pts = np.round(px * 16).astype(np.int32)
        cv2.fillConvexPoly(frame, pts, colours[(part, normal)], cv2.LINE_AA, 4)
        if ids is not None:
            cv2.fillConvexPoly(ids, pts, obj, cv2.LINE_8, 4)
        drawn.append(px)
    if not drawn:
        return None
    return np.concatenate(drawn), clipped
