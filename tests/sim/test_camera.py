"""Pinhole camera geometry: projection, ground homography, horizon."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.camera import CameraConfig, PinholeCamera
from sim.pose import Pose


def test_point_ahead_on_the_lane_projects_to_the_centre_column() -> None:
    cam = PinholeCamera()
    pose = Pose(1.0, 2.0, math.radians(30))
    ahead = [[pose.x + d * math.cos(pose.heading), pose.y + d * math.sin(pose.heading), 0.0]
             for d in (0.3, 0.8, 2.0)]  # fmt: skip
    pixels, depth = cam.project(np.array(ahead), pose)
    assert np.all(depth > 0)
    assert np.allclose(pixels[:, 0], cam.config.width / 2, atol=1.0)
    # Farther points are higher in the image, all below the horizon.
    assert pixels[0, 1] > pixels[1, 1] > pixels[2, 1] > cam.horizon_row()


def test_points_left_of_travel_project_left_of_centre() -> None:
    cam = PinholeCamera()
    pose = Pose(0.0, 0.0, 0.0)
    pixels, _ = cam.project(np.array([[1.0, 0.2, 0.0], [1.0, -0.2, 0.0]]), pose)
    assert pixels[0, 0] < cam.cx < pixels[1, 0]


def test_ground_homography_agrees_with_project() -> None:
    cam = PinholeCamera(CameraConfig(roll_deg=2.0, pitch_deg=15.0))
    pose = Pose(3.0, -1.0, 2.0)
    rng = np.random.default_rng(0)
    ground = np.column_stack((rng.uniform(-1, 1, (20, 2)) + (3.0 + 1.5 * math.cos(2.0), -1.0 +
                              1.5 * math.sin(2.0)), np.zeros(20)))  # fmt: skip
    pixels, depth = cam.project(ground, pose)
    homogeneous = cam.ground_homography(pose) @ np.column_stack((ground[:, :2], np.ones(20))).T
    from_h = (homogeneous[:2] / homogeneous[2]).T
    ok = depth > 0
    assert ok.sum() > 5
    assert np.allclose(from_h[ok], pixels[ok], atol=1e-6)


def test_points_behind_the_camera_have_no_positive_depth() -> None:
    cam = PinholeCamera()
    pose = Pose(0.0, 0.0, 0.0)
    pixels, depth = cam.project(np.array([[-1.0, 0.0, 0.0], [-0.5, 0.3, 0.2]]), pose)
    assert np.all(depth <= 0)
    assert np.all(np.isnan(pixels))


@pytest.mark.parametrize("pitch", [0.0, 10.0, 18.0, 30.0])
def test_horizon_row_matches_pitch(pitch: float) -> None:
    cam = PinholeCamera(CameraConfig(pitch_deg=pitch))
    expected = cam.cy - cam.fy * math.tan(math.radians(pitch))
    assert cam.horizon_row() == pytest.approx(expected)
    # A far point straight ahead at lens height lies on the horizon.
    pixels, _ = cam.project(np.array([[1e5, 0.0, cam.config.height_m]]), Pose(0.0, 0.0, 0.0))
    assert pixels[0, 1] == pytest.approx(expected, abs=1e-3)


def test_world_to_camera_is_a_rigid_transform() -> None:
    cam = PinholeCamera()
    pose = Pose(1.0, 1.0, 0.5)
    t = cam.world_to_camera(pose)
    assert t.shape == (4, 4)
    assert np.allclose(t[:3, :3] @ t[:3, :3].T, np.eye(3))
    lens = np.append(cam.position(pose), 1.0)
    assert np.allclose(t @ lens, [0, 0, 0, 1])


def test_config_names_the_bad_field() -> None:
    with pytest.raises(ValueError, match="hfov_deg"):
        CameraConfig(hfov_deg=0.0)
    with pytest.raises(ValueError, match="height_m"):
        CameraConfig(height_m=-1.0)
