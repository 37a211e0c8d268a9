from __future__ import annotations

import numpy as np
import pytest

from city import default_city
from city.generate import grid_city
from sim.path import RoutePath
from sim.routes import manoeuvre_bend, manoeuvre_route, manoeuvre_weights, manoeuvres


@pytest.mark.parametrize("city", [default_city(), grid_city(9, seed=1)], ids=["town", "grid9"])
def test_every_allowed_turn_is_listed_and_its_route_takes_it(city):
    listed = manoeuvres(city)
    expected = {(a, n, b, t) for n in city.nodes for (a, b), t in city.turns_at(n).items()}
    assert set(listed) == expected and len(listed) == len(expected)
    rng = np.random.default_rng(1)
    for a, node, b, turn in listed:
        route = manoeuvre_route(city, a, node, b, turn)
        assert route.nodes == (a, node, b) and route.steps[1].turn == turn
        onward = manoeuvre_route(city, a, node, b, turn, rng=rng)
        assert onward.nodes[:3] == (a, node, b) and onward.steps[1].turn == turn
        assert onward.length_m >= route.length_m
        if len(onward.steps) > 3:  # it goes on by a turn the road node→b allows
            assert (node, onward.nodes[3]) in city.turns_at(b)
        RoutePath.from_route(city, onward)  # a drivable path


def test_weights_favour_turns_shortest_routes_never_take():
    town = default_city()
    weights = manoeuvre_weights(town, bend_weight=0.0)
    assert set(weights) == set(manoeuvres(town))
    assert sum(weights.values()) == pytest.approx(1.0)
    used = set()
    for a in town.nodes:
        for b in town.nodes:
            if a != b:
                nodes = town.route(a, b).nodes
                used.update(zip(nodes, nodes[1:], nodes[2:], strict=False))
    never = [m for m in weights if m[:3] not in used]
    busy = [m for m in weights if m[:3] in used]
    assert never and busy
    assert min(weights[m] for m in never) > max(weights[m] for m in busy)
    # entering the roundabout at L from B: a turn the car got lost at before
    assert weights[("B", "L", "F", "right")] == max(weights.values())


def test_bend_measures_how_far_a_manoeuvre_turns():
    town = default_city()
    bends = {m: manoeuvre_bend(town, m) for m in manoeuvres(town)}
    straight = [b for m, b in bends.items() if m[3] == "straight"]
    turns = [b for m, b in bends.items() if m[3] in ("left", "right")]
    u_turns = [b for m, b in bends.items() if m[3] == "u-turn"]
    # a grid-like 90-degree turn bends about pi/2; a straight through a grid junction ~0
    assert min(turns) > np.radians(60) and min(u_turns) > np.radians(170)
    assert np.median(straight) < np.radians(20)
    # onto the roundabout from B: the right turn at the end of a right-hand curve
    assert bends[("B", "L", "F", "right")] > np.radians(150)
    grid = grid_city(9, seed=1)
    for m in manoeuvres(grid):
        assert manoeuvre_bend(grid, m) >= 0.0


def test_sharper_manoeuvres_weigh_more_among_equally_rare_ones():
    town = default_city()
    plain = manoeuvre_weights(town, bend_weight=0.0)
    bent = manoeuvre_weights(town, bend_weight=1.5)
    assert sum(bent.values()) == pytest.approx(1.0)
    ref = ("B", "L", "F", "right")
    scale = bent[ref] / plain[ref]
    ref_factor = 1 + 1.5 * manoeuvre_bend(town, ref)
    for m in plain:
        # the weight moves by (1 + 1.5 * bend), up to the common normalisation
        expected = (1 + 1.5 * manoeuvre_bend(town, m)) / ref_factor
        assert bent[m] / plain[m] / scale == pytest.approx(expected, rel=1e-9)
    rare = [m for m in plain if plain[m] == max(plain.values())]
    sharpest = max(rare, key=lambda m: manoeuvre_bend(town, m))
    flattest = min(rare, key=lambda m: manoeuvre_bend(town, m))
    assert bent[sharpest] > 2 * bent[flattest]
    with pytest.raises(ValueError, match="bend_weight"):
        manoeuvre_weights(town, bend_weight=-1.0)
