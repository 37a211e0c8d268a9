import time

import pytest

from city import Arc, City
from city.generate import grid_city
from city.signs import sign_names


@pytest.mark.parametrize("n", [2, 10, 37, 100])
def test_exact_node_count_and_strongly_connected(n):
    city = grid_city(n, seed=n)
    assert len(city.nodes) == n
    City.from_dict(city.to_dict())  # validates, including strong connectivity


@pytest.mark.parametrize("seed", range(5))
def test_every_node_can_reach_every_other_under_turn_rules(seed):
    city = grid_city(120, seed=seed)
    for goal in list(city.nodes)[::7]:
        assert len(city.distances_to(goal)) == len(city.nodes)


def test_curves_signs_and_determinism():
    city = grid_city(400, seed=1)
    assert any(isinstance(s, Arc) for e in city.edges.values() for s in e.segments)
    assert [n.sign for n in list(city.nodes.values())[:16]] == sign_names()
    assert grid_city(400, seed=1).to_dict() == city.to_dict()
    assert grid_city(400, seed=2).to_dict() != city.to_dict()


def test_edges_are_never_shorter_than_the_straight_line():
    city = grid_city(400, seed=4, spacing_m=1.0)
    for edge in city.edges.values():
        a, b = city.node(edge.from_node), city.node(edge.to_node)
        assert edge.length_m >= ((a.x - b.x) ** 2 + (a.y - b.y) ** 2) ** 0.5 - 1e-9


def test_builds_and_reloads_10000_nodes_quickly():
    began = time.perf_counter()
    city = grid_city(10_000, seed=0)
    built = time.perf_counter() - began
    data = city.to_dict()
    began = time.perf_counter()
    City.from_dict(data)
    loaded = time.perf_counter() - began
    assert built < 5.0 and loaded < 5.0


def test_rejects_bad_arguments():
    with pytest.raises(ValueError):
        grid_city(1)
    with pytest.raises(ValueError):
        grid_city(10, spacing_m=0)
