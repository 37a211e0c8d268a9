import heapq
import math
import random
import statistics
import time

import pytest

from city import (
    U_TURN,
    City,
    NoRouteError,
    UnknownEdgeError,
    UnknownNodeError,
    classify_turn,
    default_city,
)
from city.generate import grid_city


def dijkstra_states(city: City, start: str, goal: str) -> float:
    """Reference: plain Dijkstra over (previous node, node) states using `turns_at`."""
    if start == goal:
        return 0.0
    turns = {n: city.turns_at(n) for n in city.nodes}
    heap = [(e.length_m, start, e.to_node) for e in city.out_edges(start)]
    heapq.heapify(heap)
    done = set()
    while heap:
        d, prev, node = heapq.heappop(heap)
        if (prev, node) in done:
            continue
        done.add((prev, node))
        if node == goal:
            return d
        for (a, b), _turn in turns[node].items():
            if a == prev:
                heapq.heappush(heap, (d + city.edge(node, b).length_m, node, b))
    return math.inf


def assert_valid_route(city: City, route, start: str, goal: str) -> None:
    nodes = route.nodes
    assert nodes[0] == start and nodes[-1] == goal
    total = sum(city.edge(a, b).length_m for a, b in zip(nodes, nodes[1:], strict=False))
    assert route.length_m == pytest.approx(total)
    for prev, node, nxt in zip(nodes, nodes[1:], nodes[2:], strict=False):
        assert (prev, nxt) in city.turns_at(node), f"forbidden turn {prev}->{node}->{nxt}"


@pytest.mark.parametrize("seed", range(8))
def test_route_is_shortest_on_random_cities(random_cities, seed):
    city = random_cities(seed)
    for start in city.nodes:
        for goal in city.nodes:
            expected = dijkstra_states(city, start, goal)
            if math.isinf(expected):
                with pytest.raises(NoRouteError):
                    city.route(start, goal)
                continue
            route = city.route(start, goal)
            assert route.length_m == pytest.approx(expected)
            assert_valid_route(city, route, start, goal)


@pytest.mark.parametrize("seed", range(4))
def test_distances_to_agrees_with_route(random_cities, seed):
    cities = [random_cities(seed), grid_city(150, seed=seed)]
    for city in cities:
        for goal in random.Random(seed).sample(list(city.nodes), 5):
            distances = city.distances_to(goal)
            for start in city.nodes:
                try:
                    length = city.route(start, goal).length_m
                except NoRouteError:
                    assert start not in distances
                else:
                    assert distances[start] == pytest.approx(length, abs=1e-9)


def test_turns_at_four_way_intersection(four_way):
    turns = four_way.turns_at("X")
    # Arriving from the south (heading north): west is left, east is right.
    assert turns[("S", "N")] == "straight"
    assert turns[("S", "W")] == "left"
    assert turns[("S", "E")] == "right"
    assert turns[("E", "N")] == "right"
    assert turns[("E", "S")] == "left"
    assert turns[("W", "E")] == "straight"
    assert ("S", "S") not in turns  # u-turns are not allowed at X


def test_route_steps_name_turns(four_way):
    route = four_way.route("S", "W")
    assert [s.turn for s in route.steps] == ["depart", "left", "arrive"]
    assert route.to_dict() == {
        "steps": [
            {"node": "S", "sign": "red-circle", "turn": "depart"},
            {"node": "X", "sign": "red-circle", "turn": "left"},
            {"node": "W", "sign": "red-circle", "turn": "arrive"},
        ],
        "length_m": 4.0,
    }


def _u_turn_city(doc, c_allows_u_turn: bool) -> City:
    # A -> B <-> C, B -> G -> A. Leaving B for G is a u-turn (166 degrees) when coming
    # from A, but nearly straight when coming from C.
    nodes = [
        {"id": "A", "position": [0, 0], "sign": "red-circle"},
        {"id": "B", "position": [2, 0], "sign": "blue-circle"},
        {"id": "C", "position": [4, 0], "sign": "green-circle", "allow_u_turn": c_allows_u_turn},
        {"id": "G", "position": [0, 0.5], "sign": "yellow-circle"},
    ]
    edges = [("A", "B"), ("B", "C"), ("C", "B"), ("B", "G"), ("G", "A")]
    return City.from_dict(doc(nodes, edges))


