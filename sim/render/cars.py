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
        # Homogeneous (x, y, z, 1): one product with a 3x4 matrix puts them in camera space.
        self.vertices_h = np.column_stack((self.vertices, np.ones(len(verts))))
        self.faces = faces
        self.face_corners = np.array([idx for idx, _, _ in faces])  # (faces, 4)
        # Every face is axis-aligned in the car frame: (axis, sign, plane coordinate); it
        # faces a point p when sign * (p[axis] - plane) > 0.
        self.face_planes = []
        for idx, normal, _ in faces:
            axis = next(a for a in range(3) if normal[a] != 0.0)
            self.face_planes.append((axis, normal[axis], float(self.vertices[idx[0], axis])))
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

    The faces turned towards the camera are found in the car frame; the 24 vertices are
    then put in camera space by one 3x4 product and projected together, and the faces
    filled one by one.
    """
    x, y, heading = pose
    ch, sh = math.cos(heading), math.sin(heading)
    px0, py0, pz0 = cam_pos
    # The faces turned towards the camera, tested in the car frame (axis-aligned planes).
    dx, dy = px0 - x, py0 - y
    lens = (ch * dx + sh * dy, ch * dy - sh * dx, pz0)
    facing = [
        f for f, (axis, sign, plane) in enumerate(model.face_planes)
        if sign * (lens[axis] - plane) > 0
    ]  # fmt: skip
    if not facing:
        return None
    # Car frame to camera space as one 3x4 matrix: rot @ (car-to-world(v) - cam_pos).
    (r00, r01, r02), (r10, r11, r12), (r20, r21, r22) = rot
    tx, ty, tz = x - px0, y - py0, -pz0
    to_cam = np.array(
        [[r00 * ch + r01 * sh, r01 * ch - r00 * sh, r02, r00 * tx + r01 * ty + r02 * tz],
         [r10 * ch + r11 * sh, r11 * ch - r10 * sh, r12, r10 * tx + r11 * ty + r12 * tz],
         [r20 * ch + r21 * sh, r21 * ch - r20 * sh, r22, r20 * tx + r21 * ty + r22 * tz]]
    )  # fmt: skip
    cam = model.vertices_h @ to_cam.T
    cz = cam[:, 2]
    focal = np.array([k_mat[0, 0], k_mat[1, 1]])
    centre = np.array([k_mat[0, 2], k_mat[1, 2]])
    in_front = bool(cz.min() >= NEAR_M)
    if in_front:
        pixels = cam[:, :2] / cz[:, None] * focal + centre
        fixed = np.rint(pixels * 16).astype(np.int32)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            pixels = cam[:, :2] / cz[:, None] * focal + centre
        fixed = None
    # Every face's corners in 1/16 px in one look-up; a face is then a view of it.
    quads = fixed[model.face_corners] if fixed is not None else None
    drawn: list[int] = []  # faces drawn whole
    cut: list[np.ndarray] = []  # pixels of faces clipped at the near plane
    for f in facing:
        _, normal, part = model.faces[f]
        if quads is not None:
            pts = quads[f]
            drawn.append(f)
        else:
            idx = model.face_corners[f]
            if cz[idx].min() >= NEAR_M:
                pts = np.rint(pixels[idx] * 16).astype(np.int32)
                drawn.append(f)
            else:
                poly = clip_near(cam[idx])
                if len(poly) < 3:
                    continue
                face_px = poly[:, :2] / poly[:, 2:3] * focal + centre
                pts = np.rint(face_px * 16).astype(np.int32)
                cut.append(face_px)
        cv2.fillConvexPoly(frame, pts, colours[(part, normal)], cv2.LINE_AA, 4)
        if ids is not None:
            cv2.fillConvexPoly(ids, pts, obj, cv2.LINE_8, 4)
    if not drawn and not cut:
        return None
    clipped = bool(cut)
    if drawn:
        cut.append(pixels[model.face_corners[drawn].ravel()])
    return np.concatenate(cut), clipped
