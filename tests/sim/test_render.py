"""Renderer: geometry, object boxes, occlusion, determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest

from city import City, default_city
from sim.appearance import Appearance
from sim.camera import CameraConfig, PinholeCamera
from sim.pose import Pose
from sim.render import CarBody, Renderer
from sim.render.ground import coarse_bands, warp_ground
from sim.render.layout import BOARD_SIZE_M, POST_HEIGHT_M


def street_city() -> City:
    """Two nodes and one straight two-way street A (0, 0) - B (3, 0)."""
    return City.from_dict(
        {
            "format": "pixelopolis-city",
            "version": 1,
            "name": "Street",
            "nodes": [
                {"id": "A", "position": [0, 0], "sign": "red-circle"},
                {"id": "B", "position": [3, 0], "sign": "blue-square"},
            ],
            "edges": [{"from": "A", "to": "B"}, {"from": "B", "to": "A"}],
        }
    )


@pytest.fixture(scope="module")
def street() -> Renderer:
    return Renderer(street_city())


@pytest.fixture(scope="module")
def town() -> Renderer:
    return Renderer(default_city())


def sign_at(renderer: Renderer, node: str):
    return next(s for s in renderer.layout.signs if s.node == node)


def facing_sign(renderer: Renderer, node: str, distance: float, turn: float = 0.0) -> Pose:
    """A pose `distance` in front of the node's sign (lens to board), looking at it."""
    sign = sign_at(renderer, node)
    fx, fy = math.cos(sign.facing), math.sin(sign.facing)
    back = distance + renderer.camera.config.forward_m
    return Pose(sign.x + back * fx, sign.y + back * fy, sign.facing + math.pi + turn)


