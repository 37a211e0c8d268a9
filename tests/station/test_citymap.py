"""The map the screens draw, and a trip's progress, ETA and next turn."""

from __future__ import annotations

import math

import pytest

from city import default_city
from station.citymap import CityMap, TripClock, trip_view


@pytest.fixture(scope="module")
def city_map() -> CityMap:
    return CityMap(default_city().to_dict())


def test_edge_lengths_match_the_city_model(city_map):
    city = default_city()
    assert set(city_map.edges) == set(city.edges)
    for key, edge in city_map.edges.items():
        assert math.isclose(edge.length_m, city.edges[key].length_m, abs_tol=1e-3), key


def test_paths_end_at_their_nodes_with_y_flipped(city_map):
    data = city_map.to_json()
    nodes = {n["id"]: n for n in data["nodes"]}
    for edge in data["edges"]:
        start = edge["d"].split()[0:2]
        assert [float(start[0][1:]), float(start[1])] == [
            nodes[edge["from"]]["x"],
            nodes[edge["from"]]["y"],
        ]
        end = edge["d"].split()[-2:]
        assert [float(end[0].lstrip("L")), float(end[1])] == [
            nodes[edge["to"]]["x"],
            nodes[edge["to"]]["y"],
        ]
    # North (larger y in the file) is up on screen (smaller SVG y).
    assert nodes["A"]["y"] < nodes["H"]["y"]
    assert all(0 <= n["x"] <= data["view_box"][2] for n in data["nodes"])


def test_arcs_use_svg_sweep_flags(city_map):
    # C→A turns right (clockwise in the file) so SVG's flag is 0; A→C turns left: 1.
    assert " 0 0 0 " in city_map.edges[("C", "A")].d
    assert " 0 0 1 " in city_map.edges[("A", "C")].d


def booking(status: str, passed: list[str]) -> dict:
    route = default_city().route("A", "E").to_dict()
    return {
        "id": "bk-1",
        "car": "car-1",
        "station": "st-1",
        "destination": "E",
        "route": route,
        "stream_url": "http://car/stream",
        "stream_token": "t",
        "status": status,
        "passed": passed,
        "reason": None,
    }


def test_trip_progress_next_turn_and_eta(city_map):
    clock = TripClock(started=0.0, seen_passes=[])
    first = trip_view(
        booking("assigned", []),
        city_map,
        car_name="Alpha",
        clock=clock,
        now=1.0,
        nominal_speed_mps=0.5,
    )
    steps = [s["id"] for s in first["route"]]
    assert steps[0] == "A" and steps[-1] == "E" and first["at"] == 0
    assert first["next"]["id"] == steps[1] and first["car"]["name"] == "Alpha"
    assert math.isclose(first["eta_s"], first["length_m"] / 0.5, rel_tol=1e-3)
    assert first["stream"] is True
    middle = trip_view(
        booking("driving", [steps[1]]),
        city_map,
        car_name="Alpha",
        clock=clock,
        now=5.0,
        nominal_speed_mps=0.5,
    )
    assert middle["at"] == 1 and middle["route"][1]["passed"] and not middle["route"][2]["passed"]
    assert middle["next"]["id"] == steps[2] and middle["remaining_m"] < first["remaining_m"]
    done = trip_view(
        booking("arrived", [steps[1], "E"]),
        city_map,
        car_name="Alpha",
        clock=clock,
        now=9.0,
        nominal_speed_mps=0.5,
    )
    assert done["next"] is None and done["eta_s"] is None and done["remaining_m"] == 0
    assert done["stream"] is False
    # Passes seen 4 s apart over the second leg: the pace is measured, not assumed.
    legs = city_map.route_lengths(default_city().route("A", "E").to_dict()["steps"])
    assert math.isclose(done["speed_mps"], legs[1] / 4.0, rel_tol=1e-2)
