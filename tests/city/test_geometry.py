import math

import numpy as np
import pytest

from city import City
from city.geometry import Arc, Line, arc_center, build_chain


def test_quarter_arc_length_and_end():
    arc = Arc((1.0, 0.0), (0.0, 0.0), 90.0)
    assert arc.length == pytest.approx(math.pi / 2)
    assert arc.end == pytest.approx((0.0, 1.0))
    assert arc.start_heading == pytest.approx(math.pi / 2)
    assert arc.end_heading == pytest.approx(math.pi)
    assert arc.curvature == pytest.approx(1.0)
    right = Arc((0.0, 2.0), (0.0, 0.0), -90.0)
    assert right.length == pytest.approx(math.pi)
    assert right.end == pytest.approx((2.0, 0.0))
    assert right.curvature == pytest.approx(-0.5)


def test_lane_offset_is_right_of_travel_on_lines():
    east = Line((0.0, 0.0), (2.0, 0.0))
    assert east.offset(0.15).start == pytest.approx((0.0, -0.15))
    north = Line((0.0, 0.0), (0.0, 2.0))
    assert north.offset(0.15).end == pytest.approx((0.15, 2.0))


def test_lane_offset_on_arcs_changes_radius():
    left = Arc((1.0, 0.0), (0.0, 0.0), 90.0)  # left turn: the right side is outside
    assert left.offset(0.15).radius == pytest.approx(1.15)
    right = Arc((1.0, 0.0), (0.0, 0.0), -90.0)  # right turn: the right side is inside
    assert right.offset(0.15).radius == pytest.approx(0.85)


def _edge_city(geometry, drive_side="right"):
    data = {
        "format": "pixelopolis-city",
        "version": 1,
        "name": "g",
        "drive_side": drive_side,
        "nodes": [
            {"id": "A", "position": [0, 0], "sign": "red-circle", "allow_u_turn": True},
            {"id": "B", "position": [1, 1], "sign": "blue-circle", "allow_u_turn": True},
        ],
        "edges": [{"from": "A", "to": "B", "geometry": geometry}, {"from": "B", "to": "A"}],
    }
    return City.from_dict(data)


def test_edge_lane_sampling_on_a_quarter_turn():
    # East from A, then a left quarter turn of radius 1 about (0, 1) ending north at B.
    city = _edge_city([{"type": "arc", "center": [0, 1], "sweep_deg": 90}])
    edge = city.edge("A", "B")
    assert edge.length_m == pytest.approx(math.pi / 2)
    assert edge.start_heading == pytest.approx(0.0)
    assert edge.end_heading == pytest.approx(math.pi / 2)
    assert edge.lane_length_m == pytest.approx(1.15 * math.pi / 2)
    x, y, heading, curvature = edge.sample(0.0)
    assert (x, y, heading, curvature) == pytest.approx((0.0, -0.15, 0.0, 1 / 1.15))
    x, y, heading, _ = edge.sample(edge.lane_length_m)
    assert (x, y, heading) == pytest.approx((1.15, 1.0, math.pi / 2))
    assert edge.sample(1e9)[:2] == pytest.approx((1.15, 1.0))  # clamped
    lane = edge.lane_polyline(0.02)
    assert lane.shape[1] == 2
    assert np.max(np.linalg.norm(np.diff(lane, axis=0), axis=1)) <= 0.02 + 1e-9
    assert np.linalg.norm(lane - [0, 1], axis=1) == pytest.approx(np.full(len(lane), 1.15))
    road = edge.road_polyline(0.05)
    assert road[0] == pytest.approx([0, 0]) and road[-1] == pytest.approx([1, 1])


def test_left_drive_mirrors_the_lane():
    city = _edge_city([{"type": "arc", "center": [0, 1], "sweep_deg": 90}], drive_side="left")
    edge = city.edge("A", "B")
    assert edge.lane_length_m == pytest.approx(0.85 * math.pi / 2)
    assert edge.sample(0.0)[:2] == pytest.approx((0.0, 0.15))


def test_chain_of_lines_and_arcs():
    segments = build_chain(
        (0.0, 2.0),
        [
            {"type": "line", "end": [0, 3]},
            {"type": "arc", "center": [1, 3], "sweep_deg": -90},
            {"type": "line", "end": [2, 4]},
        ],
        (2.0, 4.0),
    )
    assert segments[-1].end == pytest.approx((2.0, 4.0))
    assert sum(s.length for s in segments) == pytest.approx(2 + math.pi / 2)
    assert segments[1].bbox() == pytest.approx((0.0, 3.0, 1.0, 4.0))


@pytest.mark.parametrize("sweep", [30.0, -75.0, 180.0, -270.0])
def test_arc_center_reaches_the_end(sweep):
    start, end = (0.5, -1.0), (2.0, 1.5)
    arc = Arc(start, arc_center(start, end, sweep), sweep)
    assert arc.end == pytest.approx(end)
