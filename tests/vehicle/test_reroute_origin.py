"""Where a car that saw the wrong sign asks its new route from."""

from __future__ import annotations

from city import City, default_city
from vehicle.runtime import reroute_origin


def test_a_wrong_turn_reroutes_from_the_node_whose_sign_is_seen() -> None:
    town = default_city()
    # Past C the car expected D's sign but sees A's: it took the road C→A.
    assert reroute_origin(town, "C", "G", town.node("A").sign) == ("A", "C")
    # A sign of a node not next to the last one: from there, direction unknown.
    far = next(n for n in town.nodes if n != "C" and ("C", n) not in town.edges and n not in ("C",))
    assert reroute_origin(town, "C", "G", town.node(far).sign) == (far, None)


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
