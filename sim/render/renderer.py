"""`Renderer`: what a car's camera sees from a pose, fast enough for dataset generation.

Per frame: a slice of the backdrop panorama, a perspective warp of the city's ground
texture (the near road at reduced resolution, scaled up), then signs and cars in
far-to-near order (each sign a small warp of its face into its bounding box, each car a
few filled polygons), then the look's per-frame effects. Ground and backdrop are
4-channel inside (OpenCV warps BGRA much faster than BGR) and the frame becomes BGR
once at the end.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import cv2
import numpy as np

from city import CarGeometry, City, get_sign
from sim.appearance import Appearance, FrameEffects, light_lut
from sim.camera import CameraConfig, PinholeCamera
from sim.pose import Pose
from sim.render.backdrop import Backdrop
from sim.render.cars import CarModel, draw_car, face_colours
from sim.render.ground import (
    DEFAULT_PX_PER_M,
    GroundPainter,
    GroundTexture,
    coarse_bands,
    ground_frame,
    warp_ground,
)
from sim.render.layout import BOARD_SIZE_M, POST_HEIGHT_M, RoadLayout
from sim.render.signs import (
    POST_BGR,
    FaceBank,
    draw_board_back,
    draw_quad_image,
    draw_small_board,
    face_image,
)
from sim.render.types import CarBody, Frame, ObjectBox

log = logging.getLogger(__name__)

MIN_SIGN_PX = 3.0  # boards smaller than this are not drawn
SMALL_SIGN_PX = 8.0  # boards smaller than this are drawn as a flat shape (signs.py)
SIGN_NEAR_M = 0.05
POST_WIDTH_M = 0.008
OCCLUDED_SHARE = 0.3  # covered share above which an object counts as occluded
HIDDEN_SHARE = 0.6  # covered share above which it is difficult
DROP_SHARE = 0.92  # covered share above which it is not annotated at all
DIFFICULT_HEIGHT_PX = 10
DEFAULT_CAMERA = CameraConfig()
DEFAULT_LOOK = Appearance()
DEFAULT_GEOMETRY = CarGeometry()


class Renderer:
    """Renders camera frames and map views of one city; `set_appearance` changes the look."""

    def __init__(
        self,
        city: City,
        *,
        camera: CameraConfig = DEFAULT_CAMERA,
        appearance: Appearance = DEFAULT_LOOK,
        geometry: CarGeometry = DEFAULT_GEOMETRY,
        ground_px_per_m: float = DEFAULT_PX_PER_M,
    ) -> None:
        self.city = city
        self.camera = PinholeCamera(camera)
        self.geometry = geometry
        self.layout = RoadLayout(city)
        self._ground_frame = ground_frame(city.bounds(), ground_px_per_m)
        self._painter = GroundPainter(self.layout, self._ground_frame)
        self._car_model = CarModel(geometry)
        signs = self.layout.signs
        self._sign_names = [s.sign for s in signs]
        self._sign_nodes = [s.node for s in signs]
        self._sign_shapes = [get_sign(s.sign).shape for s in signs]
        self._sign_foot = np.array([[s.x, s.y] for s in signs]).reshape(-1, 2)
        self._sign_facing = np.array([[math.cos(s.facing), math.sin(s.facing)] for s in signs])
        self._sign_facing = self._sign_facing.reshape(-1, 2)
        centre_z = POST_HEIGHT_M + BOARD_SIZE_M / 2
        self._sign_points_by_board = _board_corners(self._sign_foot, self._sign_facing, centre_z)
        # For the per-frame culling and projection (see _visible_signs).
        self._sign_list = [
            (float(x), float(y), float(nx), float(ny))
            for (x, y), (nx, ny) in zip(self._sign_foot, self._sign_facing, strict=True)
        ]
        self._sign_x = np.ascontiguousarray(self._sign_foot[:, 0])
        self._sign_y = np.ascontiguousarray(self._sign_foot[:, 1])
        self.set_appearance(appearance)

    @property
    def appearance(self) -> Appearance:
        return self._look

    def set_appearance(self, appearance: Appearance) -> None:
        """Repaint the ground, backdrop and sign faces for a new look (tens of ms)."""
        self._look = appearance
        # The look's steady light is baked into every texture and colour here, once.
        lut = light_lut(appearance)
        self._lut = lut
        frame = self._ground_frame
        planes = self._painter.paint_planes(appearance)
        self._ground_planes = planes  # unlit, for the map view
        self._ground_map: GroundTexture | None = None
        if lut is not None:  # one plane at a time: OpenCV's fast path
            planes = [cv2.LUT(p, np.ascontiguousarray(lut[:, :, c])) for c, p in enumerate(planes)]
        self._ground_bgra = cv2.merge([*planes, self._opaque()])
        self._pixel_to_world = GroundTexture(
            planes[0], frame.px_per_m, frame.x0, frame.y0
        ).pixel_to_world()
        self._border = (*self._lit(appearance.outer_bgr), 255)
        self._post_bgr = self._lit(POST_BGR)
        self._backdrop = Backdrop(appearance, self.camera, lut=lut)
        self._faces = FaceBank(appearance.sign_fade, lut)
        cfg = self.camera.config
        self._effects = FrameEffects(appearance, width=cfg.width, height=cfg.height)
        self._mounted = self.camera.jittered(
            height_m=appearance.mount_height_m,
            pitch_deg=appearance.mount_pitch_deg,
            roll_deg=appearance.mount_roll_deg,
        )
        # Per-frame jitter moves the mount a little; the bands are a quality threshold.
        to_texture = np.linalg.inv(
            self._mounted.ground_homography(Pose(0.0, 0.0, 0.0)) @ self._pixel_to_world
        )
        self._bands = coarse_bands(to_texture, cfg.width, cfg.height)
        self._car_colours: dict[tuple[int, int, int], dict] = {}

    @property
    def _ground(self) -> GroundTexture:
        """The current look's unlit ground texture (BGR), made when the map view wants it."""
        if self._ground_map is None:
            frame = self._ground_frame
            image = cv2.merge(self._ground_planes)
            self._ground_map = GroundTexture(image, frame.px_per_m, frame.x0, frame.y0)
        return self._ground_map

    def _opaque(self) -> np.ndarray:
        frame = self._ground_frame
        if getattr(self, "_alpha", None) is None:
            self._alpha = np.full((frame.height, frame.width), 255, np.uint8)
        return self._alpha

    def _lit(self, bgr: Sequence[int]) -> tuple[int, int, int]:
        if self._lut is None:
            return (int(bgr[0]), int(bgr[1]), int(bgr[2]))
        return tuple(int(self._lut[int(v), 0, c]) for c, v in enumerate(bgr))  # type: ignore[return-value]

    def sign_face(self, sign_name: str, size_px: int = 64) -> np.ndarray:
        """The BGRA face of a sign type in the current look (transparent around the shape)."""
        return face_image(get_sign(sign_name), size_px, fade=self._look.sign_fade)

    # -- camera frames -------------------------------------------------------------------

    def frame_camera(
        self, rng: np.random.Generator | None = None, *, camera_jitter: bool = True
    ) -> PinholeCamera:
        """The camera a frame uses: the look's mount offset, plus per-frame jitter from rng."""
        if not camera_jitter:
            return self.camera
        look = self._look
        if rng is None or not (
            look.jitter_height_m or look.jitter_pitch_deg or look.jitter_roll_deg
        ):
            return self._mounted
        j = rng.uniform(-1.0, 1.0, 3)
        return self._mounted.jittered(
            height_m=float(j[0]) * look.jitter_height_m,
            pitch_deg=float(j[1]) * look.jitter_pitch_deg,
            roll_deg=float(j[2]) * look.jitter_roll_deg,
        )

    def render(
        self,
        pose: Pose,
        *,
        cars: Sequence[CarBody] = (),
        rng: np.random.Generator | None = None,
        annotate: bool = False,
        camera_jitter: bool = True,
    ) -> Frame:
        """The camera image at `pose`; with `annotate`, the boxes of visible signs and cars.

        Without rng the frame is the look's clean render; with it, camera jitter and the
        look's per-frame effects are drawn from rng only (same state, same pixels).
        """
        cam = self.frame_camera(rng, camera_jitter=camera_jitter)
        cfg = cam.config
        w, h = cfg.width, cfg.height
        canvas = np.empty((h, w, 4), np.uint8)
        self._draw_ground(canvas, cam, pose)
        ids = np.zeros((h, w), np.uint16) if annotate else None
        objects = self._draw_objects(canvas, cam, pose, cars, ids)
        image = self._effects.to_bgr(canvas, rng)
        self._effects.apply(image, rng)
        return Frame(image=image, objects=objects)

    def _draw_ground(self, canvas: np.ndarray, cam: PinholeCamera, pose: Pose) -> None:
        h, w = canvas.shape[:2]
        far = self._look.draw_distance_m
        left = _clamp_row(cam.ground_limit_row(far, 0.0), h)
        right = _clamp_row(cam.ground_limit_row(far, w - 1.0), h)
        top = min(h, max(0, math.floor(min(left, right))))
        bottom = min(h, max(0, math.ceil(max(left, right)) + 1))
        view = self._backdrop.view(pose.heading, cam.horizon_row()) if bottom > 0 else None
        if view is not None:
            canvas[:top] = view[:top]
        if top >= h:
            return
        homography = cam.ground_homography(pose, self._pixel_to_world)
        warp_ground(self._ground_bgra, homography, canvas, top, self._border, self._bands)
        if view is not None and bottom > top:  # a rolled camera: backdrop above the cut line
            mask = np.zeros((bottom - top, w), np.uint8)
            poly = np.array(
                [[0, 0], [w * 16, 0], [w * 16, round((right - top) * 16)],
                 [0, round((left - top) * 16)]], np.int32,
            )  # fmt: skip
            cv2.fillConvexPoly(mask, poly, 255, cv2.LINE_8, 4)
            cv2.copyTo(view[top:bottom], mask, canvas[top:bottom])

    def _draw_objects(
        self,
        canvas: np.ndarray,
        cam: PinholeCamera,
        pose: Pose,
        cars: Sequence[CarBody],
        ids: np.ndarray | None,
    ) -> list[ObjectBox]:
        cam_pos = cam.position(pose)
        rot = cam.rotation(pose)
        far = self._look.draw_distance_m
        h, w = canvas.shape[:2]
        items: list[tuple[float, int, int]] = []
        signs = self._visible_signs(cam, rot, cam_pos, w, h)
        items += [(board[0], 0, k) for k, board in enumerate(signs)]
        radius = self._car_model.radius
        for k, car in enumerate(cars):
            dx, dy = car.pose.x - cam_pos[0], car.pose.y - cam_pos[1]
            dist = math.hypot(dx, dy)
            if dist > far + radius or dist < 1e-9:
                continue
            dz = self.geometry.height_m / 2 - cam_pos[2]
            depth = dx * rot[2, 0] + dy * rot[2, 1] + dz * rot[2, 2]
            if depth < -radius or _inside_footprint(car.pose, cam_pos, self.geometry):
                continue
            items.append((dist, 1, k))
        items.sort(key=lambda item: (-item[0], item[1], item[2]))
        drawn: list[tuple[int, str, str, str, np.ndarray, bool, float]] = []
        totals: list[int] = []
        for dist, kind, k in items:
            obj = len(drawn) + 1
            if kind == 0:
                _, i, quad, bbox, p0, p1, thick, front, size = signs[k]
                name = self._sign_names[i]
                if not front:  # the grey back (never annotated), with the post in front
                    colour, _ = self._faces.flat(name, back=True)
                    draw_board_back(canvas, colour, self._sign_shapes[i], quad, bbox[:2])
                    cv2.line(canvas, p0, p1, self._post_bgr, thick, cv2.LINE_AA, 4)
                    continue
                cv2.line(canvas, p0, p1, self._post_bgr, thick, cv2.LINE_AA, 4)
                points = quad + bbox[:2]
                if size < SMALL_SIGN_PX:
                    colour, weights = self._faces.flat(name)
                    draw_small_board(canvas, colour, weights, points, ids, obj)
                else:
                    draw_quad_image(canvas, self._faces.get(name, size), quad, bbox, ids, obj)
                drawn.append((obj, "sign", name, self._sign_nodes[i], points, False, dist))
            else:
                car = cars[k]
                res = self._draw_car(canvas, rot, cam_pos, car, cam.K, ids, obj)
                if res is not None:
                    drawn.append((obj, "car", "car", car.car_id, res[0], res[1], dist))
            if ids is not None and len(drawn) == obj:
                totals.append(_count(ids, drawn[-1][4], obj))
        if ids is None:
            return []
        return _annotations(drawn, totals, ids)

    def _visible_signs(
        self, cam: PinholeCamera, rot: np.ndarray, cam_pos: np.ndarray, w: int, h: int
    ) -> list[tuple]:
        """Boards in view: (distance, board index, quad, bounding box, post foot, post top,
        post width, front-facing, size in px) each.

        The quad (TL, TR, BR, BL, float32) is relative to the bounding box (x0, y0, x1, y1,
        x1 and y1 exclusive, clipped to the image); post ends are in 1/16 px. The view's
        wedge and the draw distance are tested on all boards, and the few boards left
        projected and boxed, in a few dozen numpy calls on the whole set: the per-call
        cost is paid once per frame, not once per board.
        """
        far = self._look.draw_distance_m
        cx, cy = float(cam_pos[0]), float(cam_pos[1])
        r20, r21 = float(rot[2, 0]), float(rot[2, 1])
        norm = math.hypot(r20, r21) or 1.0
        ax, ay = r20 / norm, r21 / norm  # the view's direction over the ground
        # The view's wedge, conservatively: the image's diagonal half-angle, a board's reach.
        spread = math.hypot(w, h) / (2.0 * cam.fx)
        # Every board at once: in the wedge and nearer than the draw distance.
        dxs, dys = self._sign_x - cx, self._sign_y - cy
        ahead = dxs * ax + dys * ay
        inside = ahead > -BOARD_SIZE_M
        inside &= np.abs(dys * ax - dxs * ay) < ahead * spread + BOARD_SIZE_M
        inside &= dxs * dxs + dys * dys < far * far
        idx = np.flatnonzero(inside)
        if not len(idx):
            return []
        # The few boards left: their six points (face corners, post foot and top) in camera
        # space in one numpy product, then each board's box, quad and post in plain Python
        # over its few numbers (numpy's per-call cost is larger than the arithmetic here).
        pts = ((self._sign_points_by_board[idx] - cam_pos) @ rot.T).tolist()
        fx, fy, ppx, ppy = cam.fx, cam.fy, cam.cx, cam.cy
        near = SIGN_NEAR_M
        boards = self._sign_list
        out: list[tuple] = []
        for i, board in zip(idx.tolist(), pts, strict=True):
            if min(board[0][2], board[1][2], board[2][2], board[3][2], board[4][2],
                   board[5][2]) <= near:  # fmt: skip
                continue
            us = [fx * p[0] / p[2] + ppx for p in board]
            vs = [fy * p[1] / p[2] + ppy for p in board]
            u0, u1 = min(us[:4]), max(us[:4])
            v0, v1 = min(vs[:4]), max(vs[:4])
            size = max(u1 - u0, v1 - v0)
            if size < MIN_SIGN_PX or u1 <= 0 or u0 >= w - 1 or v1 <= 0 or v0 >= h - 1:
                continue
            x0 = min(w, max(0, math.floor(u0)))
            y0 = min(h, max(0, math.floor(v0)))
            x1 = min(w, max(0, math.ceil(u1) + 1))
            y1 = min(h, max(0, math.ceil(v1) + 1))
            quad = np.array(
                [[us[0] - x0, vs[0] - y0], [us[1] - x0, vs[1] - y0],
                 [us[2] - x0, vs[2] - y0], [us[3] - x0, vs[3] - y0]], np.float32,
            )  # fmt: skip
            p0 = (round(us[4] * 16), round(vs[4] * 16))
            p1 = (round(us[5] * 16), round(vs[5] * 16))
            thick = max(1, round(fx * POST_WIDTH_M / board[4][2]))
            sx, sy, nx, ny = boards[i]
            dx, dy = sx - cx, sy - cy
            front = -dx * nx - dy * ny > 0
            dist = math.hypot(dx, dy)
            out.append((dist, i, quad, (x0, y0, x1, y1), p0, p1, thick, front, size))
        return out

    def _draw_car(self, canvas, rot, cam_pos, car: CarBody, k_mat, ids, obj):
        colours = self._car_colours.get(car.color_bgr)
        if colours is None:
            colours = face_colours(car.color_bgr, self._look.light_azimuth_deg)
            colours = {key: self._lit(bgr) for key, bgr in colours.items()}
            self._car_colours[car.color_bgr] = colours
        p = car.pose
        return draw_car(
            canvas, self._car_model, colours, (p.x, p.y, p.heading),
            (float(cam_pos[0]), float(cam_pos[1]), float(cam_pos[2])), rot.tolist(),
            k_mat, ids, obj,
        )  # fmt: skip

    # -- map view --------------------------------------------------------------------------

    def render_top_down(self, *, cars: Sequence[CarBody] = (), size_px: int = 800) -> np.ndarray:
        """A BGR map: the ground texture, sign markers and car footprints with heading arrows."""
        tex = self._ground.image
        scale = size_px / max(tex.shape[:2])
        out_w, out_h = max(1, round(tex.shape[1] * scale)), max(1, round(tex.shape[0] * scale))
        image = cv2.resize(tex, (out_w, out_h), interpolation=cv2.INTER_AREA)
        s = self._ground.px_per_m * scale

        def px(x: float, y: float) -> tuple[int, int]:
            return (
                int(round(((x - self._ground.x0) * s) * 16)),
                int(round(((self._ground.y0 - y) * s) * 16)),
            )

        r = max(2, round(0.05 * s))
        for (fx, fy), (nx, ny), name in zip(
            self._sign_foot, self._sign_facing, self._sign_names, strict=True
        ):
            colour = get_sign(name).color_bgr
            cv2.line(image, px(fx, fy), px(fx + 0.1 * nx, fy + 0.1 * ny), (20, 20, 20), 1,
                     cv2.LINE_AA, 4)  # fmt: skip
            cv2.circle(image, px(fx, fy), r * 16, colour, -1, cv2.LINE_AA, 4)
            cv2.circle(image, px(fx, fy), r * 16, (255, 255, 255), 1, cv2.LINE_AA, 4)
        g = self.geometry
        for car in cars:
            p = car.pose
            fwd, left = np.array(p.forward()), np.array(p.left())
            centre = np.array([p.x, p.y])
            corners = [
                centre + a * fwd * g.length_m / 2 + b * left * g.width_m / 2
                for a, b in ((1, 1), (1, -1), (-1, -1), (-1, 1))
            ]
            pts = np.array([px(*c) for c in corners], np.int32)
            cv2.fillConvexPoly(image, pts, car.color_bgr, cv2.LINE_AA, 4)
            cv2.polylines(image, [pts], True, (20, 20, 20), 1, cv2.LINE_AA, 4)
            tip = centre + fwd * g.length_m * 0.9
            cv2.arrowedLine(image, px(*centre), px(*tip), (255, 255, 255), max(1, round(0.015 * s)),
                            cv2.LINE_AA, 4, 0.35)  # fmt: skip
        return image


