import json

from city import City, default_city, default_city_path, get_sign
from city.geometry import Arc


def test_file_validates_and_loads():
    data = json.loads(default_city_path().read_text(encoding="utf-8"))
    city = City.from_dict(data)
    assert city.to_dict() == default_city().to_dict()


def test_town_shape():
    city = default_city()
    assert len(city.nodes) >= 10
    neighbours = {
        node: {e.to_node for e in city.out_edges(node)} | {e.from_node for e in city.in_edges(node)}
        for node in city.nodes
    }
    degrees = [len(n) for n in neighbours.values()]
    assert sum(d >= 3 for d in degrees) >= 2
    assert any(d == 4 for d in degrees)
    assert any(isinstance(s, Arc) for e in city.edges.values() for s in e.segments)
    for edge in city.edges.values():
        assert 1.0 <= edge.length_m <= 4.0
    assert city.lane_width_m == 0.3


def test_one_distinct_sign_per_node():
    signs = [node.sign for node in default_city().nodes.values()]
    assert len(set(signs)) == len(signs)
    for sign in signs:
        get_sign(sign)


def test_every_node_routes_to_every_other():
    city = default_city()
    for goal in city.nodes:
        distances = city.distances_to(goal)
        assert set(distances) == set(city.nodes)
        for start in city.nodes:
            route = city.route(start, goal)
            assert route.length_m == distances[start]
            assert all(
                step.turn != "u-turn" or city.node(step.node).allow_u_turn for step in route.steps
            )
