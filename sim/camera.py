"""The car's phone camera: a pinhole on a mount (height, downward pitch, roll) on the car.

Frames: the world is x east, y north, z up (metres). The camera frame is OpenCV's:
x right, y down, z along the optical axis. Pixel coordinates put pixel centres on
integers (OpenCV's convention), so the principal point of a 320x240 image is
(159.5, 119.5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.pose import Pose

NEAR_M = 1e-6  # depths at or below this count as behind the camera


@dataclass(frozen=True)
class CameraConfig:
    """Intrinsics and mount; defaults match a phone preview stream on a Pixelopolis car."""

    width: int = 320
    height: int = 240
    hfov_deg: float = 62.0
    height_m: float = 0.11
    pitch_deg: float = 18.0
    roll_deg: float = 0.0
    forward_m: float = 0.06

    def __post_init__(self) -> None:
        if not 16 <= self.width <= 4096:
            raise ValueError(f"width: must be 16-4096 pixels, got {self.width}")
        if not 16 <= self.height <= 4096:
            raise ValueError(f"height: must be 16-4096 pixels, got {self.height}")
        if not 10.0 <= self.hfov_deg <= 150.0:
            raise ValueError(f"hfov_deg: must be 10-150 degrees, got {self.hfov_deg}")
        if not 0.0 < self.height_m <= 5.0:
            raise ValueError(f"height_m: must be in (0, 5] metres, got {self.height_m}")
        if not -60.0 <= self.pitch_deg <= 85.0:
            raise ValueError(f"pitch_deg: must be -60..85 degrees, got {self.pitch_deg}")
        if not -45.0 <= self.roll_deg <= 45.0:
            raise ValueError(f"roll_deg: must be -45..45 degrees, got {self.roll_deg}")
        if not -1.0 <= self.forward_m <= 1.0:
            raise ValueError(f"forward_m: must be -1..1 metres, got {self.forward_m}")

    @property
    def focal_px(self) -> float:
        return (self.width / 2.0) / math.tan(math.radians(self.hfov_deg) / 2.0)


class PinholeCamera:
    """Projection for one camera config; cheap to build (the renderer makes one per jitter)."""

    def __init__(self, config: CameraConfig = CameraConfig()) -> None:
        self.config = config
        f = config.focal_px
        self.cx = (config.width - 1) / 2.0
        self.cy = (config.height - 1) / 2.0
        self.fx = self.fy = f
        self.K = np.array([[f, 0.0, self.cx], [0.0, f, self.cy], [0.0, 0.0, 1.0]])
        self._mount(config.pitch_deg, config.roll_deg)

    def _mount(self, pitch_deg: float, roll_deg: float) -> None:
        p, r = math.radians(pitch_deg), math.radians(roll_deg)
        cp, sp, cr, sr = math.cos(p), math.sin(p), math.cos(r), math.sin(r)
        # Camera axes in the car frame (forward, left, up) before roll: right (0, -1, 0),
        # down (-sp, 0, -cp), optical (cp, 0, -sp). Positive roll turns the camera
        # clockwise about its optical axis (as seen from behind), so the scene appears
        # turned anticlockwise in the image: x = cr right - sr down, y = sr right + cr down.
        self._axes_car = ((sr * sp, -cr, sr * cp), (-cr * sp, -sr, -cr * cp), (cp, 0.0, -sp))

    def jittered(
        self, *, height_m: float = 0.0, pitch_deg: float = 0.0, roll_deg: float = 0.0
    ) -> PinholeCamera:
        """This camera with its mount moved by the given offsets (clamped to valid values).

        Cheap (no validation, intrinsics shared): the renderer calls it every frame.
        """
        c = self.config
        config = CameraConfig.__new__(CameraConfig)
        object.__setattr__(config, "__dict__", dict(c.__dict__))
        object.__setattr__(config, "height_m", max(0.005, c.height_m + height_m))
        object.__setattr__(config, "pitch_deg", min(85.0, max(-60.0, c.pitch_deg + pitch_deg)))
        object.__setattr__(config, "roll_deg", min(45.0, max(-45.0, c.roll_deg + roll_deg)))
        cam = PinholeCamera.__new__(PinholeCamera)
        cam.config = config
        cam.cx, cam.cy, cam.fx, cam.fy, cam.K = self.cx, self.cy, self.fx, self.fy, self.K
        cam._mount(config.pitch_deg, config.roll_deg)
        return cam

    def rotation(self, pose: Pose) -> np.ndarray:
        """3x3 world-to-camera rotation: rows are the camera's x, y, z axes in the world."""
        return np.array(self._rotation_rows(pose))

    def _rotation_rows(self, pose: Pose) -> list[tuple[float, float, float]]:
        """`rotation` as scalars: the mount's axes turned from the car frame (forward,
        left, up) into the world by the pose's heading."""
        ch, sh = math.cos(pose.heading), math.sin(pose.heading)
        return [(a0 * ch - a1 * sh, a0 * sh + a1 * ch, a2) for a0, a1, a2 in self._axes_car]

    def position(self, pose: Pose) -> np.ndarray:
        """The lens centre in the world: `forward_m` ahead of the pose point, `height_m` up."""
        c = self.config
        return np.array(
            [
                pose.x + c.forward_m * math.cos(pose.heading),
                pose.y + c.forward_m * math.sin(pose.heading),
                c.height_m,
            ]
        )

    def world_to_camera(self, pose: Pose) -> np.ndarray:
        """4x4 homogeneous transform: camera coordinates = T @ (x, y, z, 1) for world points."""
        rot = self.rotation(pose)
        out = np.eye(4)
        out[:3, :3] = rot
        out[:3, 3] = -rot @ self.position(pose)
        return out

    def project(self, points_world: np.ndarray, pose: Pose) -> tuple[np.ndarray, np.ndarray]:
        """(N, 3) world points -> ((N, 2) pixels, (N,) depth along the optical axis).

        Depth <= 0 means behind the camera; those pixels are NaN.
        """
        pts = np.asarray(points_world, dtype=float).reshape(-1, 3)
        rot = self.rotation(pose)
        cam = (pts - self.position(pose)) @ rot.T
        depth = cam[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = np.where(depth > NEAR_M, 1.0 / depth, np.nan)
        pixels = np.column_stack(
            (self.fx * cam[:, 0] * inv + self.cx, self.fy * cam[:, 1] * inv + self.cy)
        )
        return pixels, depth

    def ground_homography(self, pose: Pose, then: np.ndarray | None = None) -> np.ndarray:
        """3x3 homography from ground points (x, y, 1) in metres to homogeneous pixels.

        With `then` (3x3), the homography of `then`'s input instead: `H @ then`, where
        `then` maps its points to ground metres (the renderer's texture pixels). Built
        from scalars: the renderer asks for one every frame.
        """
        ch, sh = math.cos(pose.heading), math.sin(pose.heading)
        c = self.config
        px = pose.x + c.forward_m * ch
        py = pose.y + c.forward_m * sh
        pz = c.height_m
        f, cx, cy = self.fx, self.cx, self.cy
        (x0, x1, x2), (y0, y1, y2), (z0, z1, z2) = (
            (r0, r1, -(r0 * px + r1 * py + r2 * pz)) for r0, r1, r2 in self._rotation_rows(pose)
        )
        fy = self.fy
        h = np.array(
            [[f * x0 + cx * z0, f * x1 + cx * z1, f * x2 + cx * z2],
             [fy * y0 + cy * z0, fy * y1 + cy * z1, fy * y2 + cy * z2],
             [z0, z1, z2]]
        )  # fmt: skip
        return h if then is None else h @ then

    def horizon_row(self) -> float:
        """Image row of the horizon at the centre column (above row 0 is negative)."""
        return self.ground_limit_row(math.inf)

    def ground_limit_row(self, distance_m: float, column: float | None = None) -> float:
        """Row where ground points at camera depth `distance_m` appear, at `column`.

        Ground points at one depth lie on a line parallel to the horizon (inf: the
        horizon itself); the renderer cuts the ground there and shows the backdrop.
        """
        up = [axis[2] for axis in self._axes_car]  # the world's up axis in camera coordinates
        a = 0.0 if column is None else (column - self.cx) / self.fx
        rhs = 0.0 if math.isinf(distance_m) else -self.config.height_m / distance_m
        if abs(up[1]) < 1e-9:
            return math.copysign(math.inf, up[2] - rhs)
        b = (rhs - up[2] - up[0] * a) / up[1]
        return self.cy + self.fy * b
