"""Route paths: continuous, drivable by the car, on the right lane, and easy to project onto."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from city import City, Route, RouteStep, default_city
from city.generate import grid_city
from city.kinematics import CarGeometry
from sim.path import RoutePath
from sim.routes import random_route, start_pose

CITY = default_city()
MAX_CURVATURE = CarGeometry().max_curvature_per_m


def manual_route(city: City, nodes: list[str], turns: list[str]) -> Route:
    steps = tuple(RouteStep(n, city.node(n).sign, t) for n, t in zip(nodes, turns, strict=True))
    return Route(steps=steps, length_m=0.0)


# Through G and back: a u-turn at a dead end, then a right turn at C.
U_TURN_ROUTE = manual_route(
    CITY, ["D", "C", "G", "C", "A"], ["depart", "straight", "u-turn", "right", "arrive"]
)


@pytest.fixture(scope="module")
def default_paths() -> list[tuple[Route, RoutePath]]:
    routes = [CITY.route(a, b) for a, b in itertools.permutations(CITY.nodes, 2)]
    routes.append(U_TURN_ROUTE)
    return [(route, RoutePath.from_route(CITY, route)) for route in routes]


def check_drivable(path: RoutePath) -> None:
    gaps = np.diff(path.s)
    assert gaps.min() > 0 and gaps.max() < 0.03
    assert np.allclose(np.hypot(*np.diff(path.points, axis=0).T), gaps)
    assert np.all(np.abs(path.curvatures) <= MAX_CURVATURE)
    # Independently of the stored curvature: heading changes between points.
    turning = np.abs(np.diff(np.unwrap(path.headings))) / gaps
    assert turning.max() <= MAX_CURVATURE
    # Headings agree with the direction from point to point.
    chord = np.arctan2(*np.diff(path.points, axis=0).T[::-1])
    mid = np.unwrap(path.headings)[:-1] + np.diff(np.unwrap(path.headings)) / 2
    assert np.abs(np.remainder(chord - mid + np.pi, 2 * np.pi) - np.pi).max() < 0.01


def test_every_default_city_path_is_continuous_and_drivable(default_paths):
    assert len(default_paths) == 13 * 12 + 1
    for _, path in default_paths:
        check_drivable(path)


def test_generated_city_paths_are_drivable():
    city = grid_city(100, seed=3)
    rng = np.random.default_rng(0)
    for _ in range(10):
        check_drivable(RoutePath.from_route(city, random_route(city, rng, min_length_m=6.0)))


def test_path_passes_every_route_node(default_paths):
    # A right turn is the car's tightest curve round the corner of the two lanes, so it
    # keeps about a lane width from the node's centre; nothing passes further away.
    for route, path in default_paths:
        assert [n.node for n in path.nodes] == list(route.nodes)
        assert [n.turn for n in path.nodes] == [step.turn for step in route.steps]
        for node in path.nodes:
            x, y, _ = path.point_at(node.s)
            distance = math.dist((x, y), CITY.node(node.node).position)
            assert distance < 1.1 * CITY.lane_width_m, (route.nodes, node)
            assert node.entry_s <= node.s <= node.exit_s


def test_left_turns_go_wide_and_right_turns_stay_tight(default_paths):
    for _, path in default_paths:
        for node in path.nodes[1:-1]:
            if node.node not in ("D", "E"):  # the four-way crossings
                continue
            centre = CITY.node(node.node).position
            distance = math.dist(path.point_at(node.s)[:2], centre)
            if node.turn == "left":
                assert distance < 0.1
            elif node.turn == "right":
                assert distance > 0.2


def test_lane_lies_right_of_the_road_centreline(default_paths):
    half = CITY.lane_width_m / 2
    for route, path in default_paths[::7]:
        for a, b in itertools.pairwise(route.nodes):
            edge = CITY.edge(a, b)
            x, y, heading, _ = edge.sample_road(edge.length_m / 2)
            _, cross_track, path_heading = path.project(x, y)
            assert cross_track == pytest.approx(half, abs=2e-3)  # the centreline is on the left
            assert math.cos(path_heading - heading) > 0.999


def test_project_recovers_arc_length_and_offset(default_paths):
    rng = np.random.default_rng(1)
    for _, path in default_paths[::11]:
        for s, lateral in zip(
            rng.uniform(0.05, path.length - 0.05, 20), rng.uniform(-0.1, 0.1, 20), strict=True
        ):
            pose = path.pose_at(float(s), lateral_m=float(lateral), heading_offset=0.4)
            got_s, cross_track, heading = path.project(pose.x, pose.y, hint_s=float(s) + 0.1)
            assert got_s == pytest.approx(s, abs=3e-3)
            assert cross_track == pytest.approx(lateral, abs=1e-3)
            assert heading == pytest.approx(path.point_at(got_s)[2], abs=1e-9)


def test_hinted_projection_finds_the_closest_point_of_its_window(default_paths):
    """The hinted search walks from the hint; near the path it must land where a search of
    the whole window does (the expert's labels depend on it)."""
    rng = np.random.default_rng(4)
    checked = 0
    for _, path in default_paths[::7]:
        for s in rng.uniform(0.2, path.length - 0.2, 20):
            pose = path.pose_at(float(s), lateral_m=float(rng.uniform(-0.15, 0.15)))
            hint = float(s) + float(rng.uniform(-0.05, 0.05))
            got = path.project(pose.x, pose.y, hint_s=hint)
            lo, hi = np.searchsorted(path.s, [hint - 0.5, hint + 0.5])
            i, t = path._closest_segment(pose.x, pose.y, max(0, lo - 1), min(len(path.s) - 1, hi))
            want_s = path.s[i] + t * (path.s[i + 1] - path.s[i])
            assert got[0] == pytest.approx(want_s, abs=1e-3)
            checked += 1
    assert checked > 100


def test_project_with_a_hint_keeps_to_its_own_pass_of_a_u_turn():
    path = RoutePath.from_route(CITY, U_TURN_ROUTE)
    g = next(node for node in path.nodes if node.node == "G")
    before, after = g.entry_s - 0.1, g.exit_s + 0.1
    x, y, _ = path.point_at(before)
    # Half way to the lane back, nearer to neither: the hint decides.
    mid = path.pose_at(before, lateral_m=CITY.lane_width_m / 2)
    assert path.project(mid.x, mid.y, hint_s=before)[0] == pytest.approx(before, abs=0.01)
    s_back, _, _ = path.project(mid.x, mid.y, hint_s=after)
    assert s_back >= g.exit_s - 1e-6
    assert path.project(x, y, hint_s=before)[0] == pytest.approx(before, abs=1e-6)


def test_u_turn_stays_near_the_dead_end():
    path = RoutePath.from_route(CITY, U_TURN_ROUTE)
    g = next(node for node in path.nodes if node.node == "G")
    gx, gy = CITY.node("G").position
    bulb = path.points[(path.s >= g.entry_s) & (path.s <= g.exit_s)]
    assert np.hypot(bulb[:, 0] - gx, bulb[:, 1] - gy).max() < 0.6
    assert path.command_at(g.entry_s - 0.5) == "left"


def test_next_node_and_commands():
    route = CITY.route("G", "J")
    path = RoutePath.from_route(CITY, route)
    assert {"straight", "right"} <= {n.turn for n in path.nodes}
    first = path.nodes[1]
    assert path.next_node(0.0) == first
    assert path.next_node(first.s) == path.nodes[2]
    assert path.next_node(path.length) is None
    for node in path.nodes[1:-1]:
        expected = node.turn if node.turn in ("left", "right") else "straight"
        assert path.command_at(node.entry_s - 0.01) == expected
        if node.exit_s > node.entry_s:
            middle = (node.entry_s + node.exit_s) / 2
            assert path.command_at(middle) == expected  # held through the junction
    assert path.command_at(path.length - 0.01) == "straight"
    assert path.command_at(path.length + 1) == "straight"


def test_commands_cover_left_and_right():
    left = RoutePath.from_route(
        CITY, manual_route(CITY, ["A", "D", "E"], ["depart", "left", "arrive"])
    )
    assert left.command_at(0.0) == "left"
    right = RoutePath.from_route(
        CITY, manual_route(CITY, ["A", "D", "C"], ["depart", "right", "arrive"])
    )
    assert right.command_at(0.0) == "right"
    assert right.command_at(right.nodes[1].exit_s + 0.01) == "straight"


def test_point_at_clamps_and_pose_at_offsets_to_the_left():
    path = RoutePath.from_route(CITY, CITY.route("A", "B"))  # straight east
    assert path.point_at(-1.0) == path.point_at(0.0)
    assert path.point_at(99.0) == pytest.approx(path.point_at(path.length))
    x, y, heading = path.point_at(0.5)
    assert heading == pytest.approx(0.0, abs=1e-9)
    pose = path.pose_at(0.5, lateral_m=0.05, heading_offset=0.1)
    assert (pose.x, pose.y, pose.heading) == pytest.approx((x, y + 0.05, 0.1))
    assert path.curvature_at(0.5) == 0.0


def test_route_without_edges_is_refused():
    with pytest.raises(ValueError, match="route"):
        RoutePath.from_route(CITY, CITY.route("A", "A"))


def test_random_route_prefers_turns_and_is_deterministic():
    def turns(route: Route) -> int:
        return sum(step.turn in ("left", "right") for step in route.steps)

    picks = [random_route(CITY, np.random.default_rng(k), prefer_turns=1.0) for k in range(30)]
    plain = [random_route(CITY, np.random.default_rng(k), prefer_turns=0.0) for k in range(30)]
    assert all(route.length_m >= 3.0 for route in picks + plain)
    assert sum(map(turns, picks)) > sum(map(turns, plain))
    again = random_route(CITY, np.random.default_rng(0), prefer_turns=1.0)
    assert again == picks[0]
    # Longer than any route in the city: the longest one found instead.
    assert random_route(CITY, np.random.default_rng(0), min_length_m=1e3).length_m > 5.0
    with pytest.raises(ValueError, match="prefer_turns"):
        random_route(CITY, np.random.default_rng(0), prefer_turns=2.0)


def test_start_pose_offsets_within_limits():
    path = RoutePath.from_route(CITY, CITY.route("A", "B"))
    assert start_pose(CITY, path) == path.pose_at(0.0)
    rng = np.random.default_rng(5)
    for _ in range(20):
        pose = start_pose(CITY, path, rng, max_lateral_m=0.05, max_heading_rad=0.2)
        s, cross_track, heading = path.project(pose.x, pose.y, hint_s=0.0)
        assert abs(cross_track) <= 0.05 + 1e-9
        assert abs(math.remainder(pose.heading - heading, math.tau)) <= 0.2 + 1e-9


def test_u_turns_in_generated_cities_are_drivable():
    # Seed 5's node n0 is a dead end reached by a curved (bulging) street.
    city = grid_city(100, seed=5)
    route = manual_route(city, ["n10", "n0", "n10", "n11"], ["depart", "u-turn", "right", "arrive"])
    check_drivable(RoutePath.from_route(city, route))
    count = 0
    for node in city.nodes.values():
        for back in (e.from_node for e in city.in_edges(node.id)):
            turns = city.turns_at(node.id)
            if turns.get((back, back)) == "u-turn":
                onward = next((e.to_node for e in city.out_edges(back) if e.to_node != node.id), "")
                turn = city.turns_at(back).get((node.id, onward))
                if turn in ("left", "right", "straight"):
                    nodes = [back, node.id, back, onward]
                    r = manual_route(city, nodes, ["depart", "u-turn", turn, "arrive"])
                    check_drivable(RoutePath.from_route(city, r))
                    count += 1
    assert count > 5
