"""A steady other sign means a wrong turn only where the map and odometry let the car be."""

from __future__ import annotations

import pytest

from city import City
from city.model import RouteStep
from vehicle.localization import LocalizationConfig, RouteTracker
from vehicle.perception.detections import Detection
from vehicle.sign_map import SignMap


def _city() -> City:
    """A --2 m--> B --2 m--> C, and B --3 m--> D (lengths are lane lengths on the map)."""
    nodes = [
        {"id": "A", "position": [0, 0], "sign": "red-circle"},
        {"id": "B", "position": [2, 0], "sign": "blue-circle"},
        {"id": "C", "position": [4, 0], "sign": "green-circle"},
        {"id": "D", "position": [2, 3], "sign": "yellow-circle"},
    ]
    edges = [{"from": a, "to": b} for a, b in (("A", "B"), ("B", "C"), ("B", "D"))]
    document = {"format": "pixelopolis-city", "version": 1, "name": "t", "nodes": nodes,
                "edges": edges}  # fmt: skip
    return City.from_dict(document, require_strongly_connected=False)


@pytest.fixture(scope="module")
def city() -> City:
    return _city()


def test_a_sign_is_seeable_only_on_a_road_into_its_node_within_the_distance_driven(city):
    signs = SignMap(city)
    ab = city.edge("A", "B").lane_length_m
    bd = city.edge("B", "D").lane_length_m

    def see(sign: str, driven: float, margin: float = 0.2, node: str = "A") -> bool:
        return signs.could_see(
            sign, from_node=node, nearest_m=driven - margin, farthest_m=driven + margin
        )

    # on A->B: B's sign, not D's (D's road starts at B, farther than driven)
    assert see("blue-circle", 0.5 * ab)
    assert not see("yellow-circle", 0.5 * ab)
    # past B: on B->D (a wrong turn) D's sign is possible, B's no longer
    assert see("yellow-circle", ab + 0.5 * bd)
    assert not see("blue-circle", ab + 0.5 * bd)
    # the margin widens the window both ways
    assert see("yellow-circle", ab - 0.1)
    assert see("blue-circle", ab + 0.1)
    # a sign no node carries, an unknown start node
    assert not see("red-octagon", 1.0, margin=5.0)
    assert see("red-octagon", 1.0, margin=0.0, node="Z")


def _board(label: str) -> Detection:
    return Detection(label=label, score=0.95, box=(0.3, 0.6, 0.6, 0.8))


def _drive(tracker: RouteTracker, label: str, start_m: float, frames: int = 12):
    events = []
    for k in range(frames):
        events += tracker.update([_board(label)], odometry_m=start_m + 0.02 * k)
    return events


def test_a_sign_misread_early_in_a_leg_is_ignored_and_a_real_wrong_turn_is_not(city):
    steps = [RouteStep("A", "red-circle", "depart"), RouteStep("B", "blue-circle", "straight"),
             RouteStep("C", "green-circle", "arrive")]  # fmt: skip
    legs = [city.edge("A", "B").lane_length_m, city.edge("B", "C").lane_length_m]
    config = LocalizationConfig(misread_margin_m=0.3)
    # 1.2 m along A->B the car "sees" D's sign: D's road starts at B, 2 m out: a misread
    misread = RouteTracker(steps, leg_lengths_m=legs, config=config, sign_map=SignMap(city))
    assert _drive(misread, "yellow-circle", 1.2) == []
    # without the map the same frames read as a wrong turn (what the car did before)
    blind = RouteTracker(steps, leg_lengths_m=legs, config=config)
    assert [e.kind for e in _drive(blind, "yellow-circle", 1.2)] == ["wrong_sign"]
    # having driven past B, D's sign means the car took B->D: a wrong turn, reported
    real = RouteTracker(steps, leg_lengths_m=legs, config=config, sign_map=SignMap(city))
    events = _drive(real, "yellow-circle", legs[0] + 1.0)
    assert [(e.kind, e.sign) for e in events] == [("wrong_sign", "yellow-circle")]
