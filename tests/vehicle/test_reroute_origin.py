"""Where a car that saw the wrong sign asks its new route from."""

from __future__ import annotations

from city import City, default_city
from vehicle.runtime import reroute_origin


def test_a_wrong_turn_reroutes_from_the_node_whose_sign_is_seen() -> None:
    town = default_city()
    # Past C the car expected D's sign but sees A's: it took the road C→A.
    assert reroute_origin(town, "C", "G", town.node("A").sign) == ("A", "C")
    # A sign two roads on from the last node: from there, by the one node between.
    assert reroute_origin(town, "C", "G", town.node("I").sign) == ("I", "H")
    # Farther still (no road links C to F in two): from there, direction unknown.
    assert reroute_origin(town, "C", "G", town.node("F").sign) == ("F", None)


def test_the_road_into_the_seen_node_is_found_past_an_unseen_node() -> None:
    town = default_city()
    blue_square = town.node("J").sign
    # L confirmed, F expected but its sign missed; J's sign ahead: the car is on F→J
    # (the new route then starts with the turn out of the roundabout at J).
    assert reroute_origin(town, "L", "B", blue_square, "F") == ("J", "F")
    # Without the expected node: the one node between L and J is F.
    assert reroute_origin(town, "L", "B", blue_square) == ("J", "F")
    # J confirmed, I expected, L's sign seen: the car went on round by K.
    assert reroute_origin(town, "J", "F", town.node("L").sign, "I") == ("L", "K")
    # A road from the last node wins over one from the expected node (C→A, not D→A).
    assert reroute_origin(town, "C", "G", town.node("A").sign, "D") == ("A", "C")


def test_without_a_unique_sign_or_a_map_the_last_confirmed_node_stays() -> None:
    town = default_city()
    assert reroute_origin(town, "C", "G", None) == ("C", "G")
    assert reroute_origin(None, "C", "G", town.node("A").sign) == ("C", "G")
    assert reroute_origin(town, "C", "G", "no-such-sign") == ("C", "G")
    # two nodes with A's sign: ambiguous, so not used
    doc = town.to_dict()
    doc["nodes"] = [
        {**n, "sign": town.node("A").sign} if n["id"] == "D" else n for n in doc["nodes"]
    ]
    twin = City.from_dict(doc)
    assert reroute_origin(twin, "C", "G", town.node("A").sign) == ("C", "G")