def test_lane_centreline_ahead_is_the_centre_column(street: Renderer) -> None:
    edge = street.city.edge("A", "B")
    x, y, heading, _ = edge.sample(0.5)
    pose = Pose(x, y, heading)
    cam = PinholeCamera()
    ahead = np.array([[*edge.sample(s)[:2], 0.0] for s in (0.9, 1.5, 2.2)])
    pixels, depth = cam.project(ahead, pose)
    assert np.all(depth > 0)
    assert np.allclose(pixels[:, 0], cam.config.width / 2, atol=1.0)
    # The road is there: dark asphalt below the lens, white markings either side.
    image = street.render(pose, camera_jitter=False).image
    h, w = image.shape[:2]
    assert image[h - 5, w // 2].mean() < 100
    band = image[h // 2 :].mean(axis=2)
    assert (band[:, : w // 2] > 180).any() and (band[:, w // 2 :] > 180).any()


def test_sign_ahead_is_boxed_with_its_label(street: Renderer) -> None:
    pose = facing_sign(street, "B", 1.0)
    frame = street.render(pose, annotate=True, camera_jitter=False)
    signs = [o for o in frame.objects if o.kind == "sign"]
    assert [o.label for o in signs] == ["blue-square"]
    box = signs[0].box
    sign = sign_at(street, "B")
    centre = np.array([[sign.x, sign.y, POST_HEIGHT_M + BOARD_SIZE_M / 2]])
    ((u, v),) = street.camera.project(centre, pose)[0]
    assert box[0] <= u <= box[2] and box[1] <= v <= box[3]
    assert signs[0].ref == "B" and not signs[0].truncated and not signs[0].occluded
    assert signs[0].distance_m == pytest.approx(1.0, abs=0.01)
    expected_px = street.camera.fx * BOARD_SIZE_M / 1.0
    assert box[2] - box[0] == pytest.approx(expected_px, abs=3)


def test_sign_behind_the_car_is_not_boxed(street: Renderer) -> None:
    pose = facing_sign(street, "B", 1.0, turn=math.pi)
    frame = street.render(pose, annotate=True, camera_jitter=False)
    assert not [o for o in frame.objects if o.ref == "B"]


def test_sign_half_outside_is_clipped_and_truncated(street: Renderer) -> None:
    sign = sign_at(street, "B")
    centre = np.array([[sign.x, sign.y, POST_HEIGHT_M + BOARD_SIZE_M / 2]])
    w = street.camera.config.width
    for turn in np.linspace(0.3, 0.7, 81):  # turn left until the board's centre is on the border
        pose = facing_sign(street, "B", 1.0, turn=float(turn))
        if street.camera.project(centre, pose)[0][0, 0] >= w - 1:
            break
    frame = street.render(pose, annotate=True, camera_jitter=False)
    (sign,) = [o for o in frame.objects if o.ref == "B"]
    assert sign.truncated
    assert sign.box[2] == street.camera.config.width - 1


def test_car_in_front_of_a_sign_occludes_it() -> None:
    # A lens below the car roofs, so that a car crossing in front can hide part of a board.
    low = Renderer(street_city(), camera=CameraConfig(height_m=0.05, pitch_deg=0.0))
    pose = facing_sign(low, "B", 1.2)
    clear = low.render(pose, annotate=True, camera_jitter=False).objects
    assert [(o.kind, o.occluded) for o in clear] == [("sign", False)]
    blocker = CarBody("c1", pose.moved(forward_m=0.7, turn_rad=math.pi / 2))
    frame = low.render(pose, cars=[blocker], annotate=True, camera_jitter=False)
    by_kind = {o.kind: o for o in frame.objects}
    assert not by_kind["car"].occluded
    assert by_kind["sign"].occluded
    assert by_kind["sign"].box == clear[0].box
    # Hidden entirely: no box at all.
    blocker = CarBody("c1", pose.moved(forward_m=0.5, turn_rad=math.pi / 2))
    frame = low.render(pose, cars=[blocker], annotate=True, camera_jitter=False)
    assert [o.kind for o in frame.objects] == ["car"]


def test_renders_are_deterministic(town: Renderer) -> None:
    pose = Pose(2.5, 1.85, 0.1)
    cars = [CarBody("a", Pose(3.2, 1.85, 0.0)), CarBody("b", Pose(3.4, 2.15, math.pi))]
    first = town.render(pose, cars=cars, annotate=True)
    again = town.render(pose, cars=cars, annotate=True)
    assert np.array_equal(first.image, again.image) and first.objects == again.objects
    town.set_appearance(Appearance.randomised(np.random.default_rng(4), 1.0))
    try:
        a = town.render(pose, cars=cars, rng=np.random.default_rng(7))
        b = town.render(pose, cars=cars, rng=np.random.default_rng(7))
        assert np.array_equal(a.image, b.image)
        assert not np.array_equal(a.image, first.image)
        town.set_appearance(Appearance.randomised(np.random.default_rng(5), 1.0))
        c = town.render(pose, cars=cars, rng=np.random.default_rng(7))
        assert not np.array_equal(a.image, c.image)
    finally:
        town.set_appearance(Appearance())


def test_a_fresh_renderer_paints_identical_bytes() -> None:
    look = Appearance.randomised(np.random.default_rng(11), 1.0)
    pose = Pose(0.6, 1.85, 0.0)
    images = [
        Renderer(default_city(), appearance=look).render(pose, rng=np.random.default_rng(1)).image
        for _ in range(2)
    ]
    assert np.array_equal(images[0], images[1])


def test_every_box_lies_inside_the_image(town: Renderer) -> None:
    rng = np.random.default_rng(0)
    edges = list(town.city.edges.values())
    w, h = town.camera.config.width, town.camera.config.height
    seen = 0
    for _ in range(40):
        edge = edges[int(rng.integers(len(edges)))]
        x, y, heading, _ = edge.sample(float(rng.uniform(0, edge.lane_length_m)))
        pose = Pose(x, y, heading + float(rng.normal(0, 0.4)))
        cars = [CarBody(f"c{k}", pose.moved(forward_m=float(rng.uniform(0.2, 1.5)),
                                            left_m=float(rng.uniform(-0.4, 0.4)),
                                            turn_rad=float(rng.uniform(-3, 3))))
                for k in range(3)]  # fmt: skip
        frame = town.render(pose, cars=cars, rng=rng, annotate=True)
        assert frame.image.shape == (h, w, 3) and frame.image.dtype == np.uint8
        for o in frame.objects:
            x0, y0, x1, y1 = o.box
            assert 0 <= x0 < x1 <= w - 1 and 0 <= y0 < y1 <= h - 1
            assert o.kind in ("sign", "car")
            seen += 1
    assert seen > 20


def test_top_down_map_and_sign_faces(town: Renderer) -> None:
    image = town.render_top_down(cars=[CarBody("a", Pose(2.0, 1.85, 0.0))], size_px=400)
    assert image.ndim == 3 and image.shape[2] == 3 and max(image.shape[:2]) == 400
    face = town.sign_face("red-octagon", 64)
    assert face.shape == (64, 64, 4)
    assert face[0, 0, 3] == 0 and face[32, 32, 3] == 255


def test_coarse_ground_bands_match_the_full_warp(town: Renderer) -> None:
    cam = PinholeCamera()
    to_image = cam.ground_homography(Pose(0.0, 0.0, 0.0)) @ town._pixel_to_world
    w, h = cam.config.width, cam.config.height
    bands = coarse_bands(np.linalg.inv(to_image), w, h)
    # The near road (the bottom rows, texels magnified 2-4x and more) is warped coarsely.
    assert bands and bands[-1][1] == h and bands[-1][2] == 4 and bands[0][0] > h // 3
    edge = town.city.edge("A", "B")
    x, y, heading, _ = edge.sample(0.5)
    to_image = cam.ground_homography(Pose(x, y, heading)) @ town._pixel_to_world
    full, coarse = (np.zeros((h, w, 4), np.uint8) for _ in range(2))
    warp_ground(town._ground_bgra, to_image, full, 60, (1, 2, 3, 255))
    warp_ground(town._ground_bgra, to_image, coarse, 60, (1, 2, 3, 255), bands)
    assert (full[:60] == 0).all() and (coarse[:60] == 0).all()
    diff = np.abs(full.astype(int) - coarse.astype(int))
    assert diff[:, :, :3].mean() < 1.0 and np.percentile(diff, 99) <= 8