def _board_corners(foot: np.ndarray, facing: np.ndarray, centre_z: float) -> np.ndarray:
    """(N, 6, 3): the face's TL, TR, BR, BL as seen from the front, then the post's foot and top."""
    n = len(foot)
    out = np.zeros((n, 6, 3))
    half = BOARD_SIZE_M / 2
    # Seen from the front (looking along -facing), the viewer's right is (-ny, nx).
    right = np.column_stack((-facing[:, 1], facing[:, 0])) if n else np.zeros((0, 2))
    for k, (a, b) in enumerate(((-1, 1), (1, 1), (1, -1), (-1, -1))):
        out[:, k, :2] = foot + a * half * right
        out[:, k, 2] = centre_z + b * half
    out[:, 4, :2] = foot
    out[:, 5, :2] = foot
    out[:, 5, 2] = centre_z
    return out


def _clamp_row(row: float, h: int) -> float:
    if math.isnan(row):
        return float(h)
    return min(float(h), max(-1.0, row))


def _inside_footprint(pose: Pose, point: np.ndarray, g: CarGeometry) -> bool:
    dx, dy = point[0] - pose.x, point[1] - pose.y
    fwd = dx * math.cos(pose.heading) + dy * math.sin(pose.heading)
    side = -dx * math.sin(pose.heading) + dy * math.cos(pose.heading)
    return abs(fwd) <= g.length_m / 2 and abs(side) <= g.width_m / 2