def test_route_never_makes_a_disallowed_u_turn(doc):
    city = _u_turn_city(doc, c_allows_u_turn=True)
    assert ("A", "G") not in city.turns_at("B")
    assert city.turns_at("C") == {("B", "B"): "u-turn"}
    route = city.route("A", "G")
    assert route.nodes == ("A", "B", "C", "B", "G")
    assert [s.turn for s in route.steps] == ["depart", "straight", "u-turn", "straight", "arrive"]
    assert route.length_m == pytest.approx(6 + math.hypot(2, 0.5))
    assert city.distances_to("G")["A"] == pytest.approx(route.length_m)


def test_no_route_when_only_a_disallowed_u_turn_leads_there(doc):
    city = _u_turn_city(doc, c_allows_u_turn=False)
    with pytest.raises(NoRouteError):
        city.route("A", "G")
    assert "A" not in city.distances_to("G")
    assert city.route("C", "G").nodes == ("C", "B", "G")  # from the start any edge is fine


def test_route_to_itself_is_one_step(four_way):
    route = four_way.route("X", "X")
    assert route.to_dict() == {
        "steps": [{"node": "X", "sign": "red-circle", "turn": "arrive"}],
        "length_m": 0.0,
    }


def test_unknown_node_raises(four_way):
    with pytest.raises(UnknownNodeError) as caught:
        four_way.route("X", "nowhere")
    assert caught.value.node_id == "nowhere"
    assert "nowhere" in str(caught.value)
    with pytest.raises(UnknownNodeError):
        four_way.distances_to("nowhere")


def test_unreachable_destination_raises_quickly(doc):
    n = 2000
    nodes = [(f"n{k}", float(k), 0.0) for k in range(n)]
    edges = [(f"n{k}", f"n{k + 1}") for k in range(n - 1)]
    city = City.from_dict(doc(nodes, edges), require_strongly_connected=False)
    started = time.perf_counter()
    with pytest.raises(NoRouteError) as caught:
        city.route(f"n{n - 1}", "n0")
    assert time.perf_counter() - started < 1.0
    assert (caught.value.start, caught.value.goal) == (f"n{n - 1}", "n0")
    assert f"n{n - 1}" not in city.distances_to("n0")


def test_route_on_10000_nodes_is_fast():
    city = grid_city(10_000, seed=3)
    rng = random.Random(7)
    ids = list(city.nodes)
    timings = []
    for _ in range(15):
        start, goal = rng.sample(ids, 2)
        began = time.perf_counter()
        route = city.route(start, goal)
        timings.append(time.perf_counter() - began)
        assert route.nodes[0] == start and route.nodes[-1] == goal
    assert statistics.median(timings) < 0.020


def test_landmark_bound_keeps_routes_shortest(monkeypatch):
    """With landmarks forced on a mid-size city, routes equal the plain search's."""
    import city.routing as routing

    plain = grid_city(400, seed=5)
    monkeypatch.setattr(routing, "LANDMARK_MIN_NODES", 10)
    sharp = grid_city(400, seed=5)
    assert sharp._graph.landmarks() is not None and plain._graph.landmarks() is None
    rng = random.Random(11)
    ids = sorted(sharp.nodes)
    for _ in range(60):
        a, b = rng.sample(ids, 2)
        assert sharp.route(a, b).length_m == pytest.approx(plain.route(a, b).length_m, abs=1e-9)


def test_a_car_arrived_from_a_road_starts_with_the_turn_it_must_take():
    city = default_city()
    for (frm, node), incoming in city.edges.items():
        for goal in city.nodes:
            if goal == node:
                continue
            route = city.route(node, goal, arrived_from=frm)
            second = route.steps[1].node
            turn = route.steps[0].turn
            assert turn == classify_turn(incoming, city.edge(node, second))
            # never a u-turn where the node forbids it, never shorter than unconstrained
            assert (turn != U_TURN) or city.node(node).allow_u_turn
            assert route.length_m >= city.route(node, goal).length_m - 1e-9


def test_arrived_from_must_be_a_road_into_the_start():
    city = default_city()
    node = next(iter(city.nodes))
    not_in = next(n for n in city.nodes if (n, node) not in city.edges)
    with pytest.raises(UnknownEdgeError):
        city.route(node, not_in, arrived_from=not_in)