def _pixel_box(points: np.ndarray, w: int, h: int) -> tuple[tuple[int, int, int, int], bool]:
    """Integer box (pixel centres on integers) of points, clipped, and whether it was cut."""
    x0f, y0f = points.min(axis=0)
    x1f, y1f = points.max(axis=0)
    cut = x0f < -0.5 or y0f < -0.5 or x1f > w - 0.5 or y1f > h - 0.5
    x0 = min(w - 1, max(0, math.floor(x0f + 0.5)))
    y0 = min(h - 1, max(0, math.floor(y0f + 0.5)))
    x1 = min(w - 1, max(0, math.floor(x1f + 0.5)))
    y1 = min(h - 1, max(0, math.floor(y1f + 0.5)))
    return (x0, y0, x1, y1), cut


def _count(ids: np.ndarray, points: np.ndarray, obj: int) -> int:
    h, w = ids.shape
    (x0, y0, x1, y1), _ = _pixel_box(points, w, h)
    return int(np.count_nonzero(ids[y0 : y1 + 1, x0 : x1 + 1] == obj))


def _annotations(drawn, totals: list[int], ids: np.ndarray) -> list[ObjectBox]:
    h, w = ids.shape
    boxes = []
    for (obj, kind, label, ref, points, clipped, dist), total in zip(drawn, totals, strict=True):
        box, cut = _pixel_box(points, w, h)
        x0, y0, x1, y1 = box
        if x1 <= x0 or y1 <= y0 or total == 0:
            continue
        seen = int(np.count_nonzero(ids[y0 : y1 + 1, x0 : x1 + 1] == obj))
        covered = 1.0 - seen / total
        if covered > DROP_SHARE:
            continue
        boxes.append(
            ObjectBox(
                kind=kind,
                label=label,
                ref=ref,
                box=box,
                truncated=bool(cut or clipped),
                occluded=covered > OCCLUDED_SHARE,
                difficult=(y1 - y0 + 1) < DIFFICULT_HEIGHT_PX or covered > HIDDEN_SHARE,
                distance_m=round(dist, 4),
            )
        )
    return boxes
